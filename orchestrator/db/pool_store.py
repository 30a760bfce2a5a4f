"""The PoolStore port on SQLAlchemy: warm pools, and the ready instances environments may claim."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from orchestrator.catalogue.scenario_facts import ScenarioPin
from orchestrator.db.exercise_store import INSTANCES, instance_of
from orchestrator.db.tables import ExerciseRow, WarmPoolRow, read
from orchestrator.exercises.model import ExerciseKind, ExerciseStatus, Instance, Stage, WarmPool

#: Pool statuses in which its ready instances may be claimed.
_CLAIMABLE = (ExerciseStatus.DEPLOYING.value, ExerciseStatus.RUNNING.value)
_ACTIVE = (ExerciseStatus.SCHEDULED.value, *_CLAIMABLE)


class SqlPoolStore:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add_pool(self, pool: WarmPool) -> None:
        self.session.add(
            WarmPoolRow(
                exercise_id=pool.id,
                range_id=pool.range_id,
                min_ready=pool.min_ready,
                max_ready=pool.max_ready,
                created_at=pool.created_at,
                updated_at=pool.updated_at,
            )
        )
        self.session.flush()

    def get_pool(self, pool_id: str) -> WarmPool | None:
        row = self.session.get(WarmPoolRow, pool_id)
        return None if row is None else _pool(row)

    def save_pool(self, pool: WarmPool) -> None:
        row = self.session.get(WarmPoolRow, pool.id)
        if row is None:
            raise LookupError(pool.id)
        row.min_ready, row.max_ready, row.updated_at = pool.min_ready, pool.max_ready, pool.updated_at
        self.session.flush()

    def pools_on(self, range_id: str) -> Sequence[WarmPool]:
        stmt = select(WarmPoolRow).where(WarmPoolRow.range_id == range_id).order_by(WarmPoolRow.created_at)
        return [_pool(r) for r in self.session.scalars(stmt)]

    def active_pools(self) -> Sequence[WarmPool]:
        stmt = (
            select(WarmPoolRow)
            .join(ExerciseRow, ExerciseRow.id == WarmPoolRow.exercise_id)
            .where(ExerciseRow.status.in_(_ACTIVE))
            .order_by(WarmPoolRow.created_at)
        )
        return [_pool(r) for r in self.session.scalars(stmt)]

    def claimable(
        self, pin: ScenarioPin, *, now: datetime, limit: int = 3, lock: bool = False
    ) -> Sequence[Instance]:
        """Ready instances of live pools of exactly this scenario document, longest ready first; with
        `lock`, their rows locked (FOR UPDATE SKIP LOCKED on PostgreSQL: rows other launches are
        claiming are skipped; SQLite serialises writers anyway)."""
        stmt = (
            select(INSTANCES)
            .join(ExerciseRow, ExerciseRow.id == INSTANCES.c.exercise_id)
            .where(
                ExerciseRow.kind == ExerciseKind.POOL.value,
                ExerciseRow.status.in_(_CLAIMABLE),
                ExerciseRow.end > now,
                ExerciseRow.scenario_owner == pin.owner,
                ExerciseRow.scenario_name == pin.name,
                ExerciseRow.scenario_version == pin.version,
                ExerciseRow.scenario_digest == pin.digest,
                INSTANCES.c.stage == Stage.READY.value,
            )
            .order_by(INSTANCES.c.ready_at, INSTANCES.c.id)
            .limit(limit)
        )
        if lock:
            stmt = stmt.with_for_update(of=INSTANCES, skip_locked=True)
        # Core rows, like every read of instances (exercise_store): no ORM instance in the session
        return [instance_of(r) for r in self.session.connection().execute(stmt)]


def _pool(row: WarmPoolRow) -> WarmPool:
    return read(WarmPool, row, id=row.exercise_id)
