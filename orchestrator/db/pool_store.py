"""The PoolStore port on SQLAlchemy: warm pools, and the ready instances environments may claim."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import cast

from sqlalchemy import Table, bindparam, select
from sqlalchemy.orm import Session

from orchestrator.catalogue.scenario_facts import ScenarioPin
from orchestrator.db.exercise_store import EXERCISES, INSTANCES, instance_of
from orchestrator.db.tables import ExerciseRow, RangeRow, WarmPoolRow, read
from orchestrator.exercises.model import Claimable, ExerciseKind, ExerciseStatus, Stage, WarmPool

#: Pool statuses in which its ready instances may be claimed.
_CLAIMABLE = (ExerciseStatus.DEPLOYING.value, ExerciseStatus.RUNNING.value)
_ACTIVE = (ExerciseStatus.SCHEDULED.value, *_CLAIMABLE)

_POOLS = cast(Table, WarmPoolRow.__table__)
_RANGES = cast(Table, RangeRow.__table__)
#: A claim's one read: the longest-ready instance with its pool and its range's facts, built once.
_CLAIMABLE_INSTANCES = (
    select(
        INSTANCES,
        _POOLS.c.range_id.label("pool_range_id"),
        _POOLS.c.min_ready,
        _POOLS.c.max_ready,
        _POOLS.c.created_at.label("pool_created_at"),
        _POOLS.c.updated_at.label("pool_updated_at"),
        _RANGES.c.slug.label("range_slug"),
        _RANGES.c.operator_organisation_id,
        _RANGES.c.approval_required,
    )
    .join(EXERCISES, EXERCISES.c.id == INSTANCES.c.exercise_id)
    .join(_POOLS, _POOLS.c.exercise_id == EXERCISES.c.id)
    .join(_RANGES, _RANGES.c.id == _POOLS.c.range_id)
    .where(
        EXERCISES.c.kind == ExerciseKind.POOL.value,
        EXERCISES.c.status.in_(_CLAIMABLE),
        EXERCISES.c.end > bindparam("now"),
        EXERCISES.c.scenario_owner == bindparam("owner"),
        EXERCISES.c.scenario_name == bindparam("name"),
        EXERCISES.c.scenario_version == bindparam("version"),
        EXERCISES.c.scenario_digest == bindparam("digest"),
        INSTANCES.c.stage == Stage.READY.value,
    )
    .order_by(INSTANCES.c.ready_at, INSTANCES.c.id)
    .limit(1)
)
_CLAIMABLE_LOCKED = _CLAIMABLE_INSTANCES.with_for_update(of=INSTANCES, skip_locked=True)


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

    def next_claimable(self, pin: ScenarioPin, *, now: datetime, lock: bool = False) -> Claimable | None:
        """The longest-ready instance of a live pool of exactly this scenario document, with its pool and
        range, in one query; with `lock`, its row locked (FOR UPDATE SKIP LOCKED on PostgreSQL: rows other
        launches are claiming are skipped; SQLite serialises writers anyway)."""
        params = {
            "now": now,
            "owner": pin.owner,
            "name": pin.name,
            "version": pin.version,
            "digest": pin.digest,
        }
        # Core rows, like every read of instances (exercise_store): no ORM instance in the session
        stmt = _CLAIMABLE_LOCKED if lock else _CLAIMABLE_INSTANCES
        r = self.session.connection().execute(stmt, params).first()
        if r is None:
            return None
        return Claimable(
            instance=instance_of(r),
            pool=WarmPool(
                id=r.exercise_id,
                range_id=r.pool_range_id,
                min_ready=r.min_ready,
                max_ready=r.max_ready,
                created_at=r.pool_created_at,
                updated_at=r.pool_updated_at,
            ),
            range_slug=r.range_slug,
            range_operator_organisation_id=r.operator_organisation_id,
            approval_required=r.approval_required,
        )


def _pool(row: WarmPoolRow) -> WarmPool:
    return read(WarmPool, row, id=row.exercise_id)
