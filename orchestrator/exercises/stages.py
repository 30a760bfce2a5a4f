"""Moving an instance through its stages, with a record (timestamps, attempts, log, error) per stage.

`enter` and `fail` are the only ways an instance's stage changes; both check the transition table, close
the running stage record and open the next, so the stage history always reads in order.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from orchestrator.domain.clock import Clock
from orchestrator.exercises.model import (
    EXERCISE_MACHINE,
    INSTANCE_MACHINE,
    LIVE_STAGES,
    Exercise,
    ExerciseStatus,
    Instance,
    Stage,
    StageOutcome,
)
from orchestrator.exercises.ports import Transactions, UnitOfWork


def locked(unit: UnitOfWork, instance_id: str, *, step: bool = False) -> tuple[Exercise, Instance] | None:
    """Lock an instance for a change, with its exercise (read without its placement). The exercise row
    is locked first, then the instance row: one lock order for all, so handlers of one exercise queue
    instead of deadlocking. A team's `step` locks the exercise for share: the steps of an exercise's
    teams run side by side, while a change of the exercise (cancel, extend, its teardown, settling its
    status) locks it for update and so waits for the steps running. A step never changes the exercise
    row itself: it settles the exercise afterwards, in a transaction of its own (`settle_exercise`)."""
    while True:
        exercise = unit.exercises.lock_exercise_of(instance_id, shared=step)
        if exercise is None:
            return None
        instance = unit.exercises.get_instance(instance_id, lock=True)
        if instance is None:
            return None
        if instance.exercise_id == exercise.id:
            return exercise, instance
        # claimed into another exercise (a warm pool's instance) between the two: lock that one


def locked_instance(unit: UnitOfWork, instance_id: str, *, step: bool = False) -> Instance | None:
    """`locked`, for a handler that needs only the instance."""
    found = locked(unit, instance_id, step=step)
    return None if found is None else found[1]


def _close_running(
    unit: UnitOfWork, instance_id: str, *, outcome: StageOutcome, at: datetime, error: str = ""
) -> None:
    unit.exercises.close_running_stage(instance_id, outcome=outcome, at=at, error=error)


def enter(
    unit: UnitOfWork,
    instance: Instance,
    stage: Stage,
    *,
    now: datetime,
    reason: str = "",
    log: Sequence[str] = (),
) -> Instance:
    """Move the instance (read with its lock: `locked`) into `stage` (legal moves only), the new stage
    record's log starting with `log`; re-entering the current stage is a no-op that keeps its running
    record (a retried action after a crash) and appends `log` to it."""
    if instance.stage is stage:
        log_lines(unit, instance.id, log)
        return instance
    INSTANCE_MACHINE.move(instance.stage, stage)
    _close_running(unit, instance.id, outcome=StageOutcome.SUCCEEDED, at=now)
    moved = replace(instance, stage=stage, stage_reason=reason, failed_stage=None, updated_at=now)
    if stage is Stage.READY:
        moved = replace(moved, ready_at=now)
    if stage is Stage.DONE:
        moved = replace(moved, torn_down_at=now)
    unit.exercises.save_instance(moved, locked=True)
    unit.exercises.start_stage(
        instance_id=instance.id,
        stage=stage,
        at=now,
        log=log,
        finished=StageOutcome.SUCCEEDED if stage is Stage.DONE else None,
    )
    return moved


def fail(unit: UnitOfWork, instance: Instance, error: str, *, now: datetime) -> Instance:
    """The current stage failed: record why; the instance (read with its lock) waits in FAILED for a
    retry."""
    if instance.stage is Stage.FAILED:
        return instance
    INSTANCE_MACHINE.move(instance.stage, Stage.FAILED)
    _close_running(unit, instance.id, outcome=StageOutcome.FAILED, at=now, error=error)
    failed = replace(
        instance, stage=Stage.FAILED, stage_reason=error, failed_stage=instance.stage, updated_at=now
    )
    unit.exercises.save_instance(failed, locked=True)
    return failed


def log_lines(unit: UnitOfWork, instance_id: str, lines: Sequence[str]) -> None:
    """Append to the instance's latest stage record's log."""
    unit.exercises.append_stage_log(instance_id, lines)


#: Instance stages on the way up: while one is, the exercise is deploying.
_COMING_UP = frozenset({Stage.BOOKED, Stage.DEPLOYING, Stage.PROVISIONING})


def settle_exercise(unit: UnitOfWork, exercise_id: str, *, now: datetime) -> None:
    """Derive the exercise status from its instances, under the exercise's lock (for update): deploying
    once a team's deploy began (scheduled, or running and a team redeploying), running once none is
    still on its way up, done (or cancelled) once every instance is torn down. It counts the instances
    per stage in one aggregate query, never loading them (this runs after every team's step)."""
    exercise = unit.exercises.get_exercise(exercise_id, lock=True, placement=False)
    if exercise is None:
        return
    stages = {stage for stage, n in unit.exercises.stage_counts(exercise_id).items() if n}
    status = exercise.status
    if (status is ExerciseStatus.SCHEDULED and stages & LIVE_STAGES) or (
        status is ExerciseStatus.RUNNING and Stage.DEPLOYING in stages
    ):
        status = EXERCISE_MACHINE.move(status, ExerciseStatus.DEPLOYING)
    if status is ExerciseStatus.DEPLOYING and not stages & _COMING_UP:
        status = EXERCISE_MACHINE.move(status, ExerciseStatus.RUNNING)
    elif status is ExerciseStatus.TEARING_DOWN and stages <= {Stage.DONE}:
        status = EXERCISE_MACHINE.move(
            status, ExerciseStatus.CANCELLED if exercise.cancelled_by else ExerciseStatus.DONE
        )
    if status is not exercise.status:
        unit.exercises.save_exercise(replace(exercise, status=status, updated_at=now))


class StageLog:
    """Collects log lines from a long step (an Ansible run) and writes them in batches, each batch in
    its own short transaction, so the stage log fills while the step runs."""

    def __init__(
        self, transactions: Transactions, instance_id: str, *, every: float = 1.0, batch: int = 50
    ) -> None:
        self._transactions = transactions
        self._instance_id = instance_id
        self._every = every
        self._batch = batch
        self._pending: list[str] = []
        self._last = time.monotonic()
        self._lock = threading.Lock()

    def __call__(self, line: str) -> None:
        with self._lock:
            self._pending.append(line)
            due = len(self._pending) >= self._batch or time.monotonic() - self._last >= self._every
        if due:
            self.flush()

    def take(self) -> list[str]:
        """The lines not written yet, handed to the caller to write in its own transaction."""
        with self._lock:
            lines, self._pending = self._pending, []
            self._last = time.monotonic()
        return lines

    def flush(self) -> None:
        with self._lock:
            lines, self._pending = self._pending, []
            self._last = time.monotonic()
        if lines:
            with self._transactions() as unit:
                log_lines(unit, self._instance_id, lines)


def stamp(clock: Clock, text: str) -> str:
    return f"{clock.now().strftime('%H:%M:%S')} {text}"
