"""The division problem: N teams over eligible ranges, each with room for some more teams.

Hard rules: a range takes at most its `room`; the number of ranges used (ranges already hosting kept
teams plus ranges newly given at least one team) lies in [min_ranges, max_ranges]. Teams are
interchangeable for these rules, so a division is a count per range.

Feasibility has a closed form, which is what makes every strategy complete: with u0 ranges already used
and `fresh` eligible ranges, opening s fresh ranges needs min_ranges - u0 <= s <= max_ranges - u0,
s <= len(fresh) and s <= N (each opened range needs a team), and then works iff the kept ranges' room plus
the s largest fresh rooms hold N. That capacity only grows with s, so trying the largest admissible s
decides feasibility; `open_ranges` turns any preference order into a feasible set of that size.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from itertools import accumulate

from orchestrator.placement.phrases import plural


@dataclass(frozen=True, kw_only=True)
class Candidate:
    """An eligible range: `room` more teams fit; `base` teams of the exercise are already there."""

    slug: str
    room: int
    base: int = 0
    score: int = 0
    preference: int = 50
    country: str = ""


@dataclass(frozen=True, kw_only=True)
class Division:
    """Place `teams` teams over `candidates` (ordered best first, ties by slug)."""

    teams: int
    candidates: tuple[Candidate, ...]
    min_ranges: int = 1
    max_ranges: int | None = None
    subject: str = field(default="team")

    @cached_property
    def kept(self) -> tuple[Candidate, ...]:
        """Ranges already used by kept teams (they count as used whatever is added)."""
        return tuple(c for c in self.candidates if c.base > 0)

    @cached_property
    def fresh(self) -> tuple[Candidate, ...]:
        """Ranges not used yet that can take at least one team."""
        return tuple(c for c in self.candidates if c.base == 0 and c.room > 0)

    @cached_property
    def kept_room(self) -> int:
        return sum(c.room for c in self.kept)

    @cached_property
    def _prefix(self) -> list[int]:
        return [0, *accumulate(sorted((c.room for c in self.fresh), reverse=True))]

    def bounds(self) -> tuple[int, int]:
        """(lowest, highest) number of fresh ranges that may be opened; empty when lowest > highest."""
        used = len(self.kept)
        lo = max(0, self.min_ranges - used)
        hi = min(len(self.fresh), self.teams)
        if self.max_ranges is not None:
            hi = min(hi, self.max_ranges - used)
        return lo, hi

    def capacity(self, opened: int) -> int:
        """Most teams that fit when `opened` fresh ranges are opened (the largest ones)."""
        return self.kept_room + self._prefix[min(opened, len(self.fresh))]

    def fits(self, opened: int) -> bool:
        lo, hi = self.bounds()
        return lo <= opened <= hi and self.capacity(opened) >= self.teams

    def smallest_opening(self) -> int:
        """Fewest fresh ranges to open for a feasible division (the division must be feasible)."""
        lo, hi = self.bounds()
        for s in range(lo, hi + 1):
            if self.capacity(s) >= self.teams:
                return s
        raise ValueError("the division is infeasible")

    def problems(self) -> list[str]:
        """Why no division exists (each a sentence), or [] when one does."""
        if self.teams == 0:
            return []
        used, n = len(self.kept), self.teams
        lo, hi = self.bounds()
        eligible = used + len(self.fresh)
        if self.max_ranges is not None and used > self.max_ranges:
            return [
                f"the kept teams already use {plural(used, 'range')}, "
                f"more than the maximum of {self.max_ranges}"
            ]
        if eligible == 0:
            return [f"no range is eligible for {plural(n, self.subject)}"]
        if lo > len(self.fresh):
            return [f"needs at least {plural(self.min_ranges, 'range')}, only {eligible} eligible"]
        if lo > hi:
            kept = f" beside the {plural(used, 'range')} already used" if used else ""
            return [
                f"needs at least {plural(self.min_ranges, 'range')} but has only "
                f"{plural(n, self.subject)} to place{kept}"
            ]
        if self.capacity(hi) >= n:
            return []
        largest = sorted(self.fresh, key=lambda c: (-c.room, c.slug))[:hi]
        counted = sorted([*(c for c in self.kept if c.room > 0), *largest], key=lambda c: (-c.room, c.slug))
        detail = ", ".join(f"{c.slug} {c.room}" for c in counted)
        where = "eligible ranges hold"
        if hi < len(self.fresh):
            where = (
                f"at most {plural(self.max_ranges or 0, 'range')} may be used and the largest eligible hold"
            )
        held = self.capacity(hi)
        needs = "needs" if n == 1 else "need"
        listed = f" ({detail})" if detail else ""
        return [f"{plural(n, self.subject)} {needs} {plural(n, 'slot')}, {where} {held}{listed}"]

    def violations(self, counts: Mapping[str, int]) -> list[str]:
        """Every way `counts` breaks the rules ([] for a valid division); guards strategies."""
        known = {c.slug: c for c in self.candidates}
        out = [f"unknown range {slug}" for slug in counts if slug not in known]
        out += [
            f"{s}: {k} teams exceed room {known[s].room}"
            for s, k in counts.items()
            if s in known and k > known[s].room
        ]
        out += [f"{s}: negative count {k}" for s, k in counts.items() if k < 0]
        if sum(counts.values()) != self.teams:
            out.append(f"places {sum(counts.values())} teams, not {self.teams}")
        used = len(self.kept) + sum(
            1 for s, k in counts.items() if k > 0 and s in known and known[s].base == 0
        )
        if used < self.min_ranges or (self.max_ranges is not None and used > self.max_ranges):
            out.append(f"uses {used} ranges outside [{self.min_ranges}, {self.max_ranges}]")
        return out


def open_ranges(division: Division, opened: int, order: Sequence[Candidate]) -> list[Candidate]:
    """`opened` fresh ranges, taken from `order` (the strategy's preference), swapped for larger ones
    only as far as needed to hold every team. Feasible whenever `division.fits(opened)`."""
    fresh = [c for c in order if c.base == 0 and c.room > 0]
    rank = {c.slug: i for i, c in enumerate(fresh)}
    chosen = fresh[:opened]
    need = division.teams - division.kept_room
    total = sum(c.room for c in chosen)
    if total >= need:
        return chosen
    # Drop the smallest (least preferred on ties) chosen range for the largest unchosen one until it fits.
    heap = [(c.room, -rank[c.slug], c.slug) for c in chosen]
    heapq.heapify(heap)
    by_slug = {c.slug: c for c in fresh}
    spare = sorted(fresh[opened:], key=lambda c: (-c.room, rank[c.slug]))
    keep = {c.slug for c in chosen}
    for candidate in spare:
        if total >= need or not heap or candidate.room <= heap[0][0]:
            break
        room, _, slug = heapq.heappop(heap)
        keep.discard(slug)
        keep.add(candidate.slug)
        heapq.heappush(heap, (candidate.room, -rank[candidate.slug], candidate.slug))
        total += candidate.room - room
    if total < need:
        raise ValueError(f"{opened} fresh ranges cannot hold {need} teams")
    return sorted((by_slug[s] for s in keep), key=lambda c: rank[c.slug])


def _start(division: Division, opened: Sequence[Candidate]) -> tuple[dict[str, int], int]:
    counts = {c.slug: 1 for c in opened}
    return counts, division.teams - len(opened)


def fill_evenly(division: Division, opened: Sequence[Candidate]) -> dict[str, int]:
    """One team per opened range, then each next team to the range holding the fewest (kept + new),
    better-ranked first on ties."""
    counts, left = _start(division, opened)
    members = [*division.kept, *opened]
    order = {c.slug: i for i, c in enumerate(division.candidates)}
    heap = [
        (c.base + counts.get(c.slug, 0), order[c.slug], c) for c in members if counts.get(c.slug, 0) < c.room
    ]
    heapq.heapify(heap)
    while left > 0:
        total, i, c = heapq.heappop(heap)
        counts[c.slug] = counts.get(c.slug, 0) + 1
        left -= 1
        if counts[c.slug] < c.room:
            heapq.heappush(heap, (total + 1, i, c))
    return counts


def fill_in_order(
    division: Division, opened: Sequence[Candidate], order: Sequence[Candidate]
) -> dict[str, int]:
    """One team per opened range, then fill ranges to their room following `order`."""
    counts, left = _start(division, opened)
    members = {c.slug for c in division.kept} | set(counts)
    for c in order:
        if left == 0:
            break
        if c.slug in members:
            add = min(c.room - counts.get(c.slug, 0), left)
            if add > 0:
                counts[c.slug] = counts.get(c.slug, 0) + add
                left -= add
    return counts


def fill_proportionally(
    division: Division, opened: Sequence[Candidate], weight: Callable[[Candidate], int]
) -> dict[str, int]:
    """One team per opened range, then each next team by the highest-averages rule with Sainte-Laguë
    divisors (1, 3, 5, ...) on `weight`, counting kept teams: totals end up proportional to the
    weights as far as room allows, without D'Hondt's lean towards the heaviest range."""
    counts, left = _start(division, opened)
    order = {c.slug: i for i, c in enumerate(division.candidates)}

    def key(c: Candidate) -> tuple[float, int, Candidate]:
        return (-weight(c) / (2 * (c.base + counts.get(c.slug, 0)) + 1), order[c.slug], c)

    heap = [key(c) for c in (*division.kept, *opened) if counts.get(c.slug, 0) < c.room]
    heapq.heapify(heap)
    while left > 0:
        _, _, c = heapq.heappop(heap)
        counts[c.slug] = counts.get(c.slug, 0) + 1
        left -= 1
        if counts[c.slug] < c.room:
            heapq.heappush(heap, key(c))
    return counts
