"""The ScenarioStore port on SQLAlchemy."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from orchestrator.db.tables import ScenarioRow
from orchestrator.domain.catalogue import ScenarioVersion


class SqlScenarioStore:
    def __init__(self, session: Session) -> None:
        self.session = session

    def _row(self, name: str, version: str) -> ScenarioRow | None:
        stmt = select(ScenarioRow).where(ScenarioRow.name == name, ScenarioRow.version == version)
        return self.session.scalars(stmt).first()

    def get_scenario(self, name: str, version: str) -> ScenarioVersion | None:
        row = self._row(name, version)
        return None if row is None else _version(row)

    def scenario_versions(self, name: str | None = None) -> Sequence[ScenarioVersion]:
        stmt = select(ScenarioRow).order_by(ScenarioRow.name, ScenarioRow.created_at)
        if name is not None:
            stmt = stmt.where(ScenarioRow.name == name)
        return [_version(r) for r in self.session.scalars(stmt)]

    def put_scenario(self, scenario: ScenarioVersion, *, uploaded_by: str) -> None:
        if scenario.organisation_id is None or scenario.created_at is None:
            raise ValueError("library scenarios are files, not rows")
        row = self._row(scenario.name, scenario.version)
        if row is None:
            row = ScenarioRow(id=str(uuid.uuid4()), name=scenario.name, version=scenario.version)
            self.session.add(row)
        row.organisation_id = scenario.organisation_id
        row.uploaded_by = uploaded_by
        row.document = scenario.document
        row.digest = scenario.digest
        row.created_at = scenario.created_at
        self.session.flush()

    def mark_scenario_used(self, name: str, version: str, *, at: datetime) -> None:
        row = self._row(name, version)
        if row is not None and row.first_used_at is None:
            row.first_used_at = at
            self.session.flush()


def _version(row: ScenarioRow) -> ScenarioVersion:
    return ScenarioVersion(
        name=row.name,
        version=row.version,
        document=row.document,
        digest=row.digest,
        organisation_id=row.organisation_id,
        created_at=row.created_at,
        first_used_at=row.first_used_at,
    )
