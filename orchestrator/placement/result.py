"""What placement decides: which team goes where, what to book on each range, and why every "no".

Reasons are complete sentences that name the range and the rule; they reach the API response unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from connectors.base import ZERO, Resources
from orchestrator.domain.errors import Refused


@dataclass(frozen=True)
class Verdict:
    """A filter's answer for one range: ok, or no with every reason."""

    ok: bool
    reasons: tuple[str, ...] = ()

    @classmethod
    def yes(cls) -> Verdict:
        return _YES

    @classmethod
    def no(cls, *reasons: str) -> Verdict:
        if not reasons:
            raise ValueError("a 'no' verdict needs at least one reason")
        return cls(False, tuple(reasons))

    @classmethod
    def combine(cls, verdicts: tuple[Verdict, ...]) -> Verdict:
        reasons = tuple(r for v in verdicts for r in v.reasons if not v.ok)
        return cls(False, reasons) if reasons else _YES


_YES = Verdict(True)


@dataclass(frozen=True, kw_only=True)
class Assignment:
    """One team on one range; `affinity` tells whether the team got its soft preference there."""

    team: str
    range_id: str
    range_slug: str
    affinity: bool = False


@dataclass(frozen=True, kw_only=True)
class RangeBooking:
    """What to book on one range: `teams` instances of the exercise's demand over the window."""

    range_id: str
    range_slug: str
    teams: int
    demand: Resources
    approval_required: bool = False


@dataclass(frozen=True, kw_only=True)
class RangeOutcome:
    """Everything placement concluded about one range of the snapshot.

    `verdicts` holds each filter's answer by filter name; `verdict` combines them. `room` is how many
    more teams the range could host (capacity and max-per-range), `score` the combined 0..100 score with
    the per-plugin `scores`, `teams` how many teams were placed there and `demand` what that books.
    """

    range_id: str
    range_slug: str
    verdict: Verdict
    verdicts: Mapping[str, Verdict] = field(default_factory=dict)
    room: int = 0
    score: int = 0
    scores: Mapping[str, int] = field(default_factory=dict)
    approval_required: bool = False
    teams: int = 0
    demand: Resources = ZERO

    @property
    def refusals(self) -> list[str]:
        """Every filter's "no" for this range, even where the combined `verdict` keeps its teams there."""
        return [r for v in self.verdicts.values() if not v.ok for r in v.reasons]


@dataclass(frozen=True, kw_only=True)
class Placement:
    """The placement of an exercise's teams, or why none exists.

    When `feasible`, every team has exactly one assignment and `bookings()` is the demand to book,
    all-or-nothing, in one multi-range request. When not, `reasons` lists each violated global
    constraint followed by each rejected range's reasons, and `assignments` is empty for a fresh
    placement (a partial re-placement keeps the teams it could place, see `replace`).
    """

    exercise: str
    feasible: bool
    strategy: str
    assignments: tuple[Assignment, ...]
    ranges: tuple[RangeOutcome, ...]
    constraint_reasons: tuple[str, ...] = ()
    affinity_met: int = 0

    @property
    def reasons(self) -> tuple[str, ...]:
        """Global constraint reasons, then every rejected range's reasons (empty when feasible)."""
        if self.feasible:
            return ()
        return self.constraint_reasons + self.rejections()

    def rejections(self) -> tuple[str, ...]:
        """Every "no" by range: the reasons of rejected ranges, and of ranges that keep their teams but
        may take no more (re-placement: full, draining, ...)."""
        out: list[str] = []
        for o in self.ranges:
            if not o.verdict.ok:
                out.extend(o.verdict.reasons)
            else:
                out.extend(o.refusals)
        return tuple(out)

    def bookings(self) -> tuple[RangeBooking, ...]:
        return tuple(
            RangeBooking(
                range_id=o.range_id,
                range_slug=o.range_slug,
                teams=o.teams,
                demand=o.demand,
                approval_required=o.approval_required,
            )
            for o in self.ranges
            if o.teams > 0
        )

    def by_team(self) -> dict[str, Assignment]:
        return {a.team: a for a in self.assignments}

    def outcome(self, slug: str) -> RangeOutcome:
        for o in self.ranges:
            if o.range_slug == slug:
                return o
        raise KeyError(slug)

    def summary(self) -> str:
        """One human line: where the teams went, or why they cannot be placed."""
        if not self.feasible:
            return f"cannot place the teams of {self.exercise}: " + "; ".join(self.reasons)
        used = [o for o in self.ranges if o.teams > 0]
        spread = ", ".join(f"{o.range_slug} {o.teams}" for o in used)
        n = len(self.assignments)
        return (
            f"placed {n} team{'s' if n != 1 else ''} of {self.exercise} on {len(used)} "
            f"range{'s' if len(used) != 1 else ''} ({spread}) by {self.strategy}; "
            f"{self.affinity_met} of {n} on a range they prefer"
        )

    def refusal(self) -> Refused:
        """The domain error to raise when the caller needs a placement and there is none."""
        return Refused(list(self.reasons))
