"""Division strategies: how many teams each eligible range gets. One Protocol, the built-ins beside it.

Every strategy must return a valid division whenever one exists (the engine checks feasibility first and
verifies what a strategy returns); they differ only in which valid division they prefer. Each names the
score weights it uses when the request gives none.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from orchestrator.placement.division import (
    Candidate,
    Division,
    fill_evenly,
    fill_in_order,
    fill_proportionally,
    open_ranges,
)


class Strategy(Protocol):
    """A named way to divide teams over ranges. Pure and deterministic."""

    @property
    def name(self) -> str: ...

    @property
    def default_weights(self) -> Mapping[str, int]:
        """Score plugin name -> weight, used when the request names no weights."""
        ...

    def divide(self, division: Division) -> dict[str, int]:
        """Teams per range slug (ranges left out get none). Called only for a feasible division."""
        ...


class Spread:
    """As many ranges as allowed, teams balanced evenly across them (kept teams included)."""

    name = "spread"
    default_weights: Mapping[str, int] = {"balance": 2, "locality": 1, "preference": 1}

    def divide(self, division: Division) -> dict[str, int]:
        _, hi = division.bounds()
        return fill_evenly(division, open_ranges(division, hi, division.candidates))


class Pack:
    """The fewest ranges that hold every team, each filled to its room in score order."""

    name = "pack"
    default_weights: Mapping[str, int] = {"pack": 2, "locality": 1, "preference": 1}

    def divide(self, division: Division) -> dict[str, int]:
        opened = open_ranges(division, division.smallest_opening(), division.candidates)
        return fill_in_order(division, opened, division.candidates)


def operator_weight(candidate: Candidate) -> int:
    """Operator preference x combined score: what `weighted` divides in proportion to."""
    return max(0, candidate.preference) * candidate.score


class Weighted:
    """Teams in proportion to operator preference x score; ranges weighing 0 are opened only when the
    constraints (minimum ranges, capacity) need them."""

    name = "weighted"
    default_weights: Mapping[str, int] = {"preference": 1, "locality": 1, "balance": 1}

    def divide(self, division: Division) -> dict[str, int]:
        lo, hi = division.bounds()
        order = sorted(division.fresh, key=lambda c: (-operator_weight(c), c.slug))
        positive = sum(1 for c in order if operator_weight(c) > 0)
        opened = max(lo, min(positive, hi))
        while opened < hi and not division.fits(opened):
            opened += 1
        return fill_proportionally(division, open_ranges(division, opened, order), operator_weight)


class FirstFit:
    """The simplest division: ranges in slug order, each filled before the next is opened."""

    name = "first-fit"
    default_weights: Mapping[str, int] = {}

    def divide(self, division: Division) -> dict[str, int]:
        order = sorted(division.candidates, key=lambda c: c.slug)
        opened = open_ranges(division, division.smallest_opening(), order)
        return fill_in_order(division, opened, order)


BUILTIN_STRATEGIES: tuple[Strategy, ...] = (Spread(), Pack(), Weighted(), FirstFit())
