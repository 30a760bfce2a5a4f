"""The due-action handlers that deploy, provision and tear down team instances.

Each handler is idempotent (a crashed process's action is claimed again once its lease lapses) and
talks to the range only between short transactions: read and mark what it is about to do, call the
connector, record what happened. A deploy whose instance was torn down meanwhile undoes itself.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from connectors.base import (
    ConnectorError,
    ConnectorRefusal,
    InstanceSpec,
    InstanceStatus,
    Phase,
)
from connectors.provisioning import Provisioner
from orchestrator.booking.selection import Selection
from orchestrator.catalogue.scenario_facts import ScenarioHandle
from orchestrator.domain.bookings import BookingStatus
from orchestrator.domain.catalogue import RangeRecord
from orchestrator.domain.clock import Clock
from orchestrator.domain.errors import Conflict, NotFound
from orchestrator.exercises import schedule
from orchestrator.exercises.events import note
from orchestrator.exercises.model import (
    EXERCISE_MACHINE,
    Exercise,
    ExerciseKind,
    ExerciseStatus,
    Instance,
    Stage,
)
from orchestrator.exercises.ports import (
    ConnectorFactory,
    InstanceValues,
    Transactions,
    UnitOfWork,
)
from orchestrator.exercises.stages import (
    StageLog,
    enter,
    fail,
    locked,
    locked_instance,
    log_lines,
    settle_exercise,
    stamp,
)
from orchestrator.identity.principals import SYSTEM

log = logging.getLogger(__name__)

#: How a deploy a range refused begins its stage reason, the range's words following unchanged (healing
#: re-places such a team on another range: exercises.healing).
REFUSED_BY = "refused by range"
_DEPLOYABLE = frozenset({Stage.BOOKED, Stage.DEPLOYING, Stage.FAILED, Stage.READY})
_OVER = frozenset({ExerciseStatus.TEARING_DOWN, ExerciseStatus.DONE, ExerciseStatus.CANCELLED})


@dataclass(frozen=True, kw_only=True)
class Runtime:
    """Everything a lifecycle handler needs (one context object for jobs)."""

    transactions: Transactions
    clock: Clock
    connectors: ConnectorFactory
    values: InstanceValues
    #: The document a connector deploys (the booked one, built images pinned to their content tags).
    deployable: Callable[[ScenarioHandle], str]
    provisioner: Provisioner | None = None
    ready_timeout: float = 600.0


@dataclass(frozen=True, kw_only=True)
class _Work:
    instance: Instance
    exercise: Exercise
    range: RangeRecord
    handle: ScenarioHandle


class RetryLater(Exception):
    """A transient failure: the due action is retried with backoff (the reason is in the stage log)."""


def instance_spec(rt: Runtime, work: _Work) -> InstanceSpec:
    return InstanceSpec(
        instance_id=work.instance.id,
        exercise=work.exercise.id,
        team=work.instance.team,
        scenario_document=rt.deployable(work.handle),
        values=rt.values(work.handle, work.instance.id),
        allowance=work.range.policy.allowance(),
    )


def _range_of(unit: UnitOfWork, instance: Instance) -> RangeRecord:
    record = unit.catalogue.get_range(instance.range_id)
    if record is None:
        raise LookupError(f"instance {instance.id} lost its range")
    return record


def _refuse(rt: Runtime, unit: UnitOfWork, instance: Instance, exercise: Exercise, reason: str) -> None:
    """The instance cannot be deployed at all (its booking, its scenario): it fails with the reason."""
    now = rt.clock.now()
    if instance.stage is Stage.BOOKED:
        instance = enter(unit, instance, Stage.DEPLOYING, now=now)
    fail(unit, instance, reason, now=now)
    note(unit, rt.clock, exercise.id, f"team {instance.team}: {reason}", level="error")


def booking_status(unit: UnitOfWork, booking_id: str) -> BookingStatus | None:
    """The status of an instance's booking; None if it no longer exists (read from the booking store:
    the system sees every booking, no visibility check to make)."""
    booking = unit.booking.store.get_booking(booking_id)
    return None if booking is None else booking.status


# -- deploy ------------------------------------------------------------------------------------------
def _begin_deploy(rt: Runtime, instance_id: str, *, provision_only: bool) -> _Work | None:
    now = rt.clock.now()
    with rt.transactions() as unit:
        found = locked(unit, instance_id, step=True)
        if found is None:
            return None
        exercise, instance = found
        record = _range_of(unit, instance)
        if exercise.status in _OVER or now >= exercise.end:
            log.info("not deploying %s: exercise %s is %s", instance_id, exercise.id, exercise.status.value)
            return None
        wanted = Stage.PROVISIONING if provision_only else Stage.DEPLOYING
        if instance.stage not in _DEPLOYABLE | {Stage.PROVISIONING}:
            return None
        try:
            handle = unit.scenarios.pinned(exercise.scenario)
        except (NotFound, Conflict) as exc:
            _refuse(rt, unit, instance, exercise, exc.reason)
            return None
        booking_id = instance.booking_id
        if booking_id:
            status = booking_status(unit, booking_id)
            if status not in (BookingStatus.CONFIRMED, BookingStatus.ACTIVE):
                reason = (
                    f"the booking on range '{record.slug}' awaits the operator's approval"
                    if status is BookingStatus.PENDING_APPROVAL
                    else f"the booking on range '{record.slug}' is {status.value if status else 'missing'}"
                )
                _refuse(rt, unit, instance, exercise, reason)
                return None
            if status is BookingStatus.CONFIRMED:
                unit.booking.activate(SYSTEM, Selection.booking(booking_id))
        instance = enter(
            unit, instance, wanted, now=now, log=[stamp(rt.clock, f"{wanted.value} on range {record.slug}")]
        )
        work = _Work(instance=instance, exercise=exercise, range=record, handle=handle)
    if exercise.status in (ExerciseStatus.SCHEDULED, ExerciseStatus.RUNNING) and not provision_only:
        _settle(rt, exercise.id)  # the first team's deploy (or a redeploy): the exercise is deploying
    return work


def _still_wanted(rt: Runtime, instance_id: str, stage: Stage) -> bool:
    with rt.transactions() as unit:
        instance = unit.exercises.get_instance(instance_id)
        return instance is not None and instance.stage is stage


def _record_failure(rt: Runtime, work: _Work, reason: str) -> None:
    now = rt.clock.now()
    with rt.transactions() as unit:
        instance = locked_instance(unit, work.instance.id, step=True)
        if instance is None or instance.stage not in (Stage.DEPLOYING, Stage.PROVISIONING):
            return
        log_lines(unit, instance.id, [stamp(rt.clock, f"failed: {reason}")])
        fail(unit, instance, reason, now=now)
        note(
            unit,
            rt.clock,
            work.exercise.id,
            f"team {instance.team} on {work.range.slug}: {reason}",
            level="error",
        )
    _settle(rt, work.exercise.id)


def deploy(
    rt: Runtime, instance_id: str, *, final_attempt: bool = True, provision_only: bool = False
) -> None:
    """Deploy a team's instance, wait until it is ready, run its provisioning playbooks."""
    work = _begin_deploy(rt, instance_id, provision_only=provision_only)
    if work is None:
        return
    connector = rt.connectors(work.range)
    spec = instance_spec(rt, work)
    if not provision_only:
        try:
            connector.deploy(instance=spec)
            if not _still_wanted(rt, instance_id, Stage.DEPLOYING):
                connector.teardown(instance_id=instance_id)  # torn down while we deployed: undo
                return
            status = connector.wait_ready(instance_id=instance_id, timeout=rt.ready_timeout)
        except ConnectorRefusal as exc:
            _record_failure(rt, work, f"{REFUSED_BY} '{work.range.slug}': {exc.reason}")
            return
        except ConnectorError as exc:
            if exc.retryable and not final_attempt:
                with rt.transactions() as unit:
                    log_lines(
                        unit, instance_id, [stamp(rt.clock, f"transient error, retrying: {exc.reason}")]
                    )
                raise RetryLater(exc.reason) from exc
            _record_failure(rt, work, exc.reason)
            return
        if status.phase is not Phase.READY:
            _record_failure(rt, work, status.reason or f"instance is {status.phase.value}")
            return
    else:
        status = connector.status(instance_id=instance_id)
        if status.phase is not Phase.READY:
            _record_failure(
                rt, work, f"cannot provision: instance is {status.phase.value} {status.reason}".strip()
            )
            return
    if work.handle.facts.provisioning:
        if not provision_only:
            with rt.transactions() as unit:
                instance = locked_instance(unit, instance_id, step=True)
                if instance is None or instance.stage is not Stage.DEPLOYING:
                    return
                enter(unit, instance, Stage.PROVISIONING, now=rt.clock.now())
        if rt.provisioner is None:
            _record_failure(rt, work, "provisioning: this orchestrator has no provisioner configured")
            return
        sink = StageLog(rt.transactions, instance_id)
        try:
            outcome = rt.provisioner.provision(
                scenario_document=rt.deployable(work.handle),
                base_dir=work.handle.base_dir,
                target=connector.provisioning_target(instance_id=instance_id),
                values=spec.values,
                instance_id=instance_id,
                on_event=sink,
            )
        except ConnectorError as exc:
            sink.flush()
            _record_failure(rt, work, f"provisioning: {exc.reason}")
            return
        if not outcome.ok:
            sink.flush()
            _record_failure(rt, work, f"provisioning failed: {outcome.error}")
            return
        _finish_ready(rt, work, status, provisioning_log=sink.take())
        return
    _finish_ready(rt, work, status)


