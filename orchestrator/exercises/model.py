"""Exercise, environment and team-instance values with their explicit state machines.

An exercise is a scheduled federated event: one scenario, N teams, a window. Each team gets one
instance on one range. An environment is a researcher's exercise with one instance that starts now and
lives until its TTL ends (renewable). Both share one lifecycle:

    exercise:  scheduled -> deploying -> running -> tearing_down -> done
               scheduled -> cancelled (before anything was deployed)
               deploying | running -> tearing_down (cancel, or the end of the window)
    instance:  booked -> deploying -> provisioning -> ready -> tearing_down -> done
               deploying | provisioning | ready -> failed -> deploying (retry) | tearing_down
               ready -> unknown (its range does not answer) -> ready | deploying | tearing_down

Each instance status is also a *stage* with its own record (timestamps, attempts, log, error); a failed
stage is retried by moving the instance back into it.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from connectors.base import Endpoint
from orchestrator.catalogue.scenario_facts import ScenarioPin
from orchestrator.domain.states import StateMachine
from orchestrator.placement.request import DEFAULT_STRATEGY, Constraints, Team
from orchestrator.placement.result import Placement


class ExerciseKind(enum.StrEnum):
    EXERCISE = "exercise"
    ENVIRONMENT = "environment"
    #: A warm pool's instances, kept ready on one range for environments to claim (see exercises.pools).
    POOL = "pool"


class ExerciseStatus(enum.StrEnum):
    SCHEDULED = "scheduled"
    DEPLOYING = "deploying"
    RUNNING = "running"
    TEARING_DOWN = "tearing_down"
    DONE = "done"
    CANCELLED = "cancelled"


EXERCISE_MACHINE = StateMachine(
    "exercise",
    {
        ExerciseStatus.SCHEDULED: frozenset(
            {ExerciseStatus.DEPLOYING, ExerciseStatus.CANCELLED, ExerciseStatus.TEARING_DOWN}
        ),
        ExerciseStatus.DEPLOYING: frozenset({ExerciseStatus.RUNNING, ExerciseStatus.TEARING_DOWN}),
        ExerciseStatus.RUNNING: frozenset({ExerciseStatus.TEARING_DOWN, ExerciseStatus.DEPLOYING}),
        ExerciseStatus.TEARING_DOWN: frozenset({ExerciseStatus.DONE, ExerciseStatus.CANCELLED}),
    },
)


class Stage(enum.StrEnum):
    """An instance's status, which is also the stage it is in; their order is the lifecycle."""

    BOOKED = "booked"
    DEPLOYING = "deploying"
    PROVISIONING = "provisioning"
    READY = "ready"
    TEARING_DOWN = "tearing_down"
    DONE = "done"
    FAILED = "failed"
    #: Was ready, but its range (a peer that went down, a partition) cannot say how it is now; the
    #: reason says why ("peer lv-hub unreachable: ..."). The reconciler moves it on once the range
    #: answers: ready if the range has it ready, deploying (again) if it has it failed or not at all.
    UNKNOWN = "unknown"


#: Stages that can fail and be retried by moving the instance back into them.
RETRYABLE: frozenset[Stage] = frozenset({Stage.DEPLOYING, Stage.PROVISIONING, Stage.TEARING_DOWN})

INSTANCE_MACHINE = StateMachine(
    "instance",
    {
        Stage.BOOKED: frozenset({Stage.DEPLOYING, Stage.TEARING_DOWN, Stage.DONE}),
        Stage.DEPLOYING: frozenset({Stage.PROVISIONING, Stage.READY, Stage.FAILED, Stage.TEARING_DOWN}),
        Stage.PROVISIONING: frozenset({Stage.READY, Stage.FAILED, Stage.TEARING_DOWN}),
        Stage.READY: frozenset({Stage.FAILED, Stage.TEARING_DOWN, Stage.DEPLOYING, Stage.UNKNOWN}),
        Stage.UNKNOWN: frozenset({Stage.READY, Stage.DEPLOYING, Stage.FAILED, Stage.TEARING_DOWN}),
        Stage.FAILED: frozenset({Stage.DEPLOYING, Stage.PROVISIONING, Stage.TEARING_DOWN}),
        Stage.TEARING_DOWN: frozenset({Stage.DONE, Stage.FAILED}),
    },
)

#: Instance stages during which the instance holds (or may hold) objects on its range.
LIVE_STAGES: frozenset[Stage] = frozenset(
    {Stage.DEPLOYING, Stage.PROVISIONING, Stage.READY, Stage.UNKNOWN, Stage.FAILED}
)


