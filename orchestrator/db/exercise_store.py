"""The ExerciseStore port on SQLAlchemy: exercises, team instances, stage records, events.

Exercises, instances and stage records are read and written with Core statements on the unit of work's
connection (no ORM objects: they are the lifecycle's hot path, several statements per team step); no
ORM object of those tables ever lives in the session, so nothing there can go stale.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Connection, Row, Select, Table, bindparam, func, insert, literal, select, update
from sqlalchemy.orm import Session

from connectors.base import Endpoint
from orchestrator.catalogue.scenario_facts import ScenarioPin
from orchestrator.db.engine import write_later
from orchestrator.db.placement_codec import (
    constraints_from_json,
    constraints_to_json,
    placement_from_json,
    placement_to_json,
)
from orchestrator.db.tables import (
    ExerciseEventRow,
    ExerciseRow,
    InstanceRow,
    StageRow,
    TeamLinkRow,
    read,
    values,
)
from orchestrator.exercises.model import (
    PLACEMENT_NOT_LOADED,
    Exercise,
    ExerciseEvent,
    ExerciseKind,
    ExerciseStatus,
    Instance,
    Stage,
    StageOutcome,
    StageRecord,
    log_text,
)

EXERCISES = cast(Table, ExerciseRow.__table__)
INSTANCES = cast(Table, InstanceRow.__table__)
STAGES = cast(Table, StageRow.__table__)
#: An exercise's columns without its placement (cheap whatever the exercise's size).
_EXERCISE_LEAN = [c for c in EXERCISES.c if c.name != "placement"]


# The lifecycle's hot statements, built once with bound parameters (building and keying a statement
# per call costs as much client CPU as its round trip). FOR NO KEY UPDATE is the lock the lifecycle
# serialises an exercise's steps on; it still lets other transactions insert rows that refer to the
# exercise (events, instances) without waiting.
def _read_exercise(columns: Iterable[Any], *, lock: bool) -> Select[Any]:
    stmt = select(*columns).where(EXERCISES.c.id == bindparam("exercise_id"))
    return stmt.with_for_update(key_share=True) if lock else stmt


_GET_EXERCISE = {
    (placement, lock): _read_exercise(EXERCISES.c if placement else _EXERCISE_LEAN, lock=lock)
    for placement in (True, False)
    for lock in (True, False)
}
_EXERCISE_OF = select(*_EXERCISE_LEAN).where(
    EXERCISES.c.id
    == select(INSTANCES.c.exercise_id).where(INSTANCES.c.id == bindparam("instance_id")).scalar_subquery()
)
#: FOR SHARE (a team's step: steps of one exercise run side by side) or FOR NO KEY UPDATE (a change of
#: the exercise, which waits for the steps running and holds the next ones back).
_LOCK_EXERCISE_OF = {
    True: _EXERCISE_OF.with_for_update(read=True),
    False: _EXERCISE_OF.with_for_update(key_share=True),
}
_SAVE_EXERCISE = update(EXERCISES).where(EXERCISES.c.id == bindparam("exercise_key"))
_GET_INSTANCE = {
    False: select(INSTANCES).where(INSTANCES.c.id == bindparam("instance_id")),
    True: select(INSTANCES).where(INSTANCES.c.id == bindparam("instance_id")).with_for_update(),
}
_SAVE_INSTANCE = update(INSTANCES).where(INSTANCES.c.id == bindparam("instance_key"))
_STAGE_COUNTS = (
    select(INSTANCES.c.stage, func.count())
    .where(INSTANCES.c.exercise_id == bindparam("exercise_id"))
    .group_by(INSTANCES.c.stage)
)
_STAGE_COUNTS_ON_BOOKING = _STAGE_COUNTS.where(INSTANCES.c.booking_id == bindparam("booking_id"))
_STAGE_OF = STAGES.c.instance_id == bindparam("for_instance")
#: The next stage record: seq and attempt counted and the row written in one statement.
_START_STAGE = insert(STAGES).from_select(
    [
        "id",
        "instance_id",
        "seq",
        "stage",
        "attempt",
        "outcome",
        "started_at",
        "finished_at",
        "error",
        "log",
    ],
    select(
        bindparam("record_id", type_=STAGES.c.id.type),
        bindparam("for_instance", type_=STAGES.c.instance_id.type),
        func.coalesce(func.max(STAGES.c.seq), 0) + 1,
        bindparam("new_stage", type_=STAGES.c.stage.type),
        func.count().filter(STAGES.c.stage == bindparam("new_stage")) + 1,
        bindparam("new_outcome", type_=STAGES.c.outcome.type),
        bindparam("at", type_=STAGES.c.started_at.type),
        bindparam("new_finished", type_=STAGES.c.finished_at.type),
        literal("", STAGES.c.error.type),
        bindparam("new_log", type_=STAGES.c.log.type),
    ).where(_STAGE_OF),
)
_INSERT_EXERCISE = insert(EXERCISES)
_INSERT_INSTANCE = insert(INSTANCES)
_INSERT_EVENT = insert(cast(Table, ExerciseEventRow.__table__))
_APPEND_STAGE_LOG = (
    update(STAGES)
    .where(
        STAGES.c.id
        == select(STAGES.c.id).where(_STAGE_OF).order_by(STAGES.c.seq.desc()).limit(1).scalar_subquery()
    )
    .values(log=STAGES.c.log + bindparam("added", type_=STAGES.c.log.type))
)
_CLOSE_RUNNING_STAGE = (
    update(STAGES)
    .where(
        _STAGE_OF,
        STAGES.c.seq == select(func.max(STAGES.c.seq)).where(_STAGE_OF).scalar_subquery(),
        STAGES.c.outcome == StageOutcome.RUNNING.value,
    )
    .values(
        outcome=bindparam("new_outcome"),
        finished_at=bindparam("at", type_=STAGES.c.finished_at.type),
        error=bindparam("new_error"),
    )
)


class SqlExerciseStore:
    def __init__(self, session: Session) -> None:
        self.session = session

    @property
    def _c(self) -> Connection:
        return self.session.connection()

    # exercises
    def add_exercise(self, exercise: Exercise) -> None:
        write_later(
            self._c,
            _INSERT_EXERCISE,
            {"id": exercise.id, "created_at": exercise.created_at, **_exercise_values(exercise)},
        )

    def get_exercise(
        self, exercise_id: str, *, lock: bool = False, placement: bool = True
    ) -> Exercise | None:
        row = self._c.execute(_GET_EXERCISE[placement, lock], {"exercise_id": exercise_id}).first()
        return None if row is None else _exercise(row, placement=placement)

    def lock_exercise_of(self, instance_id: str, *, shared: bool = False) -> Exercise | None:
        row = self._c.execute(_LOCK_EXERCISE_OF[shared], {"instance_id": instance_id}).first()
        return None if row is None else _exercise(row, placement=False)

    def save_exercise(self, exercise: Exercise) -> None:
        done = self._c.execute(_SAVE_EXERCISE, {"exercise_key": exercise.id, **_exercise_values(exercise)})
        if done.rowcount == 0:
            raise LookupError(exercise.id)

    def list_exercises(
        self, *, owner_organisation_id: str | None, kind: ExerciseKind | None, statuses: Sequence[str] | None
    ) -> Sequence[Exercise]:
        stmt = select(*EXERCISES.c).order_by(EXERCISES.c.start, EXERCISES.c.id)
        if owner_organisation_id is not None:
            stmt = stmt.where(EXERCISES.c.owner_organisation_id == owner_organisation_id)
        if kind is not None:
            stmt = stmt.where(EXERCISES.c.kind == kind.value)
        if statuses is not None:
            stmt = stmt.where(EXERCISES.c.status.in_(list(statuses)))
        return [_exercise(r) for r in self._c.execute(stmt)]

    # instances
    def add_instance(self, instance: Instance) -> None:
        # both rows kept: an exercise of 500 teams sends its instances with its COMMIT
        values = _instance_values(instance)
        write_later(
            self._c, _INSERT_INSTANCE, {"id": instance.id, "created_at": instance.created_at, **values}
        )
        self.start_stage(instance_id=instance.id, stage=instance.stage, at=instance.created_at)

    def get_instance(self, instance_id: str, *, lock: bool = False) -> Instance | None:
        row = self._c.execute(_GET_INSTANCE[lock], {"instance_id": instance_id}).first()
        return None if row is None else instance_of(row)

    def save_instance(self, instance: Instance, *, locked: bool = False) -> None:
        values = {"instance_key": instance.id, **_instance_values(instance)}
        if locked:  # the row is this transaction's (read with its lock): nothing to check, sent later
            write_later(self._c, _SAVE_INSTANCE, values)
            return
        if self._c.execute(_SAVE_INSTANCE, values).rowcount == 0:
            raise LookupError(instance.id)

    def instances_of(self, exercise_id: str) -> Sequence[Instance]:
        stmt = select(INSTANCES).where(INSTANCES.c.exercise_id == exercise_id).order_by(INSTANCES.c.team)
        return [instance_of(r) for r in self._c.execute(stmt)]

    def instance_page(self, exercise_id: str, *, offset: int, limit: int) -> Sequence[Instance]:
        stmt = (
            select(INSTANCES)
            .where(INSTANCES.c.exercise_id == exercise_id)
            .order_by(INSTANCES.c.team)
            .offset(offset)
            .limit(limit)
        )
        return [instance_of(r) for r in self._c.execute(stmt)]

    def stage_counts(self, exercise_id: str, *, booking_id: str | None = None) -> Mapping[Stage, int]:
        stmt = _STAGE_COUNTS if booking_id is None else _STAGE_COUNTS_ON_BOOKING
        found = self._c.execute(stmt, {"exercise_id": exercise_id, "booking_id": booking_id})
        return {Stage(stage): int(n) for stage, n in found}

    def instances_on(self, range_id: str, *, stages: Sequence[Stage]) -> Sequence[Instance]:
        stmt = select(INSTANCES).where(
            INSTANCES.c.range_id == range_id, INSTANCES.c.stage.in_([s.value for s in stages])
        )
        return [instance_of(r) for r in self._c.execute(stmt.order_by(INSTANCES.c.id))]

    def known_instance_ids(self, instance_ids: Sequence[str]) -> set[str]:
        if not instance_ids:
            return set()
        stmt = select(INSTANCES.c.id).where(INSTANCES.c.id.in_(list(instance_ids)))
        return set(self._c.scalars(stmt))

    # stage records
    def start_stage(
        self,
        *,
        instance_id: str,
        stage: Stage,
        at: datetime,
        log: Sequence[str] = (),
        finished: StageOutcome | None = None,
    ) -> None:
        params = {
            "record_id": str(uuid.uuid4()),
            "for_instance": instance_id,
            "new_stage": stage.value,
            "new_outcome": (finished or StageOutcome.RUNNING).value,
            "at": at,
            "new_finished": at if finished else None,
            "new_log": log_text(log),
        }
        write_later(self._c, _START_STAGE, params)

    def append_stage_log(self, instance_id: str, lines: Sequence[str]) -> None:
        if not lines:
            return
        write_later(self._c, _APPEND_STAGE_LOG, {"for_instance": instance_id, "added": log_text(lines)})

    def close_running_stage(
        self, instance_id: str, *, outcome: StageOutcome, at: datetime, error: str = ""
    ) -> None:
        values = {"for_instance": instance_id, "new_outcome": outcome.value, "at": at, "new_error": error}
        write_later(self._c, _CLOSE_RUNNING_STAGE, values)

    def stages_of(self, instance_id: str) -> Sequence[StageRecord]:
        stmt = select(STAGES).where(STAGES.c.instance_id == instance_id).order_by(STAGES.c.seq)
        return [_stage(r) for r in self._c.execute(stmt)]

    def stages_of_many(self, instance_ids: Sequence[str]) -> Mapping[str, Sequence[StageRecord]]:
        found: dict[str, list[StageRecord]] = {i: [] for i in instance_ids}
        if not instance_ids:
            return found
        stmt = (
            select(STAGES)
            .where(STAGES.c.instance_id.in_(list(instance_ids)))
            .order_by(STAGES.c.instance_id, STAGES.c.seq)
        )
        for row in self._c.execute(stmt):
            found[row.instance_id].append(_stage(row))
        return found

    # events
    def replace_team_link(
        self, *, instance_id: str, digest: str, prefix: str, created_by: str, at: datetime
    ) -> None:
        for row in self.session.scalars(
            select(TeamLinkRow).where(
                TeamLinkRow.instance_id == instance_id, TeamLinkRow.revoked_at.is_(None)
            )
        ):
            row.revoked_at = at
        self.session.add(
            TeamLinkRow(
                id=str(uuid.uuid4()),
                instance_id=instance_id,
                digest=digest,
                prefix=prefix,
                created_by=created_by,
                created_at=at,
            )
        )
        self.session.flush()

    def instance_for_team_link(self, digest: str) -> Instance | None:
        row = self._c.execute(
            select(INSTANCES)
            .join(TeamLinkRow, TeamLinkRow.instance_id == INSTANCES.c.id)
            .where(TeamLinkRow.digest == digest, TeamLinkRow.revoked_at.is_(None))
        ).first()
        return None if row is None else instance_of(row)

    def add_event(self, event: ExerciseEvent) -> None:
        write_later(self._c, _INSERT_EVENT, values(event))

    def events_of(self, exercise_id: str) -> Sequence[ExerciseEvent]:
        stmt = (
            select(ExerciseEventRow)
            .where(ExerciseEventRow.exercise_id == exercise_id)
            .order_by(ExerciseEventRow.at, ExerciseEventRow.id)
        )
        return [read(ExerciseEvent, r) for r in self.session.scalars(stmt)]


def _exercise_values(e: Exercise) -> dict[str, Any]:
    values: dict[str, Any] = {
        "kind": e.kind.value,
        "name": e.name,
        "owner_organisation_id": e.owner_organisation_id,
        "created_by": e.created_by,
        "scenario_owner": e.scenario.owner,
        "scenario_name": e.scenario.name,
        "scenario_version": e.scenario.version,
        "scenario_digest": e.scenario.digest,
        "start": e.start,
        "end": e.end,
        "lead_seconds": int(e.lead.total_seconds()),
        "warn_seconds": int(e.warn_before_end.total_seconds()),
        "constraints": constraints_to_json(e.constraints, strategy=e.strategy),
        "status": e.status.value,
        "status_reason": e.status_reason,
        "cancelled_by": e.cancelled_by,
        "updated_at": e.updated_at,
    }
    if e.placement is not PLACEMENT_NOT_LOADED:
        values["placement"] = placement_to_json(e.placement)
    return values


def _exercise(row: Row[Any], *, placement: bool = True) -> Exercise:
    constraints, strategy = constraints_from_json(row.constraints)
    return Exercise(
        id=row.id,
        kind=ExerciseKind(row.kind),
        name=row.name,
        owner_organisation_id=row.owner_organisation_id,
        created_by=row.created_by,
        scenario=ScenarioPin(
            owner=row.scenario_owner,
            name=row.scenario_name,
            version=row.scenario_version,
            digest=row.scenario_digest,
        ),
        start=row.start,
        end=row.end,
        lead=timedelta(seconds=row.lead_seconds),
        warn_before_end=timedelta(seconds=row.warn_seconds),
        constraints=constraints,
        strategy=strategy,
        status=ExerciseStatus(row.status),
        status_reason=row.status_reason,
        placement=placement_from_json(row.placement) if placement else PLACEMENT_NOT_LOADED,
        created_at=row.created_at,
        updated_at=row.updated_at,
        cancelled_by=row.cancelled_by,
    )


def _instance_values(i: Instance) -> dict[str, Any]:
    return {
        "exercise_id": i.exercise_id,
        "team": i.team,
        "team_organisation": i.team_organisation,
        "team_country": i.team_country,
        "range_id": i.range_id,
        "booking_id": i.booking_id,
        "stage": i.stage.value,
        "stage_reason": i.stage_reason,
        "failed_stage": None if i.failed_stage is None else i.failed_stage.value,
        "endpoints": [
            {"host": e.host, "port": e.port, "protocol": e.protocol, "address": e.address, "url": e.url}
            for e in i.endpoints
        ],
        "updated_at": i.updated_at,
        "ready_at": i.ready_at,
        "torn_down_at": i.torn_down_at,
    }


def instance_of(row: Row[Any]) -> Instance:
    return Instance(
        id=row.id,
        exercise_id=row.exercise_id,
        team=row.team,
        team_organisation=row.team_organisation,
        team_country=row.team_country,
        range_id=row.range_id,
        booking_id=row.booking_id,
        stage=Stage(row.stage),
        stage_reason=row.stage_reason,
        failed_stage=None if row.failed_stage is None else Stage(row.failed_stage),
        endpoints=tuple(
            Endpoint(
                host=e["host"],
                port=int(e["port"]),
                protocol=e.get("protocol", "TCP"),
                address=e.get("address", ""),
                url=e.get("url", ""),
            )
            for e in row.endpoints
        ),
        created_at=row.created_at,
        updated_at=row.updated_at,
        ready_at=row.ready_at,
        torn_down_at=row.torn_down_at,
    )


def _stage(row: Row[Any]) -> StageRecord:
    return read(StageRecord, row, stage=Stage(row.stage), outcome=StageOutcome(row.outcome))
