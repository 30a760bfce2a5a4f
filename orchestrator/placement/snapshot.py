"""What placement knows about the ranges for one window: read once, decided over, never re-read.

A `RangeState` is a range's catalogue entry plus what its calendar and its probes say about the window:
the lowest free capacity over the window (with the instant each dimension bottoms out, so a refusal can say
when), optionally the part of it the requesting owner may use (after the foreign-share rule), and health.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from connectors.base import Resources
from orchestrator.domain.errors import FieldProblem, InvalidInput
from orchestrator.domain.ranges import RangeSnapshot


@dataclass(frozen=True, kw_only=True)
class Health:
    """The last probe's outcome; `reason` says what failed (e.g. "probe failed: connection refused")."""

    ok: bool = True
    reason: str = ""


HEALTHY = Health()


@dataclass(frozen=True, kw_only=True)
class RangeState:
    """One range over the snapshot's window.

    `free` is the lowest total free capacity over the window (maintenance counted as fully used);
    `owner_free`, when given, is the lowest free capacity the requesting owner may use (for a foreign
    owner, further limited by the range's `max_foreign_share`); placement uses `owner_free` when present.
    The `*_at` maps give, per dimension, the first instant of that minimum.
    """

    range: RangeSnapshot
    free: Resources
    free_at: Mapping[str, datetime] = field(default_factory=dict)
    owner_free: Resources | None = None
    owner_free_at: Mapping[str, datetime] | None = None
    health: Health = HEALTHY

    @property
    def slug(self) -> str:
        return self.range.slug

    @property
    def usable(self) -> Resources:
        """The free capacity this request may use."""
        return self.owner_free if self.owner_free is not None else self.free

    @property
    def usable_at(self) -> Mapping[str, datetime]:
        if self.owner_free is not None and self.owner_free_at is not None:
            return self.owner_free_at
        return self.free_at


def teams_that_fit(free: Resources, demand: Resources) -> int:
    """How many instances of `demand` fit in `free`: min over the demanded dimensions of free // demand.

    Dimensions with no demand are ignored; a negative free (an overbooked range) fits nothing.
    `demand` must have at least one positive dimension (the request guarantees it).
    """
    best: int | None = None
    for dimension, need in demand.items():
        if need <= 0:
            continue
        k = max(0, free.get(dimension)) // need
        best = k if best is None else min(best, k)
    if best is None:
        raise ValueError("demand has no positive dimension")
    return best


@dataclass(frozen=True, kw_only=True)
class PlacementSnapshot:
    """Every range placement may consider, for the window [start, end); ordered by slug."""

    start: datetime
    end: datetime
    ranges: tuple[RangeState, ...]

    def __post_init__(self) -> None:
        problems: list[FieldProblem] = []
        if self.end <= self.start:
            problems.append(FieldProblem("snapshot.end", "must be after snapshot.start"))
        for label, names in (
            ("slug", [s.range.slug for s in self.ranges]),
            ("id", [s.range.id for s in self.ranges]),
        ):
            repeated = sorted(k for k, n in Counter(names).items() if n > 1)
            if repeated:
                problems.append(
                    FieldProblem("snapshot.ranges", f"repeated range {label}: {', '.join(repeated)}")
                )
        if problems:
            raise InvalidInput(problems)
        object.__setattr__(self, "ranges", tuple(sorted(self.ranges, key=lambda s: s.range.slug)))

    def find(self, name: str) -> RangeState | None:
        """The range whose slug or id is `name`, if any."""
        for state in self.ranges:
            if name in (state.range.slug, state.range.id):
                return state
        return None
