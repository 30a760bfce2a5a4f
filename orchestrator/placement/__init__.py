"""Placement: which team of an exercise goes to which range, as a pure filter -> score -> divide pipeline.

Callers build a `PlacementRequest` and a `PlacementSnapshot` (`build_snapshot` from per-range calendars),
select plugins once at start-up (`builtin_registry().select(...)` or `default_plugins()`), then call
`place(...)`; `replace_teams(...)` re-places the teams of ranges that became unusable.
"""

from __future__ import annotations

from orchestrator.placement.engine import place
from orchestrator.placement.occupancy import RangeBookings, RangeCalendar, build_snapshot
from orchestrator.placement.plugins import Plugins, Registry, builtin_registry, default_plugins
from orchestrator.placement.replace import Move, Replacement, replace_teams
from orchestrator.placement.request import Affinity, Constraints, Owner, PlacementRequest, Team
from orchestrator.placement.result import Assignment, Placement, RangeBooking, RangeOutcome, Verdict
from orchestrator.placement.snapshot import Health, PlacementSnapshot, RangeState

__all__ = [
    "Affinity",
    "Assignment",
    "Constraints",
    "Health",
    "Move",
    "Owner",
    "Placement",
    "PlacementRequest",
    "PlacementSnapshot",
    "Plugins",
    "RangeBooking",
    "RangeBookings",
    "RangeCalendar",
    "RangeOutcome",
    "RangeState",
    "Registry",
    "Replacement",
    "Team",
    "Verdict",
    "build_snapshot",
    "builtin_registry",
    "default_plugins",
    "place",
    "replace_teams",
]