@dataclass(frozen=True, kw_only=True)
class ExerciseDraft:
    """What a trainer asks for. `lead` is how long before `start` deployment begins; the bookings
    cover [start - lead, end) so instances exist (and are ready) when the exercise starts."""

    name: str
    scenario: str
    teams: tuple[Team, ...]
    start: datetime
    end: datetime
    lead: timedelta = timedelta(minutes=15)
    warn_before_end: timedelta = timedelta(minutes=10)
    constraints: Constraints = field(default_factory=Constraints)
    strategy: str = DEFAULT_STRATEGY
    kind: ExerciseKind = ExerciseKind.EXERCISE

    @property
    def booked_from(self) -> datetime:
        return self.start - self.lead


#: The placement of an exercise read without it (`ExerciseStore.get_exercise(..., placement=False)`): a
#: team's lifecycle step never needs it, and decoding it costs in proportion to the exercise's size.
#: Saving such an exercise leaves its stored placement as it is.
PLACEMENT_NOT_LOADED = Placement(exercise="", feasible=False, strategy="", assignments=(), ranges=())


@dataclass(frozen=True, kw_only=True)
class Exercise:
    id: str
    kind: ExerciseKind
    name: str
    owner_organisation_id: str
    created_by: str
    #: The scenario document booked: the one deployed.
    scenario: ScenarioPin
    start: datetime
    end: datetime
    lead: timedelta
    warn_before_end: timedelta
    constraints: Constraints
    strategy: str
    status: ExerciseStatus
    status_reason: str
    placement: Placement
    created_at: datetime
    updated_at: datetime
    cancelled_by: str = ""

    @property
    def deploy_at(self) -> datetime:
        return self.start - self.lead

    @classmethod
    def scheduled(
        cls,
        draft: ExerciseDraft,
        *,
        id: str,
        owner_organisation_id: str,
        created_by: str,
        scenario: ScenarioPin,
        placement: Placement,
        now: datetime,
    ) -> Exercise:
        """A new exercise of `draft` (of its kind), placed and about to be booked."""
        return cls(
            id=id,
            kind=draft.kind,
            name=draft.name,
            owner_organisation_id=owner_organisation_id,
            created_by=created_by,
            scenario=scenario,
            start=draft.start,
            end=draft.end,
            lead=draft.lead,
            warn_before_end=draft.warn_before_end,
            constraints=draft.constraints,
            strategy=draft.strategy,
            status=ExerciseStatus.SCHEDULED,
            status_reason="",
            placement=placement,
            created_at=now,
            updated_at=now,
        )


@dataclass(frozen=True, kw_only=True)
class Instance:
    """One team's instance: where it runs (range and booking) and the stage it is in."""

    id: str
    exercise_id: str
    team: str
    team_organisation: str
    team_country: str
    range_id: str
    booking_id: str | None
    stage: Stage
    stage_reason: str
    failed_stage: Stage | None
    endpoints: tuple[Endpoint, ...]
    created_at: datetime
    updated_at: datetime
    ready_at: datetime | None = None
    torn_down_at: datetime | None = None


class StageOutcome(enum.StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


def log_text(lines: Sequence[str]) -> str:
    """Log lines as a stage record's log keeps them: one per line, each ending in a newline."""
    return "".join(line.rstrip("\n") + "\n" for line in lines)


@dataclass(frozen=True, kw_only=True)
class StageRecord:
    id: str
    instance_id: str
    stage: Stage
    attempt: int
    outcome: StageOutcome
    started_at: datetime
    finished_at: datetime | None
    error: str
    log: str


@dataclass(frozen=True, kw_only=True)
class WarmPool:
    """Ready instances of one scenario kept on one range for environments to claim at once.

    The pool is an exercise of kind `pool` (same id) owned by the range's operator organisation: its
    booking holds `max_ready` instances' worth of capacity for its whole window, its instances go
    through the ordinary lifecycle, and a claim moves a ready one into the claiming environment (whose
    own booking then holds it); the pool then deploys a fresh one to keep `min_ready` on their way."""

    id: str
    range_id: str
    min_ready: int
    max_ready: int
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, kw_only=True)
class Claimable:
    """A ready instance of a warm pool, with what a claim decides on: its pool and the few facts of the
    pool's range a claim needs before it books there (read with the instance in one query)."""

    instance: Instance
    pool: WarmPool
    range_slug: str
    range_operator_organisation_id: str
    #: The range's policy asks its operator to approve bookings of other organisations.
    approval_required: bool


@dataclass(frozen=True, kw_only=True)
class ExerciseEvent:
    """Something the trainer is told: healing results, failures, the end approaching."""

    id: str
    exercise_id: str
    at: datetime
    level: str
    message: str
