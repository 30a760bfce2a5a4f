"""Planning: from an exercise draft to a Plan, over a snapshot of the ranges read once.

The snapshot holds every range the owner could see, its health from the last probe, and what the owner
may still book on it over the booked window [start - lead, end). The placement itself is pure and
reached through the `Placer` port, so this module only gathers facts and turns them into a Plan.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from connectors.base import Resources
from orchestrator.domain.ranges import RangeSnapshot, RangeStatus
from orchestrator.exercises.model import Constraints, Plan, TeamDraft
from orchestrator.exercises.ports import FreeCapacity, ScenarioHandle, Unit
from scenarios.footprint import footprint


@dataclass(frozen=True, kw_only=True)
class Candidate:
    range: RangeSnapshot
    free: FreeCapacity
    healthy: bool = True
    health_reason: str = ""


@dataclass(frozen=True, kw_only=True)
class PlacementAsk:
    """Everything a placement decision reads.

    With `current` (team -> range id of every team) the ask is a re-placement: only the teams on ranges
    that became unusable (the ranges in `unusable`, range id -> reason, or ranges the placement rules now
    reject) move; every other team stays where it is.
    """

    teams: Sequence[TeamDraft]
    demand: Resources
    candidates: Sequence[Candidate]
    constraints: Constraints
    owner_organisation_id: str
    owner_country: str
    start: datetime
    end: datetime
    now: datetime
    exercise: str = "the exercise"
    owner_name: str = ""
    current: Mapping[str, str] | None = None
    unusable: Mapping[str, str] | None = None


class Placer(Protocol):
    def __call__(self, ask: PlacementAsk) -> Plan:
        """Decide which team goes to which range; never raises for an infeasible ask (the Plan says
        why, per range and per constraint)."""
        ...


def demand_of(handle: ScenarioHandle) -> Resources:
    """One team instance's booked demand: the scenario's footprint."""
    return Resources.from_dict(footprint(handle.scenario).demand())


def candidates(
    unit: Unit,
    *,
    start: datetime,
    end: datetime,
    owner_organisation_id: str,
    owner_country: str,
    exclude_statuses: frozenset[RangeStatus] = frozenset({RangeStatus.DECOMMISSIONED}),
) -> list[Candidate]:
    """Every range with its health and what the owner may book on it over [start, end)."""
    records = [
        r
        for r in unit.catalogue.list_ranges(country=None, capability=None, status=None)
        if r.status not in exclude_statuses
    ]
    ids = [r.id for r in records]
    free = unit.bookings.free_for(
        range_ids=ids,
        start=start,
        end=end,
        owner_organisation_id=owner_organisation_id,
        owner_country=owner_country,
    )
    health = unit.catalogue.health_of(ids)
    out = []
    for record in records:
        probe = health.get(record.id)
        out.append(
            Candidate(
                range=record.snapshot(),
                free=free.get(record.id, FreeCapacity(free=Resources(), at={})),
                healthy=True if probe is None else probe.healthy,
                health_reason="" if probe is None or probe.healthy else probe.reason,
            )
        )
    return out
