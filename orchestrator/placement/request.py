"""What an exercise asks of placement: its teams, the per-team demand, the window and the constraints.

A request is validated when it is built, so every later "no" is about the ranges, never about the request;
a malformed request raises `InvalidInput` naming the field and the reason.
"""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from connectors.base import Resources
from orchestrator.domain.errors import FieldProblem, InvalidInput


class Affinity(enum.StrEnum):
    """Soft preference for which team goes to which chosen range (never makes a placement infeasible)."""

    NONE = "none"
    OWN_COUNTRY = "own-country"


@dataclass(frozen=True, kw_only=True)
class Team:
    """One team of the exercise; it gets one scenario instance on one range."""

    name: str
    organisation: str
    country: str


@dataclass(frozen=True, kw_only=True)
class Owner:
    """The organisation that will own the bookings: sharing policies are checked against it."""

    organisation_id: str
    name: str
    country: str


@dataclass(frozen=True, kw_only=True)
class Constraints:
    """Hard constraints (every returned placement satisfies them) and the soft affinity.

    Empty `allowed_countries` / `include_ranges` mean "no restriction". Ranges are named by slug or id.
    `max_ranges` / `max_teams_per_range` of None mean unbounded.
    """

    required_capabilities: frozenset[str] = frozenset()
    allowed_countries: frozenset[str] = frozenset()
    include_ranges: frozenset[str] = frozenset()
    exclude_ranges: frozenset[str] = frozenset()
    min_ranges: int = 1
    max_ranges: int | None = None
    max_teams_per_range: int | None = None
    affinity: Affinity = Affinity.OWN_COUNTRY

    def problems(self, prefix: str = "constraints") -> list[FieldProblem]:
        out: list[FieldProblem] = []
        if self.min_ranges < 1:
            out.append(FieldProblem(f"{prefix}.min_ranges", f"must be at least 1, got {self.min_ranges}"))
        if self.max_ranges is not None and self.max_ranges < max(self.min_ranges, 1):
            out.append(
                FieldProblem(
                    f"{prefix}.max_ranges",
                    f"must be at least min_ranges ({self.min_ranges}), got {self.max_ranges}",
                )
            )
        if self.max_teams_per_range is not None and self.max_teams_per_range < 1:
            out.append(
                FieldProblem(
                    f"{prefix}.max_teams_per_range", f"must be at least 1, got {self.max_teams_per_range}"
                )
            )
        both = self.include_ranges & self.exclude_ranges
        if both:
            out.append(
                FieldProblem(
                    f"{prefix}.exclude_ranges",
                    f"ranges both included and excluded: {', '.join(sorted(both))}",
                )
            )
        return out


DEFAULT_STRATEGY = "spread"


@dataclass(frozen=True, kw_only=True)
class PlacementRequest:
    """Place every team of `teams` (one instance each, `demand` per instance) over [start, end).

    The window is taken as given: the caller includes the deploy lead time before the exercise start.
    `now` is only used for the sharing policies' minimum lead time (placement never reads a clock).
    `score_weights` maps score plugin names to non-negative weights; None takes the strategy's defaults.
    """

    exercise: str
    owner: Owner
    teams: tuple[Team, ...]
    demand: Resources
    start: datetime
    end: datetime
    now: datetime
    constraints: Constraints = field(default_factory=Constraints)
    strategy: str = DEFAULT_STRATEGY
    score_weights: Mapping[str, int] | None = None
    #: What each instance asks a range's security policy for (ScenarioFacts.privileges' names).
    privileges: frozenset[str] = frozenset()
    #: The scenario's images named by a tag, not a digest (refused where a range requires digests).
    unpinned_images: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        problems = self.problems()
        if problems:
            raise InvalidInput(problems)

    def problems(self) -> list[FieldProblem]:
        out: list[FieldProblem] = []
        for name, value in (("start", self.start), ("end", self.end), ("now", self.now)):
            if value.tzinfo is None or value.utcoffset() is None:
                out.append(FieldProblem(name, f"{value.isoformat()} has no timezone; use aware UTC times"))
        if not out and self.end <= self.start:
            out.append(
                FieldProblem(
                    "end", f"must be after start ({self.start.isoformat()}), got {self.end.isoformat()}"
                )
            )
        if not self.teams:
            out.append(FieldProblem("teams", "at least one team is needed"))
        duplicates = sorted(n for n, k in Counter(t.name for t in self.teams).items() if k > 1)
        if duplicates:
            out.append(FieldProblem("teams", f"team names must be unique; repeated: {', '.join(duplicates)}"))
        for i, team in enumerate(self.teams):
            if not team.name.strip():
                out.append(FieldProblem(f"teams[{i}].name", "must not be empty"))
        negative = [d for d, v in self.demand.items() if v < 0]
        if negative:
            out.append(FieldProblem("demand", f"must not be negative: {', '.join(negative)}"))
        elif all(v == 0 for _, v in self.demand.items()):
            out.append(FieldProblem("demand", "needs at least one positive dimension (a team takes a slot)"))
        out.extend(self.constraints.problems())
        if self.score_weights is not None:
            for name, weight in sorted(self.score_weights.items()):
                if weight < 0:
                    out.append(FieldProblem(f"score_weights.{name}", f"must not be negative, got {weight}"))
            if sum(self.score_weights.values()) <= 0:
                out.append(FieldProblem("score_weights", "at least one weight must be positive"))
        return out

    @property
    def team_count(self) -> int:
        return len(self.teams)
