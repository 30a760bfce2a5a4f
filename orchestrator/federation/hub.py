"""Hub side: peers, and booking across them all or nothing (GENI-style two-phase), renew-to-T.

An exercise whose placement uses peers' ranges is booked in phases, each persisted before the next:

1. intent: a `federation.abort` due action for the exercise id, and one `holding` row per peer range;
2. holds: one hold per peer range (idempotency key: the exercise id), concurrently; a refusal or an
   unreachable peer releases every hold acquired and reports the peer's reason unchanged;
3. local commit: the exercise, its local bookings (and one for each peer range, mirroring the peer's),
   its schedule, the rows `held`, one `federation.confirm` due action per hold, the abort cancelled -
   one transaction;
4. confirm each hold (inline, and by the scheduler if this process dies first).

A hub that crashes before 3 aborts on restart (the abort action releases by key); after 3 it confirms.
A hub that never comes back costs a peer its hold TTL (presumed abort: an unconfirmed hold expires).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, suppress
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Protocol, TypeVar

from connectors.base import (
    ConfigInvalid,
    Connector,
    ConnectorError,
    ConnectorRefusal,
    RemoteCalendar,
    RemotePeer,
    Requester,
    Resources,
)
from connectors.secrets import path_text
from orchestrator.booking.selection import Selection
from orchestrator.domain.bookings import OCCUPYING, BookingStatus
from orchestrator.domain.catalogue import ConnectorSettings, Organisation, RangeRecord
from orchestrator.domain.clock import Clock
from orchestrator.domain.errors import Conflict, FieldProblem, InvalidInput, NotFound, Refused
from orchestrator.domain.ranges import OrganisationKind, RangeStatus, SharingPolicy
from orchestrator.exercises import schedule
from orchestrator.exercises.events import note
from orchestrator.exercises.model import Exercise, ExerciseDraft, Stage
from orchestrator.exercises.ports import UnitOfWork
from orchestrator.exercises.service import Detail, ExerciseService, bookings_of
from orchestrator.federation.model import API_VERSION, HoldState, Peer, PeerHold
from orchestrator.federation.ports import FederationStore
from orchestrator.identity import audit, permissions
from orchestrator.identity.permissions import Action
from orchestrator.identity.principals import SYSTEM, Principal

log = logging.getLogger(__name__)

CONFIRM = "federation.confirm"
ABORT = "federation.abort"
KINDS = (CONFIRM, ABORT)
#: Confirms and aborts are retried (with the runner's backoff) until the peer answers or says no.
ATTEMPTS = 60


class HubUnit(UnitOfWork, Protocol):
    @property
    def federation(self) -> FederationStore: ...


HubTransactions = Callable[[], AbstractContextManager[HubUnit]]
T = TypeVar("T")


class RetryLater(Exception):
    """A peer did not answer: the due action is retried."""


@dataclass(frozen=True, kw_only=True)
class PeerPart:
    """One peer range's share of an exercise: the hub's mirror range, its peer, the demand."""

    record: RangeRecord
    peer: Peer
    demand: Resources


class Hub:
    def __init__(
        self,
        *,
        transactions: HubTransactions,
        clock: Clock,
        connectors: Callable[[RangeRecord], Connector],
        load: Callable[[str, Mapping[str, Any]], Connector],
        exercises: Callable[[HubUnit], ExerciseService],
        abort_after: timedelta = timedelta(seconds=60),
        timeout_seconds: float = 10.0,
    ) -> None:
        #: When the persisted confirm falls due: after the inline confirm had every chance to answer.
        self.confirm_after = timedelta(seconds=2 * timeout_seconds)
        self.transactions = transactions
        self.clock = clock
        self.connectors = connectors
        self.load = load
        self.exercises = exercises
        self.abort_after = abort_after
        self.timeout_seconds = timeout_seconds

    def _calendar(self, record: RangeRecord) -> RemoteCalendar:
        connector = self.connectors(record)
        if not isinstance(connector, RemoteCalendar):
            raise Conflict(f"range '{record.slug}' keeps no calendar of its own")
        return connector

    # -- peers -------------------------------------------------------------------------------------
    def _peer_connector(self, peer: Peer) -> RemotePeer:
        connector = self.load(
            "federation",
            {
                "base_url": peer.base_url,
                "token": peer.token,
                "peer": peer.name,
                "timeout_seconds": self.timeout_seconds,
                **peer.tls,
            },
        )
        if not isinstance(connector, RemotePeer):  # pragma: no cover - the kind is ours
            raise Conflict("the federation connector cannot reach a peer")
        return connector

    def add_peer(
        self,
        actor: Principal,
        *,
        name: str,
        base_url: str,
        token: str,
        tls_ca: str = "",
        tls_cert: str = "",
        tls_key: str = "",
    ) -> Peer:
        """Shake hands with the peer, make its organisation here (kind federation_peer) and import the
        ranges it publishes to us (their origin: the peer). `tls_*` (PEM): the CA to check the peer's
        certificate against, and our client certificate and key, for a peer that requires mutual TLS."""
        permissions.require(actor, Action.PEER_MANAGE)
        with self.transactions() as unit:
            if unit.federation.get_peer(name) is not None:
                raise Conflict(f"a peer named '{name}' already exists")
        given = Peer(
            id="",
            name=name,
            base_url=base_url,
            organisation_id="",
            token=token,
            api_version="",
            created_at=self.clock.now(),
            tls_ca=tls_ca,
            tls_cert=tls_cert,
            tls_key=tls_key,
        )
        try:
            remote = self._peer_connector(given)
        except ConfigInvalid as exc:
            raise InvalidInput(
                [FieldProblem(path_text(p.path) or "tls_cert", p.reason) for p in exc.problems]
                or [FieldProblem("tls_cert", exc.reason)]
            ) from exc
        try:
            hello = remote.handshake()
        except ConnectorRefusal as exc:
            raise InvalidInput(FieldProblem("token", exc.reason)) from exc
        except ConnectorError as exc:
            raise InvalidInput(FieldProblem("base_url", exc.reason)) from exc
        finally:
            _close(remote)
        now = self.clock.now()
        country = str(hello.get("country") or "") or str(hello.get("peer", {}).get("country", ""))
        with self.transactions() as unit:
            org = Organisation(
                id=str(uuid.uuid4()),
                name=f"peer {name}",
                handle=f"peer-{name}"[:40],
                country=country or "EU",
                kind=OrganisationKind.FEDERATION_PEER,
                created_at=now,
            )
            unit.catalogue.add_organisation(org)  # type: ignore[attr-defined]
            peer = replace(
                given,
                id=str(uuid.uuid4()),
                organisation_id=org.id,
                api_version=str(hello.get("api", "")),
                created_at=now,
            )
            unit.federation.add_peer(peer)
            audit.record(
                unit.catalogue,
                self.clock,
                actor,
                "peer.add",
                kind="peer",
                object_id=peer.id,
                organisation_id=org.id,
                after={
                    "name": name,
                    "base_url": base_url,
                    "api": peer.api_version,
                    "mutual_tls": bool(peer.tls_cert),
                },
            )
        self.sync_peer(peer.id, actor=actor)
        return self.get_peer(actor, peer.id)

    def get_peer(self, actor: Principal, ref: str) -> Peer:
        permissions.require(actor, Action.PEER_MANAGE)
        with self.transactions() as unit:
            peer = unit.federation.get_peer(ref)
        if peer is None:
            raise NotFound(f"peer '{ref}' does not exist")
        return peer

    def list_peers(self, actor: Principal) -> list[tuple[Peer, list[str]]]:
        permissions.require(actor, Action.PEER_MANAGE)
        with self.transactions() as unit:
            peers = unit.federation.list_peers()
            return [(p, [r.slug for r in self._mirrors(unit, p)]) for p in peers]

    def ranges_of(self, peer: Peer) -> list[str]:
        with self.transactions() as unit:
            return [r.slug for r in self._mirrors(unit, peer) if r.status is not RangeStatus.DECOMMISSIONED]

    @staticmethod
    def _mirrors(unit: HubUnit, peer: Peer) -> list[RangeRecord]:
        return [
            r
            for r in unit.catalogue.list_ranges(country=None, capability=None, status=None)
            if r.origin_peer_id == peer.id
        ]

    def sync_all(self) -> int:
        with self.transactions() as unit:
            ids = [p.id for p in unit.federation.list_peers()]
        for peer_id in ids:
            self.sync_peer(peer_id)
        return len(ids)

    def sync_peer(self, peer_id: str, *, actor: Principal = SYSTEM) -> None:
        """Import (create, update, retire) the ranges the peer publishes to us; a peer that does not
        answer keeps its ranges as they were, with the error recorded."""
        with self.transactions() as unit:
            peer = unit.federation.get_peer(peer_id)
        if peer is None:
            raise NotFound(f"peer '{peer_id}' does not exist")
        remote = self._peer_connector(peer)
        try:
            published = list(remote.published_ranges())
            error = ""
        except (ConnectorError, ConnectorRefusal) as exc:
            published, error = [], exc.reason
        finally:
            _close(remote)
        now = self.clock.now()
        with self.transactions() as unit:
            peer = replace(peer, synced_at=now if not error else peer.synced_at, sync_error=error)
            unit.federation.save_peer(peer)
            if error:
                log.warning("peer %s: sync failed: %s", peer.name, error)
                return
            mirrors = {str(r.connector.config.get("range")): r for r in self._mirrors(unit, peer)}
            seen = set()
            for item in published:
                slug = str(item["slug"])
                seen.add(slug)
                self._upsert(unit, peer, item, mirrors.get(slug), now=now)
            for slug, record in mirrors.items():
                if slug not in seen and record.status is not RangeStatus.DECOMMISSIONED:
                    unit.catalogue.save_range(  # type: ignore[attr-defined]
                        replace(record, status=RangeStatus.DECOMMISSIONED, updated_at=now)
                    )
            audit.record(
                unit.catalogue,
                self.clock,
                actor,
                "peer.sync",
                kind="peer",
                object_id=peer.id,
                organisation_id=peer.organisation_id,
                after={"ranges": sorted(seen)},
            )

    def _upsert(
        self,
        unit: HubUnit,
        peer: Peer,
        item: Mapping[str, Any],
        existing: RangeRecord | None,
        *,
        now: datetime,
    ) -> None:
        slug = str(item["slug"])
        summary = item.get("policy", {})
        lead = summary.get("min_lead_minutes")
        policy = SharingPolicy(
            max_foreign_share=1.0,  # the home instance applies its share to us; here we only mirror it
            allow_privileged=bool(summary.get("allow_privileged", False)),
            require_image_digests=bool(summary.get("require_image_digests", False)),
            min_lead_time=None if lead is None else timedelta(minutes=int(lead)),
        )
        status = RangeStatus.ACTIVE if item.get("status") == "active" else RangeStatus.MAINTENANCE
        connector = ConnectorSettings(
            kind="federation",
            config={
                "base_url": peer.base_url,
                "range": slug,
                "peer": peer.name,
                "timeout_seconds": self.timeout_seconds,
                **{k: v for k, v in peer.tls.items() if k != "tls_key"},
            },
            secrets={("token",): peer.token, **({("tls_key",): peer.tls_key} if peer.tls_key else {})},
        )
        published: dict[str, Any] = {
            "name": str(item.get("name") or slug),
            "description": str(item.get("description") or ""),
            "country": str(item["country"]),
            "capabilities": frozenset(str(c) for c in item.get("capabilities", [])),
            "capacity": Resources.from_dict(item.get("capacity", {})),
            "policy": policy,
            "status": status,
            "connector": connector,
            "updated_at": now,
        }
        if existing is not None:
            unit.catalogue.save_range(replace(existing, **published))  # type: ignore[attr-defined]
            return
        local = slug
        if unit.catalogue.get_range(local) is not None:
            local = f"{peer.name}-{slug}"[:63]
        record = RangeRecord(
            id=str(uuid.uuid4()),
            slug=local,
            operator_organisation_id=peer.organisation_id,
            preference=50,
            created_at=now,
            origin_peer_id=peer.id,
            **published,
        )
        unit.catalogue.add_range(record)  # type: ignore[attr-defined]

    # -- two-phase booking -------------------------------------------------------------------------
    def create_exercise(self, actor: Principal, draft: ExerciseDraft) -> Detail:
        """Schedule an exercise whose teams may land on peers' ranges, all or nothing (see the module)."""
        with self.transactions() as unit:
            service = self.exercises(unit)
            planned = service.plan(actor, draft, include_peers=True)
            parts = self._peer_parts(unit, planned[1])
            if not parts or not planned[1].feasible:
                return service.create(actor, draft, planned=planned)
            requester = _requester(unit, actor)
        exercise_id = str(uuid.uuid4())
        start, end = draft.booked_from, draft.end
        holds = self._intent(actor, exercise_id, parts, start=start, end=end)
        acquired, reasons = self._take_holds(
            parts, holds, exercise_id, start=start, end=end, requester=requester
        )
        if reasons:
            self._release(acquired, exercise_id)
            raise Refused(reasons)
        try:
            with self.transactions() as unit:
                detail = self.exercises(unit).create(actor, draft, planned=planned, exercise_id=exercise_id)
                self._commit_holds(unit, actor, detail, acquired)
        except Exception:
            self._release(acquired, exercise_id)
            raise
        self.confirm_all(exercise_id)
        with self.transactions() as unit:
            return self.exercises(unit).get(actor, exercise_id)

    def _peer_parts(self, unit: HubUnit, placement: Any) -> list[PeerPart]:
        parts = []
        for booking in placement.bookings():
            record = unit.catalogue.get_range(booking.range_id)
            if record is None or record.origin_peer_id is None:
                continue
            peer = unit.federation.get_peer(record.origin_peer_id)
            if peer is None:
                raise Conflict(f"range '{record.slug}' comes from a peer that is no longer known")
            parts.append(PeerPart(record=record, peer=peer, demand=booking.demand))
        return parts

    def _intent(
        self, actor: Principal, exercise_id: str, parts: Sequence[PeerPart], *, start: datetime, end: datetime
    ) -> list[PeerHold]:
        now = self.clock.now()
        holds = [
            PeerHold(
                id=str(uuid.uuid4()),
                exercise_id=exercise_id,
                peer_id=p.peer.id,
                range_id=p.record.id,
                booking_id=None,
                remote_id="",
                state=HoldState.HOLDING,
                start=start,
                end=end,
                demand=p.demand,
                expires_at=None,
                reason="",
                created_at=now,
                updated_at=now,
            )
            for p in parts
        ]
        with self.transactions() as unit:
            for hold in holds:
                unit.federation.add_hold(hold)
            unit.actions.schedule(
                kind=ABORT,
                object_kind="exercise",
                object_id=exercise_id,
                due_at=now + self.abort_after,
                now=now,
                max_attempts=ATTEMPTS,
            )
            audit.record(
                unit.catalogue,
                self.clock,
                actor,
                "federation.hold.intent",
                kind="exercise",
                object_id=exercise_id,
                organisation_id=actor.organisation_id,
                after={"ranges": [p.record.slug for p in parts]},
            )
        return holds

    def _take_holds(
        self,
        parts: Sequence[PeerPart],
        holds: Sequence[PeerHold],
        key: str,
        *,
        start: datetime,
        end: datetime,
        requester: Requester,
    ) -> tuple[list[tuple[PeerPart, PeerHold]], list[str]]:
        def one(part: PeerPart) -> tuple[str, str]:
            try:
                got = self._calendar(part.record).hold(
                    key=key,
                    start=start.isoformat(),
                    end=end.isoformat(),
                    demand=part.demand,
                    requester=requester,
                )
            except ConnectorRefusal as exc:
                return "", exc.reason
            except ConnectorError as exc:
                return "", f"{_where(part.record)}: {exc.reason}"
            if got.status not in ("held", "confirmed", "active"):
                return (
                    got.id,
                    f"{part.peer.name}/{part.record.connector.config.get('range')}: hold is {got.status}",
                )
            return got.id, ""

        outcomes = _concurrently(one, parts)
        acquired: list[tuple[PeerPart, PeerHold]] = []
        reasons: list[str] = []
        now = self.clock.now()
        with self.transactions() as unit:
            for part, hold, (remote_id, reason) in zip(parts, holds, outcomes, strict=True):
                state = HoldState.HOLDING if remote_id else HoldState.FAILED
                updated = replace(hold, remote_id=remote_id, state=state, reason=reason, updated_at=now)
                unit.federation.save_hold(updated)
                if remote_id:
                    acquired.append((part, updated))
                if reason:
                    reasons.append(reason)
                after = {"exercise": key, "remote": remote_id, "refused": reason}
                self._audit_range(unit, SYSTEM, "federation.hold", part.record.id, after=after)
        return acquired, reasons

    def _release(self, acquired: Sequence[tuple[PeerPart, PeerHold]], exercise_id: str) -> None:
        """Give back every hold acquired; one that cannot be released now is left to the abort action
        (and, failing that, to the peer's hold TTL)."""

        def one(item: tuple[PeerPart, PeerHold]) -> bool:
            part, hold = item
            try:
                self._calendar(part.record).release(hold_id=hold.remote_id)
            except (ConnectorError, ConnectorRefusal) as exc:
                log.warning("releasing %s on %s failed: %s", hold.remote_id, part.record.slug, exc.reason)
                return False
            return True

        done = _concurrently(one, acquired)
        now = self.clock.now()
        with self.transactions() as unit:
            for (_, hold), ok in zip(acquired, done, strict=True):
                if ok:
                    unit.federation.save_hold(replace(hold, state=HoldState.RELEASED, updated_at=now))
                    self._audit_release(unit, hold, why="refused elsewhere")
            if all(done):
                unit.actions.cancel_for(object_kind="exercise", object_id=exercise_id, kinds=[ABORT])

    def _commit_holds(
        self, unit: HubUnit, actor: Principal, detail: Detail, acquired: Sequence[tuple[PeerPart, PeerHold]]
    ) -> None:
        now = self.clock.now()
        booking_of = {i.range_id: i.booking_id for i in detail.instances}
        for part, hold in acquired:
            updated = replace(
                hold, state=HoldState.HELD, booking_id=booking_of.get(part.record.id), updated_at=now
            )
            unit.federation.save_hold(updated)
            # Due a little later: this request confirms at once (and cancels it); the scheduler confirms
            # only for a process that died before it could, so a happy path costs each peer two calls.
            unit.actions.schedule(
                kind=CONFIRM,
                object_kind="peer_hold",
                object_id=hold.id,
                due_at=now + self.confirm_after,
                now=now,
                max_attempts=ATTEMPTS,
            )
            # A peer deploys only under a confirmed booking: these teams' deploys wait for the confirm.
            for instance in detail.instances:
                if instance.range_id == part.record.id:
                    unit.actions.cancel_for(
                        object_kind="instance", object_id=instance.id, kinds=[schedule.DEPLOY]
                    )
        unit.actions.cancel_for(object_kind="exercise", object_id=detail.exercise.id, kinds=[ABORT])

    def confirm_all(self, exercise_id: str) -> None:
        with self.transactions() as unit:
            ids = [h.id for h in unit.federation.holds_of(exercise_id) if h.state is HoldState.HELD]

        def one(hold_id: str) -> None:
            try:
                self.confirm(hold_id)
            except RetryLater as exc:
                log.info("confirm of %s left to the scheduler: %s", hold_id, exc)
                return
            with self.transactions() as unit:
                unit.actions.cancel_for(object_kind="peer_hold", object_id=hold_id, kinds=[CONFIRM])

        _concurrently(one, ids)

    def confirm(self, hold_id: str) -> None:
        """Due action: confirm a held peer hold whose local part is committed; idempotent. A peer that
        says no (the hold expired meanwhile) gives the hub's share of that range back and says so."""
        with self.transactions() as unit:
            hold = unit.federation.get_hold(hold_id)
            record = None if hold is None else unit.catalogue.get_range(hold.range_id)
        if hold is None or record is None or hold.state is not HoldState.HELD:
            return
        try:
            self._calendar(record).confirm(hold_id=hold.remote_id)
        except ConnectorError as exc:
            raise RetryLater(exc.reason) from exc
        except ConnectorRefusal as exc:
            self._lost(hold, record, exc.reason)
            return
        now = self.clock.now()
        with self.transactions() as unit:
            current = unit.federation.get_hold(hold_id, lock=True)
            if current is not None and current.state is HoldState.HELD:
                unit.federation.save_hold(replace(current, state=HoldState.CONFIRMED, updated_at=now))
                exercise = unit.exercises.get_exercise(hold.exercise_id)
                for instance in unit.exercises.instances_of(hold.exercise_id):
                    if (
                        exercise is not None
                        and instance.range_id == record.id
                        and instance.stage is Stage.BOOKED
                    ):
                        schedule.schedule_deploy(
                            unit.actions, instance, at=max(exercise.deploy_at, now), now=now
                        )
                after = {"exercise": hold.exercise_id, "remote": hold.remote_id}
                self._audit_range(unit, SYSTEM, "federation.confirm", record.id, after=after)

    def _lost(self, hold: PeerHold, record: RangeRecord, reason: str) -> None:
        now = self.clock.now()
        with self.transactions() as unit:
            unit.federation.save_hold(replace(hold, state=HoldState.FAILED, reason=reason, updated_at=now))
            if hold.booking_id:
                with suppress(Conflict, NotFound):
                    (booking,) = unit.booking.get(SYSTEM, Selection.booking(hold.booking_id))
                    if booking.status in (BookingStatus.CONFIRMED, BookingStatus.ACTIVE):
                        unit.booking.release(SYSTEM, Selection.booking(booking.id))
                    else:
                        unit.booking.cancel(SYSTEM, Selection.booking(booking.id), reason=reason)
            if unit.exercises.get_exercise(hold.exercise_id) is not None:
                note(unit, self.clock, hold.exercise_id, f"range {record.slug} lost: {reason}", level="error")

    def abort(self, exercise_id: str) -> None:
        """Due action: the hub died between taking holds and committing its local part (no exercise):
        release every hold taken for it, found by key at each peer."""
        with self.transactions() as unit:
            if unit.exercises.get_exercise(exercise_id) is not None:
                return
            holds = [
                h
                for h in unit.federation.holds_of(exercise_id)
                if h.state in (HoldState.HOLDING, HoldState.HELD)
            ]
            records = {h.id: unit.catalogue.get_range(h.range_id) for h in holds}
        failed = []
        for hold in holds:
            record = records[hold.id]
            if record is None:
                continue
            calendar = self._calendar(record)
            try:
                found = calendar.find_hold(key=exercise_id)
                if found is not None:
                    calendar.release(hold_id=found.id)
            except (ConnectorError, ConnectorRefusal) as exc:
                failed.append(f"{record.slug}: {exc.reason}")
                continue
            with self.transactions() as unit:
                unit.federation.save_hold(
                    replace(hold, state=HoldState.RELEASED, reason="aborted", updated_at=self.clock.now())
                )
                self._audit_release(unit, hold, why="aborted: no local commit")
        if failed:
            raise RetryLater("; ".join(failed))

    def reconcile(self) -> int:
        """Tick: give back at the peers what the hub no longer books (its booking released, cancelled or
        expired: the exercise ended or was cancelled)."""
        with self.transactions() as unit:
            candidates = []
            for hold in unit.federation.holds_in([HoldState.CONFIRMED.value, HoldState.HELD.value]):
                if not hold.booking_id:
                    continue
                try:
                    (booking,) = unit.booking.get(SYSTEM, Selection.booking(hold.booking_id))
                except NotFound:
                    booking = None
                if booking is None or booking.status not in OCCUPYING:
                    record = unit.catalogue.get_range(hold.range_id)
                    if record is not None:
                        candidates.append((hold, record))
        released = 0
        for hold, record in candidates:
            try:
                self._calendar(record).release(hold_id=hold.remote_id)
            except (ConnectorError, ConnectorRefusal) as exc:
                log.info(
                    "releasing %s on %s: %s (retried next tick)", hold.remote_id, record.slug, exc.reason
                )
                continue
            with self.transactions() as unit:
                unit.federation.save_hold(
                    replace(hold, state=HoldState.RELEASED, updated_at=self.clock.now())
                )
                self._audit_release(unit, hold, why="no longer booked here")
            released += 1
        return released

    def _audit_release(self, unit: HubUnit, hold: PeerHold, *, why: str) -> None:
        after = {"exercise": hold.exercise_id, "remote": hold.remote_id, "why": why}
        self._audit_range(unit, SYSTEM, "federation.release", hold.range_id, after=after)

    def _audit_range(
        self,
        unit: HubUnit,
        actor: Principal,
        action: str,
        range_id: str,
        *,
        after: dict[str, Any],
        organisation_id: str | None = None,
    ) -> None:
        """The audit event of a call to a peer about one of its ranges (the hub's mirror of it)."""
        audit.record(
            unit.catalogue,
            self.clock,
            actor,
            action,
            kind="range",
            object_id=range_id,
            range_id=range_id,
            organisation_id=organisation_id,
            after=after,
        )

    # -- renew-to-T --------------------------------------------------------------------------------
    def extend(self, actor: Principal, exercise_id: str, *, end: datetime) -> Exercise:
        """Every booking of the exercise, local and on every peer, ends at exactly `end`, or none changes;
        a refusal lists, per range, the latest end it could grant."""
        with self.transactions() as unit:
            service = self.exercises(unit)
            detail = service.get(actor, exercise_id)  # visibility; the change is checked by extend below
            holds = [
                h
                for h in unit.federation.holds_of(exercise_id)
                if h.state in (HoldState.CONFIRMED, HoldState.HELD) and h.booking_id
            ]
            records = {h.id: unit.catalogue.get_range(h.range_id) for h in holds}
            local_ids = set(bookings_of(detail.instances)) - {h.booking_id for h in holds}
            local_reasons = self._local_latest(unit, actor, local_ids, end)
        if not holds:
            with self.transactions() as unit:
                return self.exercises(unit).extend(actor, exercise_id, end=end)

        def one(hold: PeerHold) -> tuple[bool, str]:
            record = records[hold.id]
            if record is None:
                return False, f"{hold.range_id}: range no longer known"
            try:
                self._calendar(record).renew(hold_id=hold.remote_id, end=end.isoformat())
            except ConnectorRefusal as exc:
                return False, exc.reason
            except ConnectorError as exc:
                return False, f"{_where(record)}: {exc.reason}"
            return True, ""

        outcomes = _concurrently(one, holds)
        renewed = [h for h, (ok, _) in zip(holds, outcomes, strict=True) if ok]
        reasons = [r for ok, r in outcomes if not ok]
        if reasons or local_reasons:
            self._renew_back(renewed, records)
            raise Refused(local_reasons + reasons)
        try:
            with self.transactions() as unit:
                updated = self.exercises(unit).extend(actor, exercise_id, end=end)
                for hold in holds:
                    unit.federation.save_hold(replace(hold, end=end, updated_at=self.clock.now()))
                    self._audit_range(
                        unit,
                        actor,
                        "federation.renew",
                        hold.range_id,
                        organisation_id=actor.organisation_id,
                        after={"exercise": exercise_id, "remote": hold.remote_id, "end": end.isoformat()},
                    )
        except Exception:
            self._renew_back(renewed, records)
            raise
        return updated

    def _local_latest(
        self, unit: HubUnit, actor: Principal, booking_ids: set[str], end: datetime
    ) -> list[str]:
        """For each local booking that could not reach `end`: '<range>: can extend to at most <instant>'."""
        out = []
        for booking_id in sorted(booking_ids):
            try:
                (booking,) = unit.booking.get(SYSTEM, Selection.booking(booking_id))
            except NotFound:
                continue
            if end <= booking.end:
                continue
            free = unit.booking.free_for(
                [booking.range_id],
                start=booking.end,
                end=end,
                organisation_id=booking.owner_organisation_id,
                country=booking.owner_country,
            )
            room = free.get(booking.range_id)
            if room is not None and not booking.demand.fits_in(room.free):
                first = min(
                    (room.at[d] for d, _, _ in booking.demand.shortfalls(room.free) if d in room.at),
                    default=booking.end,
                )
                out.append(
                    f"{booking.range_slug}: can extend to at most {max(first, booking.end).isoformat()} "
                    f"(asked {end.isoformat()})"
                )
        return out

    def _renew_back(self, renewed: Sequence[PeerHold], records: Mapping[str, RangeRecord | None]) -> None:
        for hold in renewed:
            record = records[hold.id]
            if record is None:
                continue
            try:
                self._calendar(record).renew(hold_id=hold.remote_id, end=hold.end.isoformat())
            except (ConnectorError, ConnectorRefusal) as exc:  # shrinking back is always admitted
                log.error(
                    "could not move %s on %s back to %s: %s", hold.remote_id, record.slug, hold.end, exc
                )


def _concurrently(fn: Callable[[Any], T], items: Sequence[Any]) -> list[T]:
    """fn over items, one thread per item (peers are called in parallel; a request spanning N peers
    takes as long as the slowest, bounded by each connector's timeout)."""
    if len(items) <= 1:
        return [fn(i) for i in items]
    with ThreadPoolExecutor(max_workers=min(len(items), 16)) as pool:
        return list(pool.map(fn, items))


def _requester(unit: HubUnit, actor: Principal) -> Requester:
    """The organisation the exercise is booked for, as the peers are told it (they record it)."""
    org = unit.catalogue.get_organisation(actor.organisation_id)
    if org is None:
        return Requester(id=actor.organisation_id, name=actor.organisation_id, country="")
    return Requester(id=org.id, name=org.name, country=org.country)


def _where(record: RangeRecord) -> str:
    """'<peer>/<range at the peer>' for a peer's range."""
    return f"{record.connector.config.get('peer')}/{record.connector.config.get('range')}"


def _close(connector: object) -> None:
    close = getattr(connector, "close", None)
    if callable(close):
        close()


__all__ = ("ABORT", "API_VERSION", "CONFIRM", "KINDS", "Hub", "RetryLater")
