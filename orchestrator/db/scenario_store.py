"""The ScenarioStore port on SQLAlchemy: uploaded versions keyed by owner, and who they are shared with."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from functools import cache
from typing import Any, cast

from sqlalchemy import Row, Select, Table, bindparam, delete, exists, or_, select
from sqlalchemy.orm import Session

from orchestrator.db.tables import OrganisationRow, ScenarioRow, ScenarioShareRow, read
from orchestrator.domain.catalogue import EVERYONE, ScenarioVersion

_SCENARIOS = cast(Table, ScenarioRow.__table__)
_SHARES = cast(Table, ScenarioShareRow.__table__)
_ORGANISATIONS = cast(Table, OrganisationRow.__table__)
_SHARES_OF = select(_SHARES.c.organisation_id, _SHARES.c.name, _SHARES.c.shared_with).where(
    _SHARES.c.name.in_(bindparam("names", expanding=True))
)


@cache
def _versions_read(*, name: bool, owner: bool, version: bool, visible: bool) -> Select[Any]:
    """The versions read with the filters asked for, each a parameter: built once per combination (every
    launch resolves its scenario through one of them)."""
    stmt = (
        select(_SCENARIOS, _ORGANISATIONS.c.handle.label("owner"))
        .join(_ORGANISATIONS, _ORGANISATIONS.c.id == _SCENARIOS.c.organisation_id)
        .order_by(_ORGANISATIONS.c.handle, _SCENARIOS.c.name, _SCENARIOS.c.created_at)
    )
    if name:
        stmt = stmt.where(_SCENARIOS.c.name == bindparam("name"))
    if owner:
        stmt = stmt.where(_SCENARIOS.c.organisation_id == bindparam("owner_id"))
    if version:
        stmt = stmt.where(_SCENARIOS.c.version == bindparam("version"))
    if visible:
        shared = exists().where(
            _SHARES.c.organisation_id == _SCENARIOS.c.organisation_id,
            _SHARES.c.name == _SCENARIOS.c.name,
            _SHARES.c.shared_with.in_([bindparam("visible_to"), EVERYONE]),
        )
        stmt = stmt.where(or_(_SCENARIOS.c.organisation_id == bindparam("visible_to"), shared))
    return stmt


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

    def _versions(self, **params: str) -> list[ScenarioVersion]:
        """The versions the filters in `params` select (Core rows: no ORM instance), with their shares."""
        stmt = _versions_read(
            name="name" in params,
            owner="owner_id" in params,
            version="version" in params,
            visible="visible_to" in params,
        )
        rows: Sequence[Row[Any]] = self.session.connection().execute(stmt, params).all()
        shares: dict[tuple[str, str], set[str]] = {}
        if rows:
            keys = {(r.organisation_id, r.name) for r in rows}
            names = sorted({name for _, name in keys})
            for org, name, shared_with in self.session.connection().execute(_SHARES_OF, {"names": names}):
                if (org, name) in keys:
                    shares.setdefault((org, name), set()).add(shared_with)
        return [
            read(
                ScenarioVersion,
                r,
                shared_with=frozenset(shares.get((r.organisation_id, r.name), ())),
                base_dir=None,  # only the library's versions have their files in a directory
            )
            for r in rows
        ]

    def get_scenario(self, organisation_id: str, name: str, version: str) -> ScenarioVersion | None:
        found = self._versions(owner_id=organisation_id, name=name, version=version)
        return found[0] if found else None

    def scenario_versions(
        self, *, name: str | None = None, owner_id: str | None = None, visible_to: str | None = None
    ) -> Sequence[ScenarioVersion]:
        given = {"name": name, "owner_id": owner_id, "visible_to": visible_to}
        return self._versions(**{key: value for key, value in given.items() if value is not None})

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
