"""Healing: move the teams booked on ranges that became unusable, or whose range refused their deploy.

Before an exercise deploys, a range is unusable for it when it went into maintenance (status, or a
maintenance window that overlaps the booked window), is draining or decommissioned, or failed its last
probe. Once it deploys, a team whose deploy its range refused (a peer that re-validated the scenario
against its own allowance and said no) has failed with the range's reason; it is re-placed on another
of this instance's own ranges (a peer's range would need a hold at the peer first: the hub's two-phase
booking), never on one that refused this exercise before, and deployed there. Either way the affected
teams are re-placed (the others stay where they are), the new bookings are made atomically, the old
ones given back (or shrunk), and the trainer is told what moved, or why nothing could.
"""

from __future__ import annotations

import logging
import uuid
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import datetime

from connectors.base import Resources
from orchestrator.booking.requests import BookingItem, BookingRequest
from orchestrator.booking.selection import Selection
from orchestrator.catalogue.health import RangeHealth
from orchestrator.catalogue.scenario_facts import ScenarioHandle
from orchestrator.domain.bookings import BookingStatus, Purpose
from orchestrator.domain.catalogue import RangeRecord
from orchestrator.domain.errors import Refused
from orchestrator.domain.ranges import RangeStatus
from orchestrator.exercises import schedule
from orchestrator.exercises.events import note
from orchestrator.exercises.lifecycle import REFUSED_BY, Runtime, booking_status
from orchestrator.exercises.model import Exercise, ExerciseKind, ExerciseStatus, Instance, Stage
from orchestrator.exercises.placing import owner_of, replace_exercise
from orchestrator.exercises.ports import UnitOfWork
from orchestrator.identity.principals import SYSTEM
from orchestrator.placement.plugins import Plugins
from orchestrator.placement.replace import Move

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
    with rt.transactions() as unit:
        live = [
            e.id
            for e in unit.exercises.list_exercises(
                owner_organisation_id=None,
                kind=None,
                statuses=[ExerciseStatus.DEPLOYING.value, ExerciseStatus.RUNNING.value],
            )
            if e.kind is not ExerciseKind.POOL and unit.exercises.stage_counts(e.id).get(Stage.FAILED)
        ]
    for exercise_id in live:
        try:
            with rt.transactions() as unit:
                _heal_refused(rt, unit, plugins, exercise_id, result)
        except Exception:
            log.exception("re-placing refused teams of %s failed; tried again at the next tick", exercise_id)
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
    targets, why = _targets(
        unit, plugins, exercise, handle, instances, moving, {i.range_id: affected[i.id] for i in moving}, rt
    )
    stuck = [i for i in moving if i.team not in targets]
    if stuck:
        _report_stuck(rt, unit, exercise, stuck, affected, why, result)
    moving = [i for i in moving if i.team in targets]
    if not moving:
        return
    try:
        booking_of = _book(unit, exercise, handle.demand, moving, targets, start=exercise.deploy_at)
    except Refused as exc:
        _report_stuck(rt, unit, exercise, moving, affected, "; ".join(exc.reasons), result)
        return
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
        _moved(rt, unit, exercise, instance, target.to_range_slug, affected[instance.id], result)


def _targets(
    unit: UnitOfWork,
    plugins: Plugins,
    exercise: Exercise,
    handle: ScenarioHandle,
    instances: list[Instance],
    moving: list[Instance],
    unusable: dict[str, str],
    rt: Runtime,
) -> tuple[dict[str, Move], str]:
    """Where the `moving` teams go (team -> move), off the `unusable` ranges (and onto none of them),
    and why the others cannot. Only those teams move; a team the placement rules would also move stays."""
    replacement = replace_exercise(
        unit,
        plugins,
        exercise,
        handle,
        instances,
        owner=owner_of(unit, exercise.owner_organisation_id),
        unusable=unusable,
        now=rt.clock.now(),
    )
    teams = {i.team for i in moving}
    why = "; ".join(replacement.reasons or replacement.placement.reasons) or "no eligible range has room"
    return {m.team: m for m in replacement.moves if m.team in teams}, why


def _book(
    unit: UnitOfWork,
    exercise: Exercise,
    demand: Resources,
    moving: list[Instance],
    targets: dict[str, Move],
    *,
    start: datetime,
) -> dict[str, str]:
    """One booking request (all or nothing) for the moving teams on their new ranges: range id ->
    booking id. Raises Refused with the ranges' reasons."""
    count = Counter(targets[i.team].to_range_id for i in moving)
    booked = unit.booking.create_request(
        SYSTEM,
        BookingRequest(
            items=[BookingItem(range_ref=r, demand=demand.scale(n)) for r, n in sorted(count.items())],
            start=start,
            end=exercise.end,
            purpose=Purpose(exercise.kind.value),
            reference=exercise.id,
            hold=False,
            request_id=f"heal:{uuid.uuid4().hex}",
            new_request=True,
        ),
        owner_organisation_id=exercise.owner_organisation_id,
    )
    return {b.range_id: b.id for b in booked.bookings}


