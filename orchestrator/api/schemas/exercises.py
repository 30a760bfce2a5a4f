"""Schemas for exercises and environments: what a trainer asks for, and the plan and progress they see."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, Field, ValidationInfo, field_validator

from orchestrator.api.schemas.common import (
    Capability,
    Country,
    EndpointOut,
    Out,
    Ref,
    Schema,
    UtcDateTime,
)
from orchestrator.exercises.access import TeamAccess
from orchestrator.exercises.model import (
    Exercise,
    ExerciseDraft,
    Instance,
    Stage,
    StageRecord,
)
from orchestrator.exercises.pools import PoolView
from orchestrator.exercises.service import ON_OWN_COUNTRY
from orchestrator.placement.request import DEFAULT_STRATEGY, Affinity, Constraints, Team
from orchestrator.placement.result import Placement


class TeamIn(Schema):
    name: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9 ._-]*$")
    organisation: str = Field(default="", max_length=200)
    country: Country | None = None

    def to_domain(self) -> Team:
        return Team(name=self.name, organisation=self.organisation, country=self.country or "")


class ConstraintsIn(Schema):
    capabilities: list[Capability] = Field(
        default_factory=list, max_length=64, description="Range capabilities required"
    )
    allowed_countries: list[Country] = Field(
        default_factory=list, max_length=250, description="Data residency; empty: any"
    )
    include_ranges: list[Ref] = Field(
        default_factory=list, max_length=1000, description="Only these ranges (slugs or ids)"
    )
    exclude_ranges: list[Ref] = Field(
        default_factory=list, max_length=1000, description="Never these ranges (slugs or ids)"
    )
    min_ranges: int = Field(default=1, ge=1, le=1000, description="Spread over at least this many ranges")
    max_ranges: int | None = Field(default=None, ge=1, le=1000)
    max_teams_per_range: int | None = Field(default=None, ge=1, le=5000)
    country_affinity: bool = Field(default=True, description="Prefer a range in each team's own country")
    strategy: str = Field(
        default=DEFAULT_STRATEGY,
        max_length=63,
        description="How teams are divided over the chosen ranges: spread, pack, weighted or first-fit",
    )

    def to_domain(self) -> Constraints:
        return Constraints(
            required_capabilities=frozenset(self.capabilities),
            allowed_countries=frozenset(self.allowed_countries),
            include_ranges=frozenset(self.include_ranges),
            exclude_ranges=frozenset(self.exclude_ranges),
            min_ranges=self.min_ranges,
            max_ranges=self.max_ranges,
            max_teams_per_range=self.max_teams_per_range,
            affinity=Affinity.OWN_COUNTRY if self.country_affinity else Affinity.NONE,
        )

    @classmethod
    def from_domain(cls, c: Constraints, *, strategy: str) -> ConstraintsIn:
        return cls(
            capabilities=sorted(c.required_capabilities),
            allowed_countries=sorted(c.allowed_countries),
            include_ranges=sorted(c.include_ranges),
            exclude_ranges=sorted(c.exclude_ranges),
            min_ranges=c.min_ranges,
            max_ranges=c.max_ranges,
            max_teams_per_range=c.max_teams_per_range,
            country_affinity=c.affinity is Affinity.OWN_COUNTRY,
            strategy=strategy,
        )


class ExerciseIn(Schema):
    name: str = Field(min_length=1, max_length=200)
    scenario: str = Field(
        min_length=1,
        max_length=200,
        description="`name` or `name@version` (yours, else the library's), or `owner/name@version`",
    )
    teams: list[TeamIn] = Field(min_length=1, max_length=5000)
    start: UtcDateTime
    end: UtcDateTime
    lead_minutes: int = Field(
        default=15, ge=0, le=7 * 24 * 60, description="Deploy this long before the start"
    )
    warn_minutes: int = Field(default=10, ge=0, le=30 * 24 * 60, description="Warn this long before the end")
    constraints: ConstraintsIn = Field(default_factory=ConstraintsIn)

    @field_validator("end")
    @classmethod
    def _ordered(cls, end: datetime, info: ValidationInfo) -> datetime:
        start = info.data.get("start")
        if start is not None and end <= start:
            raise ValueError(f"the exercise must end after it starts ({start.isoformat()})")
        return end

    def to_domain(self) -> ExerciseDraft:
        return ExerciseDraft(
            name=self.name,
            scenario=self.scenario,
            teams=tuple(t.to_domain() for t in self.teams),
            start=self.start,
            end=self.end,
            lead=timedelta(minutes=self.lead_minutes),
            warn_before_end=timedelta(minutes=self.warn_minutes),
            constraints=self.constraints.to_domain(),
            strategy=self.constraints.strategy,
        )


class EnvironmentIn(Schema):
    scenario: str = Field(min_length=1, max_length=200)
    ttl_minutes: int = Field(default=120, ge=1, le=30 * 24 * 60, description="Lifetime; renewable")
    name: str = Field(default="", max_length=200)
    constraints: ConstraintsIn = Field(default_factory=ConstraintsIn)

    def launch_args(self) -> dict[str, Any]:
        """`EnvironmentService.launch`'s keyword arguments."""
        return {
            "scenario": self.scenario,
            "ttl": timedelta(minutes=self.ttl_minutes),
            "name": self.name,
            "constraints": self.constraints.to_domain(),
        }


