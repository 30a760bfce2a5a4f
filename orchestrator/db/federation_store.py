"""The FederationStore port on SQLAlchemy: publications, peer instances, peers (token sealed), peer holds."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from connectors.base import Resources
from orchestrator.db.crypto import Cipher
from orchestrator.db.tables import PeerHoldRow, PeerInstanceRow, PeerRow, PublicationRow, fill, read, values
from orchestrator.federation.model import HoldState, Peer, PeerHold, PeerInstance, PeerInstanceState


class SqlFederationStore:
    def __init__(self, session: Session, cipher: Cipher) -> None:
        self.session = session
        self.cipher = cipher

    # -- publications ------------------------------------------------------------------------------
    def publish(self, *, range_id: str, peer_organisation_id: str, created_by: str, at: datetime) -> bool:
        found = self.session.scalars(
            select(PublicationRow).where(
                PublicationRow.range_id == range_id,
                PublicationRow.peer_organisation_id == peer_organisation_id,
            )
        ).first()
        if found is not None:
            return False
        self.session.add(
            PublicationRow(
                id=str(uuid.uuid4()),
                range_id=range_id,
                peer_organisation_id=peer_organisation_id,
                created_by=created_by,
                created_at=at,
            )
        )
        self.session.flush()
        return True

    def unpublish(self, *, range_id: str, peer_organisation_id: str) -> bool:
        result = self.session.execute(
            delete(PublicationRow).where(
                PublicationRow.range_id == range_id,
                PublicationRow.peer_organisation_id == peer_organisation_id,
            )
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    def publications_of(self, range_id: str) -> list[str]:
        stmt = select(PublicationRow.peer_organisation_id).where(PublicationRow.range_id == range_id)
        return sorted(self.session.scalars(stmt))

    def published_to(self, peer_organisation_id: str) -> list[str]:
        stmt = select(PublicationRow.range_id).where(
            PublicationRow.peer_organisation_id == peer_organisation_id
        )
        return sorted(self.session.scalars(stmt))

    # -- peer instances (home side) ----------------------------------------------------------------
    def add_peer_instance(self, instance: PeerInstance) -> None:
        self.session.add(PeerInstanceRow(**_instance_values(instance)))
        self.session.flush()

    def get_peer_instance(self, instance_id: str, *, lock: bool = False) -> PeerInstance | None:
        stmt = select(PeerInstanceRow).where(PeerInstanceRow.id == instance_id)
        if lock:
            stmt = stmt.with_for_update()
        row = self.session.scalars(stmt).first()
        return None if row is None else _instance(row)

    def save_peer_instance(self, instance: PeerInstance) -> None:
        row = self.session.get(PeerInstanceRow, instance.id)
        if row is None:
            raise LookupError(instance.id)
        fill(row, _instance_values(instance))
        self.session.flush()

    def peer_instances(
        self,
        *,
        peer_organisation_id: str | None = None,
        range_id: str | None = None,
        booking_id: str | None = None,
        state: str | None = None,
    ) -> list[PeerInstance]:
        stmt = select(PeerInstanceRow).order_by(PeerInstanceRow.created_at, PeerInstanceRow.id)
        if peer_organisation_id is not None:
            stmt = stmt.where(PeerInstanceRow.peer_organisation_id == peer_organisation_id)
        if range_id is not None:
            stmt = stmt.where(PeerInstanceRow.range_id == range_id)
        if booking_id is not None:
            stmt = stmt.where(PeerInstanceRow.booking_id == booking_id)
        if state is not None:
            stmt = stmt.where(PeerInstanceRow.state == state)
        return [_instance(r) for r in self.session.scalars(stmt)]

    # -- peers (hub side) --------------------------------------------------------------------------
    def add_peer(self, peer: Peer) -> None:
        row = PeerRow(id=peer.id, created_at=peer.created_at)
        self._fill_peer(row, peer)
        self.session.add(row)
        self.session.flush()

    def save_peer(self, peer: Peer) -> None:
        row = self.session.get(PeerRow, peer.id)
        if row is None:
            raise LookupError(peer.id)
        self._fill_peer(row, peer)
        self.session.flush()

    def _fill_peer(self, row: PeerRow, peer: Peer) -> None:
        row.name = peer.name
        row.base_url = peer.base_url
        row.organisation_id = peer.organisation_id
        row.token_sealed = self.cipher.seal({"token": peer.token, **peer.tls})
        row.api_version = peer.api_version
        row.synced_at = peer.synced_at
        row.sync_error = peer.sync_error

    def _peer(self, row: PeerRow) -> Peer:
        sealed = self.cipher.open(row.token_sealed)
        secrets = {k: str(sealed.get(k, "")) for k in ("token", "tls_ca", "tls_cert", "tls_key")}
        return read(Peer, row, **secrets)

    def get_peer(self, ref: str) -> Peer | None:
        row = self.session.scalars(select(PeerRow).where(or_(PeerRow.id == ref, PeerRow.name == ref))).first()
        return None if row is None else self._peer(row)

    def list_peers(self) -> list[Peer]:
        return [self._peer(r) for r in self.session.scalars(select(PeerRow).order_by(PeerRow.name))]

    # -- peer holds (hub side) ---------------------------------------------------------------------
    def add_hold(self, hold: PeerHold) -> None:
        self.session.add(PeerHoldRow(**_hold_values(hold)))
        self.session.flush()

    def save_hold(self, hold: PeerHold) -> None:
        row = self.session.get(PeerHoldRow, hold.id)
        if row is None:
            raise LookupError(hold.id)
        fill(row, _hold_values(hold))
        self.session.flush()

    def get_hold(self, hold_id: str, *, lock: bool = False) -> PeerHold | None:
        stmt = select(PeerHoldRow).where(PeerHoldRow.id == hold_id)
        if lock:
            stmt = stmt.with_for_update()
        row = self.session.scalars(stmt).first()
        return None if row is None else _hold(row)

    def holds_of(self, exercise_id: str) -> list[PeerHold]:
        stmt = (
            select(PeerHoldRow).where(PeerHoldRow.exercise_id == exercise_id).order_by(PeerHoldRow.range_id)
        )
        return [_hold(r) for r in self.session.scalars(stmt)]

    def holds_in(self, states: Sequence[str], *, limit: int = 500) -> list[PeerHold]:
        stmt = (
            select(PeerHoldRow)
            .where(PeerHoldRow.state.in_(list(states)))
            .order_by(PeerHoldRow.created_at)
            .limit(limit)
        )
        return [_hold(r) for r in self.session.scalars(stmt)]


def _instance_values(i: PeerInstance) -> dict[str, Any]:
    return values(i, demand=i.demand.as_dict(), state=i.state.value)


def _instance(row: PeerInstanceRow) -> PeerInstance:
    return read(PeerInstance, row, demand=Resources.from_dict(row.demand), state=PeerInstanceState(row.state))


def _hold_values(h: PeerHold) -> dict[str, Any]:
    return values(h, demand=h.demand.as_dict(), state=h.state.value)


def _hold(row: PeerHoldRow) -> PeerHold:
    return read(PeerHold, row, demand=Resources.from_dict(row.demand), state=HoldState(row.state))