def _moved(
    rt: Runtime,
    unit: UnitOfWork,
    exercise: Exercise,
    instance: Instance,
    slug: str,
    why: str,
    result: Healing,
) -> None:
    result.moved[instance.id] = slug
    note(unit, rt.clock, exercise.id, f"team {instance.team} moved to range {slug}: {why}", level="warning")


def refused_range(reason: str) -> str | None:
    """The slug of the range that refused a deploy, from the stage reason lifecycle.deploy wrote
    ("refused by range '<slug>': <the range's words>"); None for any other failure."""
    head = f"{REFUSED_BY} '"
    if not reason.startswith(head):
        return None
    slug, quote, _ = reason[len(head) :].partition("'")
    return slug if quote else None


def _heal_refused(rt: Runtime, unit: UnitOfWork, plugins: Plugins, exercise_id: str, result: Healing) -> None:
    """Re-place the teams of a deploying or running exercise whose deploy their range refused."""
    now = rt.clock.now()
    exercise = unit.exercises.get_exercise(exercise_id, lock=True)
    if exercise is None or exercise.status not in (ExerciseStatus.DEPLOYING, ExerciseStatus.RUNNING):
        return
    if now >= exercise.end:
        return
    instances = list(unit.exercises.instances_of(exercise.id))
    refused = {
        i.id: i.stage_reason
        for i in instances
        if i.stage is Stage.FAILED
        and i.failed_stage is Stage.DEPLOYING
        and refused_range(i.stage_reason) is not None
    }
    if not refused:
        return
    # Every range that refused a team of this exercise (its scenario) before is not tried again.
    unusable: dict[str, str] = {}
    for record in unit.exercises.stages_of_many([i.id for i in instances]).values():
        for stage in record:
            slug = refused_range(stage.error)
            found = None if slug is None else unit.catalogue.get_range(slug)
            if found is not None:
                unusable.setdefault(found.id, stage.error)
    for instance in instances:
        if instance.id in refused:
            unusable.setdefault(instance.range_id, refused[instance.id])
    handle = unit.scenarios.pinned(exercise.scenario)
    moving = [i for i in instances if i.id in refused]
    targets, why = _targets(unit, plugins, exercise, handle, instances, moving, unusable, rt)
    stuck = [i for i in moving if i.team not in targets]
    moving = [i for i in moving if i.team in targets]
    if moving:
        try:
            booking_of = _book(
                unit, exercise, handle.demand, moving, targets, start=max(now, exercise.deploy_at)
            )
        except Refused as exc:
            stuck, moving, why = stuck + moving, [], "; ".join(exc.reasons)
    for instance in stuck:
        # The stage keeps the range's reason unchanged; the trainer is told once why it cannot move.
        result.stuck[instance.id] = f"{_CANNOT_MOVE}{refused[instance.id]}; no other range can take it: {why}"
        _tell_once(rt, unit, exercise, f"team {instance.team}: {result.stuck[instance.id]}")
    if not moving:
        return
    _shrink_old_bookings(unit, instances, moving, handle.demand)
    for instance in moving:
        target = targets[instance.team]
        moved = replace(
            instance,
            range_id=target.to_range_id,
            booking_id=booking_of[target.to_range_id],
            updated_at=now,
        )
        unit.exercises.save_instance(moved)
        schedule.schedule_deploy(unit.actions, moved, at=now, now=now)
        _moved(rt, unit, exercise, instance, target.to_range_slug, refused[instance.id], result)


def _tell_once(rt: Runtime, unit: UnitOfWork, exercise: Exercise, message: str) -> None:
    if not any(e.message == message for e in unit.exercises.events_of(exercise.id)):
        note(unit, rt.clock, exercise.id, message, level="error")


def _shrink_old_bookings(
    unit: UnitOfWork, instances: list[Instance], moving: list[Instance], demand: Resources
) -> None:
    """The moved teams' old bookings give their share back: cancelled when no team is left on them,
    reduced by the moved teams' demand otherwise."""
    moved = {i.id for i in moving}
    for booking_id in sorted({i.booking_id for i in moving if i.booking_id}):
        left = [
            i
            for i in instances
            if i.booking_id == booking_id and i.id not in moved and i.stage is not Stage.DONE
        ]
        if not left:
            # deployed on: released, not cancelled
            if booking_status(unit, booking_id) is BookingStatus.ACTIVE:
                unit.booking.release(SYSTEM, Selection.booking(booking_id))
            else:
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
