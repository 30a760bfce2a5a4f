"""The one object every placement plugin receives: the request and what is derived from it once."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field

from orchestrator.placement.request import PlacementRequest
from orchestrator.placement.snapshot import RangeState, teams_that_fit


@dataclass(frozen=True, kw_only=True)
class PlacementContext:
    """The request plus derived facts.

    `base` counts teams that stay where they are (re-placement), by range slug; a fresh placement has
    none. `to_place` is how many teams this decision places.
    """

    request: PlacementRequest
    to_place: int
    team_countries: Mapping[str, int]
    base: Mapping[str, int] = field(default_factory=dict)

    @classmethod
    def of(
        cls, request: PlacementRequest, *, to_place: int | None = None, base: Mapping[str, int] | None = None
    ) -> PlacementContext:
        return cls(
            request=request,
            to_place=request.team_count if to_place is None else to_place,
            team_countries=Counter(t.country for t in request.teams),
            base=dict(base or {}),
        )

    def fit(self, state: RangeState) -> int:
        """How many more instances of the demand fit in the range's usable free capacity."""
        return teams_that_fit(state.usable, self.request.demand)

    def room(self, state: RangeState) -> int:
        """How many more teams this range may take: capacity, capped by max teams per range."""
        k = self.fit(state)
        cap = self.request.constraints.max_teams_per_range
        if cap is not None:
            k = min(k, cap - self.base.get(state.slug, 0))
        return max(k, 0)
