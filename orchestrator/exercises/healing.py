"""Healing: before an exercise deploys, move the teams booked on ranges that became unusable.

A range is unusable for an exercise when it went into maintenance (status, or a maintenance window that
overlaps the booked window), is draining or decommissioned, or failed its last probe. The affected teams
are re-placed (the others stay where they are), the new bookings are made atomically, the old ones
cancelled, and the trainer is told what moved, or why nothing could.
"""

from __future__ import annotations

import logging
import uuid
from collections import Counter
from dataclasses import dataclass, field, replace

from connectors.base import Resources
from orchestrator.catalogue.health import RangeHealth
from orchestrator.domain.catalogue import RangeRecord
from orchestrator.domain.errors import Refused
from orchestrator.domain.ranges import RangeStatus
from orchestrator.exercises.events import note
from orchestrator.exercises.lifecycle import Runtime
from orchestrator.exercises.model import Exercise, ExerciseStatus, Instance, Stage, TeamDraft
from orchestrator.exercises.planning import PlacementAsk, Placer, candidates, demand_of
from orchestrator.exercises.ports import Unit
from orchestrator.identity.principals import SYSTEM

log = logging.getLogger(__name__)

_CANNOT_MOVE = "cannot move: "


@dataclass
class Healing:
    moved: dict[str, str] = field(default_factory=dict)  # instance id -> new range slug
    stuck: dict[str, str] = field(default_factory=dict)  # instance id -> reason


def unusable_reason(record: RangeRecord | None, health: RangeHealth | None, exercise: Exercise) -> str | None:
    """Why this range can no longer host the exercise's teams, or None if it still can."""
    if record is None:
        return "the range no longer exists"
    if record.status is not RangeStatus.ACTIVE:
        return f"range {record.slug} is {record.status.value}"
    for m in record.maintenance:
        if m.window.start < exercise.end and exercise.deploy_at < m.window.end:
            why = f": {m.window.reason}" if m.window.reason else ""
            span = f"{m.window.start.isoformat()} - {m.window.end.isoformat()}"
            return f"range {record.slug} has maintenance {span}{why}"
    if health is not None and not health.healthy:
        return f"range {record.slug} failed its probe: {health.reason}"
    return None


def heal(rt: Runtime, placer: Placer) -> Healing:
    result = Healing()
    with rt.transactions() as unit:
        scheduled = unit.exercises.list_exercises(
            owner_organisation_id=None, kind=None, statuses=[ExerciseStatus.SCHEDULED.value]
        )
    for exercise in scheduled:
        try:
            with rt.transactions() as unit:
                _heal_exercise(rt, unit, placer, exercise.id, result)
        except Exception:
            log.exception("healing exercise %s failed; it is tried again at the next tick", exercise.id)
    return result