class ExtendIn(Schema):
    end: UtcDateTime


class RenewIn(Schema):
    minutes: int = Field(ge=1, le=30 * 24 * 60, description="Push the end out by this much")


class StageOut(Out):
    stage: str
    attempt: int
    outcome: str
    started_at: datetime
    finished_at: datetime | None
    error: str
    log: str

    @classmethod
    def from_domain(cls, r: StageRecord) -> StageOut:
        return cls.read(r, stage=r.stage.value, outcome=r.outcome.value)


class TeamOut(Out):
    team: str
    organisation: str
    country: str
    instance_id: str
    range_id: str
    range: str = Field(description="Range slug")
    booking_id: str | None
    stage: str = Field(
        description="One of: " + ", ".join(s.value for s in Stage) + " (unknown: was ready, its range cannot "
        "say how it is now; stage_reason says why)"
    )
    stage_reason: str
    failed_stage: str | None
    ready_at: datetime | None
    torn_down_at: datetime | None
    stages: list[StageOut]

    @classmethod
    def from_domain(cls, i: Instance, *, range_slug: str, stages: Sequence[StageRecord]) -> TeamOut:
        return cls.read(
            i,
            organisation=i.team_organisation,
            country=i.team_country,
            instance_id=i.id,
            range=range_slug,
            stage=i.stage.value,
            failed_stage=None if i.failed_stage is None else i.failed_stage.value,
            stages=[StageOut.from_domain(r) for r in stages],
        )


class EventOut(Out):
    at: datetime
    level: str
    message: str


class ExerciseSummary(Out):
    id: str
    kind: str
    name: str
    scenario: str = Field(description="`<owner>/<name>@<version>` of the scenario booked")
    scenario_digest: str = Field(description="SHA-256 of the exact document booked, the one deployed")
    status: str
    status_reason: str
    owner_organisation_id: str
    start: datetime
    end: datetime
    deploy_at: datetime
    constraints: dict[str, Any]

    @classmethod
    def from_domain(cls, e: Exercise) -> ExerciseSummary:
        return cls.read(
            e,
            kind=e.kind.value,
            scenario=e.scenario.ref,
            scenario_digest=e.scenario.digest,
            status=e.status.value,
            constraints=ConstraintsIn.from_domain(e.constraints, strategy=e.strategy).model_dump(),
        )


