"""The due actions of an exercise's life, and how they are (re)scheduled.

    instance.deploy        at start - lead, per instance    deploy, wait ready, provision
    instance.provision     on retry of a failed provisioning stage
    exercise.ready_deadline at start                        tell the trainer which teams are not ready
    exercise.warn          at end - warn_before_end         tell the trainer the end is near
    exercise.teardown      at end (or on cancel)            start tearing every instance down
    instance.teardown      right after exercise.teardown    remove the instance, release its booking
    pool.refill            after a claim from a warm pool     deploy fresh instances to keep min_ready

Teardown actions are retried (with backoff) far longer than the others: teardown is never skipped, and
a process that was down at the end time runs them as soon as it is back.
"""

from __future__ import annotations

from datetime import datetime

from orchestrator.exercises.model import Exercise, Instance
from orchestrator.exercises.ports import ActionScheduler

DEPLOY = "instance.deploy"
PROVISION = "instance.provision"
TEARDOWN_INSTANCE = "instance.teardown"
TEARDOWN = "exercise.teardown"
WARN = "exercise.warn"
READY_DEADLINE = "exercise.ready_deadline"
REFILL_POOL = "pool.refill"

#: Deploys are retried a few times (connectors retry transient errors themselves first).
DEPLOY_ATTEMPTS = 3
#: Teardown is never given up lightly: with backoff capped at five minutes this is days of retrying.
TEARDOWN_ATTEMPTS = 1000


def schedule_exercise(actions: ActionScheduler, exercise: Exercise, *, now: datetime) -> None:
    """The exercise-level actions: readiness deadline, end warning, teardown."""
    _schedule_end(actions, exercise, now=now, warn_after=max(now, exercise.start))
    if exercise.start > exercise.deploy_at:
        actions.schedule(
            kind=READY_DEADLINE, object_kind="exercise", object_id=exercise.id, due_at=exercise.start, now=now
        )


def reschedule_end(actions: ActionScheduler, exercise: Exercise, *, now: datetime) -> None:
    """After the end moved (extend, renew): replace the teardown and warning actions."""
    actions.cancel_for(object_kind="exercise", object_id=exercise.id, kinds=[TEARDOWN, WARN])
    _schedule_end(actions, exercise, now=now, warn_after=now)


def teardown_exercise(actions: ActionScheduler, exercise_id: str, *, due_at: datetime, now: datetime) -> None:
    """The exercise's teardown at `due_at` (retried for days: TEARDOWN_ATTEMPTS)."""
    actions.schedule(
        kind=TEARDOWN,
        object_kind="exercise",
        object_id=exercise_id,
        due_at=due_at,
        now=now,
        max_attempts=TEARDOWN_ATTEMPTS,
    )


def _schedule_end(
    actions: ActionScheduler, exercise: Exercise, *, now: datetime, warn_after: datetime
) -> None:
    """The teardown at the exercise's end, and the warning before it if that comes after `warn_after`."""
    teardown_exercise(actions, exercise.id, due_at=exercise.end, now=now)
    warn_at = exercise.end - exercise.warn_before_end
    if warn_at > warn_after:
        actions.schedule(kind=WARN, object_kind="exercise", object_id=exercise.id, due_at=warn_at, now=now)


def _schedule_stage(
    actions: ActionScheduler,
    instance: Instance,
    kind: str,
    *,
    at: datetime,
    now: datetime,
    fresh: bool = False,
) -> None:
    """Replace whatever deploy or provisioning step the instance had pending with `kind` at `at`
    (`fresh`: the instance was made in this transaction and has nothing pending to replace)."""
    if not fresh:
        actions.cancel_for(object_kind="instance", object_id=instance.id, kinds=[DEPLOY, PROVISION])
    actions.schedule(
        kind=kind,
        object_kind="instance",
        object_id=instance.id,
        due_at=at,
        now=now,
        max_attempts=DEPLOY_ATTEMPTS,
    )


def schedule_deploy(
    actions: ActionScheduler, instance: Instance, *, at: datetime, now: datetime, fresh: bool = False
) -> None:
    _schedule_stage(actions, instance, DEPLOY, at=at, now=now, fresh=fresh)


def schedule_provision(actions: ActionScheduler, instance: Instance, *, now: datetime) -> None:
    _schedule_stage(actions, instance, PROVISION, at=now, now=now)


def schedule_teardown(actions: ActionScheduler, instance: Instance, *, now: datetime) -> None:
    """Cancel whatever else the instance had pending and tear it down now (idempotent to repeat)."""
    actions.cancel_for(object_kind="instance", object_id=instance.id)
    actions.schedule(
        kind=TEARDOWN_INSTANCE,
        object_kind="instance",
        object_id=instance.id,
        due_at=now,
        now=now,
        max_attempts=TEARDOWN_ATTEMPTS,
    )