def _finish_ready(
    rt: Runtime, work: _Work, status: InstanceStatus, *, provisioning_log: Sequence[str] = ()
) -> None:
    """Ready: in one transaction, the provisioning log's last lines, the stage, the endpoints, the
    exercise settled."""
    now = rt.clock.now()
    with rt.transactions() as unit:
        instance = locked_instance(unit, work.instance.id, step=True)
        if instance is None or instance.stage not in (Stage.DEPLOYING, Stage.PROVISIONING):
            return
        if provisioning_log:
            log_lines(unit, instance.id, provisioning_log)
        enter(
            unit,
            replace(instance, endpoints=status.endpoints),
            Stage.READY,
            now=now,
            log=[stamp(rt.clock, "ready")],
        )
    _settle(rt, work.exercise.id)


def _settle(rt: Runtime, exercise_id: str, *, released: Instance | None = None) -> None:
    """After a team's step, in a transaction of its own under the exercise's lock (for update): the
    exercise's status derived from its instances, and the booking of a torn-down instance (`released`)
    given back if no instance on it is still up. Run after the step committed, it sees that step and
    every one committed before it, so the last step of an exercise always settles it."""
    with rt.transactions() as unit:
        settle_exercise(unit, exercise_id, now=rt.clock.now())  # takes the lock
        if released is not None:
            release_if_unused(unit, released)


