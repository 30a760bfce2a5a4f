"""Exercise, environment and team-instance values with their explicit state machines.

An exercise is a scheduled federated event: one scenario, N teams, a window. Each team gets one
instance on one range. An environment is a researcher's exercise with one instance that starts now and
lives until its TTL ends (renewable). Both share one lifecycle:

    exercise:  scheduled -> deploying -> running -> tearing_down -> done
               scheduled -> cancelled (before anything was deployed)
               deploying | running -> tearing_down (cancel, or the end of the window)
    instance:  booked -> deploying -> provisioning -> ready -> tearing_down -> done
               deploying | provisioning | ready -> failed -> deploying (retry) | tearing_down

Each instance status is also a *stage* with its own record (timestamps, attempts, log, error); a failed
stage is retried by moving the instance back into it.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from connectors.base import Resources
from orchestrator.domain.states import StateMachine


class ExerciseKind(enum.StrEnum):
    EXERCISE = "exercise"
    ENVIRONMENT = "environment"


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


STAGE_ORDER: tuple[Stage, ...] = (
    Stage.BOOKED,
    Stage.DEPLOYING,
    Stage.PROVISIONING,
    Stage.READY,
    Stage.TEARING_DOWN,
    Stage.DONE,
)

#: Stages that can fail and be retried by moving the instance back into them.
RETRYABLE: frozenset[Stage] = frozenset({Stage.DEPLOYING, Stage.PROVISIONING, Stage.TEARING_DOWN})

INSTANCE_MACHINE = StateMachine(
    "instance",
    {
        Stage.BOOKED: frozenset({Stage.DEPLOYING, Stage.TEARING_DOWN, Stage.DONE}),
        Stage.DEPLOYING: frozenset({Stage.PROVISIONING, Stage.READY, Stage.FAILED, Stage.TEARING_DOWN}),
        Stage.PROVISIONING: frozenset({Stage.READY, Stage.FAILED, Stage.TEARING_DOWN}),
        Stage.READY: frozenset({Stage.FAILED, Stage.TEARING_DOWN, Stage.DEPLOYING}),
        Stage.FAILED: frozenset({Stage.DEPLOYING, Stage.PROVISIONING, Stage.TEARING_DOWN}),
        Stage.TEARING_DOWN: frozenset({Stage.DONE, Stage.FAILED}),
    },
)

#: Instance stages during which the instance holds (or may hold) objects on its range.
LIVE_STAGES: frozenset[Stage] = frozenset({Stage.DEPLOYING, Stage.PROVISIONING, Stage.READY, Stage.FAILED})


class Strategy(enum.StrEnum):
    SPREAD = "spread"
    PACK = "pack"
    WEIGHTED = "weighted"


@dataclass(frozen=True, kw_only=True)
class TeamDraft:
    name: str
    organisation: str = ""
    country: str = ""


@dataclass(frozen=True, kw_only=True)
class Constraints:
    """What the trainer requires of the placement (all hard, except affinity which is a preference)."""

    capabilities: frozenset[str] = frozenset()
    allowed_countries: frozenset[str] = frozenset()
    include_ranges: frozenset[str] = frozenset()
    exclude_ranges: frozenset[str] = frozenset()
    min_ranges: int = 1
    max_ranges: int | None = None
    max_teams_per_range: int | None = None
    country_affinity: bool = True
    strategy: Strategy = Strategy.SPREAD


@dataclass(frozen=True, kw_only=True)
class ExerciseDraft:
    """What a trainer asks for. `lead` is how long before `start` deployment begins; the bookings
    cover [start - lead, end) so instances exist (and are ready) when the exercise starts."""

    name: str
    scenario: str
    teams: tuple[TeamDraft, ...]
    start: datetime
    end: datetime
    lead: timedelta = timedelta(minutes=15)
    warn_before_end: timedelta = timedelta(minutes=10)
    constraints: Constraints = field(default_factory=Constraints)
    kind: ExerciseKind = ExerciseKind.EXERCISE

    @property
    def booked_from(self) -> datetime:
        return self.start - self.lead


@dataclass(frozen=True, kw_only=True)
class Assignment:
    team: str
    range_id: str
    range_slug: str
    reason: str = ""


@dataclass(frozen=True, kw_only=True)
class Plan:
    """A placement turned into what booking needs: which team goes where and the demand per range."""

    feasible: bool
    assignments: tuple[Assignment, ...] = ()
    demand: Mapping[str, Resources] = field(default_factory=dict)
    reasons: tuple[str, ...] = ()
    rejected: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    summary: str = ""

    def ranges(self) -> list[str]:
        return sorted(self.demand)

    def as_dict(self) -> dict[str, Any]:
        return {
            "feasible": self.feasible,
            "assignments": [
                {"team": a.team, "range_id": a.range_id, "range": a.range_slug, "reason": a.reason}
                for a in self.assignments
            ],
            "demand": {k: v.as_dict() for k, v in sorted(self.demand.items())},
            "reasons": list(self.reasons),
            "rejected": {k: list(v) for k, v in sorted(self.rejected.items())},
            "summary": self.summary,
        }


@dataclass(frozen=True, kw_only=True)
class Exercise:
    id: str
    kind: ExerciseKind
    name: str
    owner_organisation_id: str
    created_by: str
    scenario_name: str
    scenario_version: str
    start: datetime
    end: datetime
    lead: timedelta
    warn_before_end: timedelta
    constraints: Constraints
    status: ExerciseStatus
    status_reason: str
    plan: Mapping[str, Any]
    created_at: datetime
    updated_at: datetime
    cancelled_by: str = ""

    @property
    def scenario_ref(self) -> str:
        return f"{self.scenario_name}@{self.scenario_version}"

    @property
    def deploy_at(self) -> datetime:
        return self.start - self.lead


@dataclass(frozen=True, kw_only=True)
class Endpoint:
    host: str
    port: int
    protocol: str = "TCP"
    address: str = ""
    url: str = ""


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
class ExerciseEvent:
    """Something the trainer is told: healing results, failures, the end approaching."""

    id: str
    exercise_id: str
    at: datetime
    level: str
    message: str


def constraints_to_dict(c: Constraints) -> dict[str, Any]:
    return {
        "capabilities": sorted(c.capabilities),
        "allowed_countries": sorted(c.allowed_countries),
        "include_ranges": sorted(c.include_ranges),
        "exclude_ranges": sorted(c.exclude_ranges),
        "min_ranges": c.min_ranges,
        "max_ranges": c.max_ranges,
        "max_teams_per_range": c.max_teams_per_range,
        "country_affinity": c.country_affinity,
        "strategy": c.strategy.value,
    }


def constraints_from_dict(data: Mapping[str, Any]) -> Constraints:
    return Constraints(
        capabilities=frozenset(data.get("capabilities", ())),
        allowed_countries=frozenset(data.get("allowed_countries", ())),
        include_ranges=frozenset(data.get("include_ranges", ())),
        exclude_ranges=frozenset(data.get("exclude_ranges", ())),
        min_ranges=int(data.get("min_ranges", 1)),
        max_ranges=data.get("max_ranges"),
        max_teams_per_range=data.get("max_teams_per_range"),
        country_affinity=bool(data.get("country_affinity", True)),
        strategy=Strategy(data.get("strategy", Strategy.SPREAD.value)),
    )