class PlacementOut(BaseModel):
    feasible: bool
    assignments: list[dict[str, str]] = Field(description="team, range_id, range (slug), reason")
    demand: dict[str, dict[str, int]] = Field(description="Booking demand per range id")
    reasons: list[str]
    rejected: dict[str, list[str]] = Field(description="Why each range was not used, by slug")
    summary: str

    @classmethod
    def from_domain(cls, p: Placement, *, reasons: Sequence[str] = ()) -> PlacementOut:
        return cls(
            feasible=p.feasible,
            assignments=[
                {
                    "team": a.team,
                    "range_id": a.range_id,
                    "range": a.range_slug,
                    "reason": ON_OWN_COUNTRY if a.affinity else "",
                }
                for a in sorted(p.assignments, key=lambda a: a.team)
            ],
            demand={b.range_id: b.demand.as_dict() for b in sorted(p.bookings(), key=lambda b: b.range_id)},
            reasons=[*reasons, *p.reasons],
            rejected={o.range_slug: no for o in p.ranges if o.teams == 0 and (no := o.refusals)},
            summary=p.summary(),
        )


class ExerciseState(ExerciseSummary):
    """What a change (cancel, extend, renew, retry, destroy) returns: the exercise and how many of its
    teams are in each stage, without the teams themselves (GET the exercise for those)."""

    team_count: int = Field(description="Every team of the exercise")
    team_stages: dict[str, int] = Field(description="How many teams are in each stage")

    @classmethod
    def of(cls, e: Exercise, *, team_count: int, team_stages: Mapping[Stage, int]) -> ExerciseState:
        return cls(
            **ExerciseSummary.from_domain(e).model_dump(),
            team_count=team_count,
            team_stages={s.value: n for s, n in sorted(team_stages.items()) if n},
        )


class ExerciseOut(ExerciseState):
    placement: PlacementOut = Field(
        description="The placement: team -> range, demand per range, rejected ranges"
    )
    teams_offset: int = Field(default=0, description="Index of the first team of this page (by team name)")
    teams: list[TeamOut] = Field(description="One page of teams (`teams_offset`, `teams_limit`)")
    events: list[EventOut]


class PlacementPreview(PlacementOut):
    """A dry run: the placement the exercise would get, and what one team instance needs."""

    scenario: str
    footprint: dict[str, int] = Field(description="Per team instance")


class AccessOut(Out):
    team: str
    instance_id: str
    range: str
    stage: str
    endpoints: list[EndpointOut]
    credentials: dict[str, str] = Field(
        description="Handed to the team; shown only to the owner organisation"
    )

    @classmethod
    def from_domain(cls, a: TeamAccess) -> AccessOut:
        return cls.read(
            a, range=a.range_slug, stage=a.stage.value, endpoints=[EndpointOut.read(e) for e in a.endpoints]
        )


class PoolIn(Schema):
    scenario: str = Field(
        min_length=1, max_length=200, description="`name[@version]` or `owner/name@version`"
    )
    min_ready: int = Field(ge=0, le=500, description="Instances kept ready (or on their way)")
    max_ready: int = Field(ge=1, le=500, description="Instances the pool's booking holds room for")
    hours: int = Field(default=24, ge=1, le=14 * 24, description="How long the pool (and its booking) lasts")


class PoolUpdate(Schema):
    min_ready: int = Field(ge=0, le=500, description="Instances kept ready, at most the pool's max_ready")


class PoolOut(Out):
    id: str
    range: str = Field(description="Range slug")
    range_id: str
    scenario: str
    scenario_digest: str
    status: str
    min_ready: int
    max_ready: int
    ready: int = Field(description="Ready instances waiting to be claimed")
    instances: dict[str, int] = Field(description="The pool's unclaimed instances per stage")
    start: datetime
    end: datetime

    @classmethod
    def from_domain(cls, v: PoolView) -> PoolOut:
        return cls.read(
            v.pool,
            range=v.range_slug,
            scenario=v.exercise.scenario.ref,
            scenario_digest=v.exercise.scenario.digest,
            status=v.exercise.status.value,
            ready=v.stages.get(Stage.READY, 0),
            instances={s.value: n for s, n in sorted(v.stages.items()) if n},
            start=v.exercise.start,
            end=v.exercise.end,
        )


class TeamLinkOut(Out):
    team: str
    instance_id: str
    token: str = Field(description="Shown once: the team opens `/team/<token>` on this server")
    path: str = Field(description="The team's access page on this server")