# -- teardown ----------------------------------------------------------------------------------------
def release_if_unused(unit: UnitOfWork, instance: Instance) -> None:
    """Release the instance's booking once no instance of its exercise on that booking is still up
    (the teams of an exercise on one range share one booking); one count decides, nothing is loaded."""
    booking_id = instance.booking_id
    if not booking_id:
        return
    sharing = unit.exercises.stage_counts(instance.exercise_id, booking_id=booking_id)
    if not any(n for stage, n in sharing.items() if stage is not Stage.DONE):
        status = booking_status(unit, booking_id)
        if status in (BookingStatus.ACTIVE, BookingStatus.CONFIRMED):
            unit.booking.release(SYSTEM, Selection.booking(booking_id))
        elif status in (BookingStatus.HELD, BookingStatus.PENDING_APPROVAL):
            unit.booking.cancel(
                SYSTEM, Selection.booking(booking_id), reason="the exercise no longer needs it"
            )


def teardown_exercise(rt: Runtime, exercise_id: str) -> None:
    """The window ended (or the exercise was cancelled): tear every instance down."""
    now = rt.clock.now()
    with rt.transactions() as unit:
        exercise = unit.exercises.get_exercise(exercise_id, lock=True)
        if exercise is None or exercise.status in (ExerciseStatus.DONE, ExerciseStatus.CANCELLED):
            return
        if exercise.status is not ExerciseStatus.TEARING_DOWN:
            exercise = replace(
                exercise,
                status=EXERCISE_MACHINE.move(exercise.status, ExerciseStatus.TEARING_DOWN),
                updated_at=now,
            )
            unit.exercises.save_exercise(exercise)
            note(unit, rt.clock, exercise.id, "tearing down every team instance")
        unit.actions.cancel_for(
            object_kind="exercise", object_id=exercise.id, kinds=[schedule.WARN, schedule.READY_DEADLINE]
        )
        for listed in unit.exercises.instances_of(exercise.id):
            instance = listed
            if exercise.kind is ExerciseKind.POOL:
                # A launch may be claiming it right now (it locks the instance, not the pool): wait for
                # that, and leave it alone if it left the pool.
                found = unit.exercises.get_instance(listed.id, lock=True)
                if found is None or found.exercise_id != exercise.id:
                    continue
                instance = found
            if instance.stage is Stage.DONE:
                continue
            if instance.stage is Stage.BOOKED:
                # Never deployed: nothing on the range; give the capacity back at once.
                unit.actions.cancel_for(object_kind="instance", object_id=instance.id)
                enter(unit, instance, Stage.DONE, now=now, reason="never deployed")
                release_if_unused(unit, instance)
                continue
            schedule.schedule_teardown(unit.actions, instance, now=now)
        settle_exercise(unit, exercise.id, now=now)


