"""The ExerciseStore port on SQLAlchemy: exercises, team instances, stage records, events."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session, defer

from connectors.base import Endpoint
from orchestrator.catalogue.scenario_facts import ScenarioPin
from orchestrator.db.placement_codec import (
    constraints_from_json,
    constraints_to_json,
    placement_from_json,
    placement_to_json,
)
from orchestrator.db.tables import ExerciseEventRow, ExerciseRow, InstanceRow, StageRow, TeamLinkRow
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
)


class SqlExerciseStore:
    def __init__(self, session: Session) -> None:
        self.session = session

    # exercises
    def add_exercise(self, exercise: Exercise) -> None:
        row = ExerciseRow(id=exercise.id, created_at=exercise.created_at)
        _fill_exercise(row, exercise)
        self.session.add(row)
        self.session.flush()

    def get_exercise(
        self, exercise_id: str, *, lock: bool = False, placement: bool = True
    ) -> Exercise | None:
        # FOR NO KEY UPDATE: the lock the lifecycle serialises on, which still lets other transactions
        # insert rows that refer to the exercise (events, instances) without waiting for it.
        row = self.session.get(
            ExerciseRow,
            exercise_id,
            with_for_update={"key_share": True} if lock else None,
            options=None if placement else [defer(ExerciseRow.placement)],
        )
        return None if row is None else _exercise(row, placement=placement)

    def save_exercise(self, exercise: Exercise) -> None:
        row = self.session.get(ExerciseRow, exercise.id)
        if row is None:
            raise LookupError(exercise.id)
        _fill_exercise(row, exercise)
        self.session.flush()

    def list_exercises(
        self, *, owner_organisation_id: str | None, kind: ExerciseKind | None, statuses: Sequence[str] | None
    ) -> Sequence[Exercise]:
        stmt = select(ExerciseRow).order_by(ExerciseRow.start, ExerciseRow.id)
        if owner_organisation_id is not None:
            stmt = stmt.where(ExerciseRow.owner_organisation_id == owner_organisation_id)
        if kind is not None:
            stmt = stmt.where(ExerciseRow.kind == kind.value)
        if statuses is not None:
            stmt = stmt.where(ExerciseRow.status.in_(list(statuses)))
        return [_exercise(r) for r in self.session.scalars(stmt)]

    # instances
    def add_instance(self, instance: Instance) -> None:
        row = InstanceRow(id=instance.id, created_at=instance.created_at)
        _fill_instance(row, instance)
        self.session.add(row)
        self.session.flush()

    def get_instance(self, instance_id: str, *, lock: bool = False) -> Instance | None:
        row = self.session.get(InstanceRow, instance_id, with_for_update=lock)
        return None if row is None else instance_of(row)

    def exercise_of(self, instance_id: str) -> str | None:
        return self.session.scalar(select(InstanceRow.exercise_id).where(InstanceRow.id == instance_id))

    def save_instance(self, instance: Instance) -> None:
        row = self.session.get(InstanceRow, instance.id)
        if row is None:
            raise LookupError(instance.id)
        _fill_instance(row, instance)
        self.session.flush()

    def instances_of(self, exercise_id: str) -> Sequence[Instance]:
        stmt = select(InstanceRow).where(InstanceRow.exercise_id == exercise_id).order_by(InstanceRow.team)
        return [instance_of(r) for r in self.session.scalars(stmt)]

    def instance_page(self, exercise_id: str, *, offset: int, limit: int) -> Sequence[Instance]:
        stmt = (
            select(InstanceRow)
            .where(InstanceRow.exercise_id == exercise_id)
            .order_by(InstanceRow.team)
            .offset(offset)
            .limit(limit)
        )
        return [instance_of(r) for r in self.session.scalars(stmt)]

    def stage_counts(self, exercise_id: str, *, booking_id: str | None = None) -> Mapping[Stage, int]:
        stmt = (
            select(InstanceRow.stage, func.count())
            .where(InstanceRow.exercise_id == exercise_id)
            .group_by(InstanceRow.stage)
        )
        if booking_id is not None:
            stmt = stmt.where(InstanceRow.booking_id == booking_id)
        return {Stage(stage): int(n) for stage, n in self.session.execute(stmt)}

    def instances_on(self, range_id: str, *, stages: Sequence[Stage]) -> Sequence[Instance]:
        stmt = select(InstanceRow).where(
            InstanceRow.range_id == range_id, InstanceRow.stage.in_([s.value for s in stages])
        )
        return [instance_of(r) for r in self.session.scalars(stmt.order_by(InstanceRow.id))]

    def known_instance_ids(self, instance_ids: Sequence[str]) -> set[str]:
        if not instance_ids:
            return set()
        stmt = select(InstanceRow.id).where(InstanceRow.id.in_(list(instance_ids)))
        return set(self.session.scalars(stmt))

    # stage records: written with single statements (no ORM objects), they are the lifecycle's hot path
    def start_stage(self, *, instance_id: str, stage: Stage, at: datetime) -> StageRecord:
        seq, attempt = self.session.execute(
            select(
                func.coalesce(func.max(StageRow.seq), 0),
                func.count().filter(StageRow.stage == stage.value),
            ).where(StageRow.instance_id == instance_id)
        ).one()
        record = StageRecord(
            id=str(uuid.uuid4()),
            instance_id=instance_id,
            stage=stage,
            attempt=int(attempt or 0) + 1,
            outcome=StageOutcome.RUNNING,
            started_at=at,
            finished_at=None,
            error="",
            log="",
        )
        self.session.execute(
            insert(StageRow).values(
                id=record.id,
                instance_id=instance_id,
                seq=int(seq or 0) + 1,
                stage=stage.value,
                attempt=record.attempt,
                outcome=record.outcome.value,
                started_at=at,
                finished_at=None,
                error="",
                log="",
            )
        )
        return record

    def append_stage_log(self, record_id: str, lines: Sequence[str]) -> None:
        if not lines:
            return
        added = "".join(line.rstrip("\n") + "\n" for line in lines)
        self.session.execute(
            update(StageRow)
            .where(StageRow.id == record_id)
            .values(log=StageRow.log + added)
            .execution_options(synchronize_session=False)
        )

    def finish_stage(self, record_id: str, *, outcome: StageOutcome, at: datetime, error: str = "") -> None:
        self.session.execute(
            update(StageRow)
            .where(StageRow.id == record_id)
            .values(outcome=outcome.value, finished_at=at, error=error)
            .execution_options(synchronize_session=False)
        )

    def close_running_stage(
        self, instance_id: str, *, outcome: StageOutcome, at: datetime, error: str = ""
    ) -> None:
        latest = select(func.max(StageRow.seq)).where(StageRow.instance_id == instance_id).scalar_subquery()
        self.session.execute(
            update(StageRow)
            .where(
                StageRow.instance_id == instance_id,
                StageRow.seq == latest,
                StageRow.outcome == StageOutcome.RUNNING.value,
            )
            .values(outcome=outcome.value, finished_at=at, error=error)
            .execution_options(synchronize_session=False)
        )

    def last_stage_id(self, instance_id: str) -> str | None:
        stmt = (
            select(StageRow.id)
            .where(StageRow.instance_id == instance_id)
            .order_by(StageRow.seq.desc())
            .limit(1)
        )
        return self.session.scalar(stmt)

    def stages_of(self, instance_id: str) -> Sequence[StageRecord]:
        stmt = select(StageRow).where(StageRow.instance_id == instance_id).order_by(StageRow.seq)
        return [_stage(r) for r in self.session.scalars(stmt.execution_options(populate_existing=True))]

    def stages_of_many(self, instance_ids: Sequence[str]) -> Mapping[str, Sequence[StageRecord]]:
        found: dict[str, list[StageRecord]] = {i: [] for i in instance_ids}
        if not instance_ids:
            return found
        stmt = (
            select(StageRow)
            .where(StageRow.instance_id.in_(list(instance_ids)))
            .order_by(StageRow.instance_id, StageRow.seq)
            .execution_options(populate_existing=True)
        )
        for row in self.session.scalars(stmt):
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
        row = self.session.scalars(
            select(InstanceRow)
            .join(TeamLinkRow, TeamLinkRow.instance_id == InstanceRow.id)
            .where(TeamLinkRow.digest == digest, TeamLinkRow.revoked_at.is_(None))
        ).first()
        return None if row is None else instance_of(row)

    def add_event(self, event: ExerciseEvent) -> None:
        self.session.add(
            ExerciseEventRow(
                id=event.id,
                exercise_id=event.exercise_id,
                at=event.at,
                level=event.level,
                message=event.message,
            )
        )
        self.session.flush()

    def events_of(self, exercise_id: str) -> Sequence[ExerciseEvent]:
        stmt = (
            select(ExerciseEventRow)
            .where(ExerciseEventRow.exercise_id == exercise_id)
            .order_by(ExerciseEventRow.at, ExerciseEventRow.id)
        )
        return [
            ExerciseEvent(id=r.id, exercise_id=r.exercise_id, at=r.at, level=r.level, message=r.message)
            for r in self.session.scalars(stmt)
        ]


def _fill_exercise(row: ExerciseRow, e: Exercise) -> None:
    row.kind = e.kind.value
    row.name = e.name
    row.owner_organisation_id = e.owner_organisation_id
    row.created_by = e.created_by
    row.scenario_owner = e.scenario.owner
    row.scenario_name = e.scenario.name
    row.scenario_version = e.scenario.version
    row.scenario_digest = e.scenario.digest
    row.start = e.start
    row.end = e.end
    row.lead_seconds = int(e.lead.total_seconds())
    row.warn_seconds = int(e.warn_before_end.total_seconds())
    row.constraints = constraints_to_json(e.constraints, strategy=e.strategy)
    row.status = e.status.value
    row.status_reason = e.status_reason
    row.cancelled_by = e.cancelled_by
    if e.placement is not PLACEMENT_NOT_LOADED:
        row.placement = placement_to_json(e.placement)
    row.updated_at = e.updated_at


def _exercise(row: ExerciseRow, *, placement: bool = True) -> Exercise:
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


def _fill_instance(row: InstanceRow, i: Instance) -> None:
    row.exercise_id = i.exercise_id
    row.team = i.team
    row.team_organisation = i.team_organisation
    row.team_country = i.team_country
    row.range_id = i.range_id
    row.booking_id = i.booking_id
    row.stage = i.stage.value
    row.stage_reason = i.stage_reason
    row.failed_stage = None if i.failed_stage is None else i.failed_stage.value
    row.endpoints = [
        {"host": e.host, "port": e.port, "protocol": e.protocol, "address": e.address, "url": e.url}
        for e in i.endpoints
    ]
    row.updated_at = i.updated_at
    row.ready_at = i.ready_at
    row.torn_down_at = i.torn_down_at


def instance_of(row: InstanceRow) -> Instance:
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


def _stage(row: StageRow) -> StageRecord:
    return StageRecord(
        id=row.id,
        instance_id=row.instance_id,
        stage=Stage(row.stage),
        attempt=row.attempt,
        outcome=StageOutcome(row.outcome),
        started_at=row.started_at,
        finished_at=row.finished_at,
        error=row.error,
        log=row.log,
    )
