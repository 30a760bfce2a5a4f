"""The ScenarioStore port on SQLAlchemy: uploaded versions keyed by owner, and who they are shared with."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from orchestrator.db.tables import OrganisationRow, ScenarioRow, ScenarioShareRow, read
from orchestrator.domain.catalogue import EVERYONE, ScenarioVersion


class SqlScenarioStore:
    def __init__(self, session: Session) -> None:
        self.session = session

    def _row(self, organisation_id: str, name: str, version: str) -> ScenarioRow | None:
        stmt = select(ScenarioRow).where(
            ScenarioRow.organisation_id == organisation_id,
            ScenarioRow.name == name,
            ScenarioRow.version == version,
        )
        return self.session.scalars(stmt).first()

    def _versions(self, rows: Sequence[tuple[ScenarioRow, str]]) -> list[ScenarioVersion]:
        keys = {(r.organisation_id, r.name) for r, _ in rows}
        shares: dict[tuple[str, str], set[str]] = {}
        if keys:
            found = self.session.execute(
                select(
                    ScenarioShareRow.organisation_id, ScenarioShareRow.name, ScenarioShareRow.shared_with
                ).where(ScenarioShareRow.name.in_(sorted({name for _, name in keys})))
            )
            for org, name, shared_with in found:
                if (org, name) in keys:
                    shares.setdefault((org, name), set()).add(shared_with)
        return [
            read(
                ScenarioVersion,
                r,
                owner=handle,
                shared_with=frozenset(shares.get((r.organisation_id, r.name), ())),
                base_dir=None,  # only the library's versions have their files in a directory
            )
            for r, handle in rows
        ]

    def get_scenario(self, organisation_id: str, name: str, version: str) -> ScenarioVersion | None:
        stmt = (
            select(ScenarioRow, OrganisationRow.handle)
            .join(OrganisationRow, OrganisationRow.id == ScenarioRow.organisation_id)
            .where(
                ScenarioRow.organisation_id == organisation_id,
                ScenarioRow.name == name,
                ScenarioRow.version == version,
            )
        )
        found = self._versions([(r, h) for r, h in self.session.execute(stmt)])
        return found[0] if found else None

    def scenario_versions(
        self, *, name: str | None = None, owner_id: str | None = None, visible_to: str | None = None
    ) -> Sequence[ScenarioVersion]:
        stmt = (
            select(ScenarioRow, OrganisationRow.handle)
            .join(OrganisationRow, OrganisationRow.id == ScenarioRow.organisation_id)
            .order_by(OrganisationRow.handle, ScenarioRow.name, ScenarioRow.created_at)
        )
        if name is not None:
            stmt = stmt.where(ScenarioRow.name == name)
        if owner_id is not None:
            stmt = stmt.where(ScenarioRow.organisation_id == owner_id)
        if visible_to is not None:
            shared = select(ScenarioShareRow.id).where(
                ScenarioShareRow.organisation_id == ScenarioRow.organisation_id,
                ScenarioShareRow.name == ScenarioRow.name,
                ScenarioShareRow.shared_with.in_([visible_to, EVERYONE]),
            )
            stmt = stmt.where(or_(ScenarioRow.organisation_id == visible_to, shared.exists()))
        return self._versions([(r, h) for r, h in self.session.execute(stmt)])

    def put_scenario(self, scenario: ScenarioVersion, *, uploaded_by: str) -> None:
        if scenario.organisation_id is None or scenario.created_at is None:
            raise ValueError("library scenarios are files, not rows")
        row = self._row(scenario.organisation_id, scenario.name, scenario.version)
        if row is None:
            row = ScenarioRow(
                id=str(uuid.uuid4()),
                organisation_id=scenario.organisation_id,
                name=scenario.name,
                version=scenario.version,
            )
            self.session.add(row)
        row.uploaded_by = uploaded_by
        row.document = scenario.document
        row.digest = scenario.digest
        row.created_at = scenario.created_at
        self.session.flush()

    def mark_scenario_used(self, organisation_id: str, name: str, version: str, *, at: datetime) -> None:
        row = self._row(organisation_id, name, version)
        if row is not None and row.first_used_at is None:
            row.first_used_at = at
            self.session.flush()

    def share_scenario(
        self, organisation_id: str, name: str, shared_with: frozenset[str], *, at: datetime
    ) -> None:
        self.session.execute(
            delete(ScenarioShareRow).where(
                ScenarioShareRow.organisation_id == organisation_id, ScenarioShareRow.name == name
            )
        )
        for target in sorted(shared_with):
            self.session.add(
                ScenarioShareRow(
                    id=str(uuid.uuid4()),
                    organisation_id=organisation_id,
                    name=name,
                    shared_with=target,
                    created_at=at,
                )
            )
        self.session.flush()

    def owner_handle(self, organisation_id: str) -> str:
        handle = self.session.scalar(
            select(OrganisationRow.handle).where(OrganisationRow.id == organisation_id)
        )
        return handle or ""