def teardown_instance(rt: Runtime, instance_id: str) -> None:
    """Remove the instance from its range and release its booking; retried until it succeeds."""
    now = rt.clock.now()
    with rt.transactions() as unit:
        instance = locked_instance(unit, instance_id, step=True)
        if instance is None:
            return
        if instance.stage is not Stage.DONE:
            record = _range_of(unit, instance)
            instance = enter(
                unit,
                instance,
                Stage.TEARING_DOWN,
                now=now,
                log=[stamp(rt.clock, f"tearing down on range {record.slug}")],
            )
    if instance.stage is Stage.DONE:
        # torn down already (a retry after a crash): what came after may not have happened
        _settle(rt, instance.exercise_id, released=instance)
        return
    try:
        rt.connectors(record).teardown(instance_id=instance_id)
    except (ConnectorError, ConnectorRefusal) as exc:
        reason = exc.reason
        with rt.transactions() as unit:
            log_lines(unit, instance_id, [stamp(rt.clock, f"teardown failed, will retry: {reason}")])
        raise RetryLater(reason) from exc
    now = rt.clock.now()
    with rt.transactions() as unit:
        found = locked_instance(unit, instance_id, step=True)
        if found is None:
            return
        if found.stage is not Stage.DONE:
            found = enter(unit, found, Stage.DONE, now=now)
    _settle(rt, found.exercise_id, released=found)


# -- reminders ---------------------------------------------------------------------------------------
def ready_deadline(rt: Runtime, exercise_id: str) -> None:
    with rt.transactions() as unit:
        exercise = unit.exercises.get_exercise(exercise_id)
        if exercise is None or exercise.status in _OVER:
            return
        late = [i for i in unit.exercises.instances_of(exercise_id) if i.stage is not Stage.READY]
        if late:
            detail = "; ".join(
                f"{i.team}: {i.stage.value}{' - ' + i.stage_reason if i.stage_reason else ''}" for i in late
            )
            note(
                unit,
                rt.clock,
                exercise_id,
                f"{len(late)} team(s) not ready at the start: {detail}",
                level="warning",
            )
        else:
            note(unit, rt.clock, exercise_id, "every team instance is ready")


def warn_end(rt: Runtime, exercise_id: str) -> None:
    with rt.transactions() as unit:
        exercise = unit.exercises.get_exercise(exercise_id)
        if exercise is None or exercise.status in _OVER:
            return
        minutes = max(int((exercise.end - rt.clock.now()).total_seconds() // 60), 0)
        note(
            unit,
            rt.clock,
            exercise_id,
            f"ends at {exercise.end.isoformat()} (in {minutes} min): every instance will be torn down then",
            level="warning",
        )
