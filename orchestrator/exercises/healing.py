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
from orchestrator.booking.requests import BookingItem, BookingRequest
from orchestrator.booking.selection import Selection
from orchestrator.catalogue.health import RangeHealth
from orchestrator.domain.bookings import Purpose
from orchestrator.domain.catalogue import RangeRecord
from orchestrator.domain.errors import Refused
from orchestrator.domain.ranges import RangeStatus
from orchestrator.exercises.events import note
from orchestrator.exercises.lifecycle import Runtime
from orchestrator.exercises.model import Exercise, ExerciseStatus, Instance, Stage
from orchestrator.exercises.placing import owner_of, replace_exercise
from orchestrator.exercises.ports import UnitOfWork
from orchestrator.identity.principals import SYSTEM
from orchestrator.placement.plugins import Plugins

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


def heal(rt: Runtime, plugins: Plugins) -> Healing:
    result = Healing()
    with rt.transactions() as unit:
        scheduled = unit.exercises.list_exercises(
            owner_organisation_id=None, kind=None, statuses=[ExerciseStatus.SCHEDULED.value]
        )
    for exercise in scheduled:
        try:
            with rt.transactions() as unit:
                _heal_exercise(rt, unit, plugins, exercise.id, result)
        except Exception:
            log.exception("healing exercise %s failed; it is tried again at the next tick", exercise.id)
    return result


def _heal_exercise(
    rt: Runtime, unit: UnitOfWork, plugins: Plugins, exercise_id: str, result: Healing
) -> None:
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
    handle = unit.scenarios.pinned(exercise.scenario)
    moving = [i for i in instances if i.id in affected]
    replacement = replace_exercise(
        unit,
        plugins,
        exercise,
        handle,
        instances,
        owner=owner_of(unit, exercise.owner_organisation_id),
        unusable={i.range_id: affected[i.id] for i in moving},
        now=rt.clock.now(),
    )
    # Only the teams healing found affected move; a team the placement rules would also move stays.
    targets = {m.team: m for m in replacement.moves if m.team in {i.team for i in moving}}
    stuck = [i for i in moving if i.team not in targets]
    if stuck:
        why = "; ".join(replacement.reasons or replacement.placement.reasons) or "no eligible range has room"
        _report_stuck(rt, unit, exercise, stuck, affected, why, result)
    moving = [i for i in moving if i.team in targets]
    if not moving:
        return
    count = Counter(targets[i.team].to_range_id for i in moving)
    try:
        booked = unit.booking.create_request(
            SYSTEM,
            BookingRequest(
                items=[
                    BookingItem(range_ref=r, demand=handle.demand.scale(n)) for r, n in sorted(count.items())
                ],
                start=exercise.deploy_at,
                end=exercise.end,
                purpose=Purpose(exercise.kind.value),
                reference=exercise.id,
                hold=False,
                request_id=f"heal:{uuid.uuid4().hex}",
            ),
            owner_organisation_id=exercise.owner_organisation_id,
        )
    except Refused as exc:
        _report_stuck(rt, unit, exercise, moving, affected, "; ".join(exc.reasons), result)
        return
    booking_of = {b.range_id: b.id for b in booked.bookings}
    _shrink_old_bookings(unit, instances, moving, handle.demand)
    now = rt.clock.now()
    for instance in moving:
        target = targets[instance.team]
        unit.exercises.save_instance(
            replace(
                instance,
                range_id=target.to_range_id,
                booking_id=booking_of[target.to_range_id],
                stage_reason="",
                updated_at=now,
            )
        )
        result.moved[instance.id] = target.to_range_slug
        note(
            unit,
            rt.clock,
            exercise.id,
            f"team {instance.team} moved to range {target.to_range_slug}: {affected[instance.id]}",
            level="warning",
        )


def _shrink_old_bookings(
    unit: UnitOfWork, instances: list[Instance], moving: list[Instance], demand: Resources
) -> None:
    """The moved teams' old bookings give their share back: cancelled when no team is left on them,
    reduced by the moved teams' demand otherwise."""
    moved = {i.id for i in moving}
    for booking_id in sorted({i.booking_id for i in moving if i.booking_id}):
        left = [i for i in instances if i.booking_id == booking_id and i.id not in moved]
        if not left:
            unit.booking.cancel(
                SYSTEM, Selection.booking(booking_id), reason="its teams moved to other ranges (healing)"
            )
        else:
            unit.booking.reduce(
                SYSTEM, booking_id, demand=demand.scale(len(left)), reason="some teams moved to other ranges"
            )


def _report_stuck(
    rt: Runtime,
    unit: UnitOfWork,
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