def _heal_exercise(rt: Runtime, unit: Unit, placer: Placer, exercise_id: str, result: Healing) -> None:
    exercise = unit.exercises.get_exercise(exercise_id, lock=True)
    if exercise is None or exercise.status is not ExerciseStatus.SCHEDULED:
        return
    instances = list(unit.exercises.instances_of(exercise.id))
    records = {i.range_id: unit.catalogue.get_range(i.range_id) for i in instances}
    health = unit.catalogue.health_of(sorted(records))
    affected: dict[str, str] = {}
    for instance in instances:
        if instance.stage is not Stage.BOOKED:
            continue
        reason = unusable_reason(records[instance.range_id], health.get(instance.range_id), exercise)
        if reason is not None:
            affected[instance.id] = reason
    for instance in instances:
        if instance.id not in affected and instance.stage_reason.startswith(_CANNOT_MOVE):
            unit.exercises.save_instance(replace(instance, stage_reason="", updated_at=rt.clock.now()))
            note(unit, rt.clock, exercise.id, f"team {instance.team}: its range is usable again")
    if not affected:
        return
    handle = unit.scenarios.resolve(exercise.scenario_ref)
    moving = [i for i in instances if i.id in affected]
    constraints = replace(
        exercise.constraints,
        capabilities=exercise.constraints.capabilities | set(handle.scenario.spec.requires),
    )
    owner_country = _owner_country(unit, exercise)
    ask = PlacementAsk(
        teams=[
            TeamDraft(name=i.team, organisation=i.team_organisation, country=i.team_country)
            for i in instances
        ],
        demand=demand_of(handle),
        candidates=candidates(
            unit,
            start=exercise.deploy_at,
            end=exercise.end,
            owner_organisation_id=exercise.owner_organisation_id,
            owner_country=owner_country,
        ),
        constraints=constraints,
        owner_organisation_id=exercise.owner_organisation_id,
        owner_country=owner_country,
        start=exercise.deploy_at,
        end=exercise.end,
        now=rt.clock.now(),
        exercise=exercise.name,
        current={i.team: i.range_id for i in instances},
        unusable={i.range_id: affected[i.id] for i in moving},
    )
    plan = placer(ask)
    targets = {
        a.team: a
        for a in plan.assignments
        if a.team in {i.team for i in moving} and a.range_id not in {i.range_id for i in moving}
    }
    stuck = [i for i in moving if i.team not in targets]
    if stuck:
        why = "; ".join(plan.reasons) or "no eligible range has room"
        _report_stuck(rt, unit, exercise, stuck, affected, why, result)
    moving = [i for i in moving if i.team in targets]
    if not moving:
        return
    count = Counter(targets[i.team].range_id for i in moving)
    new_ranges = sorted(count)
    try:
        booking_ids = unit.bookings.book(
            SYSTEM,
            owner_organisation_id=exercise.owner_organisation_id,
            items=[(r, ask.demand.scale(count[r])) for r in new_ranges],
            start=exercise.deploy_at,
            end=exercise.end,
            purpose=exercise.kind.value,
            reference=exercise.id,
            request_id=f"heal:{uuid.uuid4().hex}",
        )
    except Refused as exc:
        _report_stuck(rt, unit, exercise, moving, affected, "; ".join(exc.reasons), result)
        return
    booking_of = dict(zip(new_ranges, booking_ids, strict=True))
    _shrink_old_bookings(unit, instances, moving, ask.demand)
    now = rt.clock.now()
    for instance in moving:
        target = targets[instance.team]
        unit.exercises.save_instance(
            replace(
                instance,
                range_id=target.range_id,
                booking_id=booking_of[target.range_id],
                stage_reason="",
                updated_at=now,
            )
        )
        result.moved[instance.id] = target.range_slug
        note(
            unit,
            rt.clock,
            exercise.id,
            f"team {instance.team} moved to range {target.range_slug}: {affected[instance.id]}",
            level="warning",
        )


def _shrink_old_bookings(
    unit: Unit, instances: list[Instance], moving: list[Instance], demand: Resources
) -> None:
    """The moved teams' old bookings give their share back: cancelled when no team is left on them,
    reduced by the moved teams' demand otherwise."""
    moved = {i.id for i in moving}
    for booking_id in sorted({i.booking_id for i in moving if i.booking_id}):
        left = [i for i in instances if i.booking_id == booking_id and i.id not in moved]
        if not left:
            unit.bookings.cancel(SYSTEM, [booking_id], reason="its teams moved to other ranges (healing)")
        else:
            unit.bookings.reduce(
                SYSTEM, booking_id, demand=demand.scale(len(left)), reason="some teams moved to other ranges"
            )


def _owner_country(unit: Unit, exercise: Exercise) -> str:
    org = unit.catalogue.get_organisation(exercise.owner_organisation_id)
    return "" if org is None else org.country


def _report_stuck(
    rt: Runtime,
    unit: Unit,
    exercise: Exercise,
    moving: list[Instance],
    affected: dict[str, str],
    why: str,
    result: Healing,
) -> None:
    now = rt.clock.now()
    for instance in moving:
        reason = f"{_CANNOT_MOVE}{affected[instance.id]}; no other range can take it: {why}"
        result.stuck[instance.id] = reason
        if instance.stage_reason == reason:
            continue  # already told
        unit.exercises.save_instance(replace(instance, stage_reason=reason, updated_at=now))
        note(unit, rt.clock, exercise.id, f"team {instance.team}: {reason}", level="error")
