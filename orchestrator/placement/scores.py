"""Scores: how much placement likes an eligible range, as an int 0..100. One Protocol, built-ins beside it.

Scores order the ranges a strategy opens and fill first; they never make a placement infeasible. The
engine combines them as a weighted mean (weights from the request, else the strategy's defaults).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from orchestrator.placement.context import PlacementContext
from orchestrator.placement.snapshot import RangeState


class Score(Protocol):
    """A named preference over one eligible range. Pure; returns an int in 0..100."""

    @property
    def name(self) -> str: ...

    def score(self, state: RangeState, ctx: PlacementContext) -> int: ...


def _headroom(state: RangeState, ctx: PlacementContext) -> float:
    """Smallest share of capacity left free after one more team, over the dimensions the demand uses."""
    demand, free, capacity = ctx.request.demand, state.usable, state.range.capacity
    shares = [
        (free.get(d) - need) / capacity.get(d)
        for d, need in demand.items()
        if need > 0 and capacity.get(d) > 0
    ]
    return min(shares, default=0.0)


def _percent(value: float) -> int:
    return max(0, min(100, round(100 * value)))


class BalanceScore:
    """Prefer ranges with the most capacity left free (spreads load across the federation)."""

    name = "balance"

    def score(self, state: RangeState, ctx: PlacementContext) -> int:
        return _percent(_headroom(state, ctx))


class PackScore:
    """Prefer ranges already busy (keeps other ranges whole for larger exercises)."""

    name = "pack"

    def score(self, state: RangeState, ctx: PlacementContext) -> int:
        return 100 - _percent(_headroom(state, ctx))


class LocalityScore:
    """Prefer ranges in the countries the teams come from: the share of teams from the range's country."""

    name = "locality"

    def score(self, state: RangeState, ctx: PlacementContext) -> int:
        total = sum(ctx.team_countries.values())
        return _percent(ctx.team_countries.get(state.range.country, 0) / total) if total else 0


class PreferenceScore:
    """The operator's own preference for the range (0..100), as registered in the catalogue."""

    name = "preference"

    def score(self, state: RangeState, ctx: PlacementContext) -> int:
        return max(0, min(100, state.range.preference))


BUILTIN_SCORES: tuple[Score, ...] = (BalanceScore(), PackScore(), LocalityScore(), PreferenceScore())


def combine(scores: Mapping[str, int], weights: Mapping[str, int]) -> int:
    """Weighted mean of the named scores, rounded half up; 0 when no weight applies."""
    total = sum(w for name, w in weights.items() if name in scores)
    if total <= 0:
        return 0
    return (2 * sum(scores[name] * w for name, w in weights.items() if name in scores) + total) // (2 * total)
