"""The Placer the exercise lifecycle uses: the placement engine (filter -> score -> divide) over the
candidates the planner gathered, turned into a Plan (team -> range, demand per range, every reason)."""

from __future__ import annotations

from collections import defaultdict

from connectors.base import Resources
from orchestrator.exercises.model import Assignment, Plan
from orchestrator.exercises.planning import Candidate, PlacementAsk
from orchestrator.placement import engine, replace
from orchestrator.placement.plugins import Plugins
from orchestrator.placement.request import Affinity, Constraints, Owner, PlacementRequest, Team
from orchestrator.placement.result import Assignment as Placed
from orchestrator.placement.result import Placement
from orchestrator.placement.snapshot import Health, PlacementSnapshot, RangeState


def _state(candidate: Candidate) -> RangeState:
    return RangeState(
        range=candidate.range,
        free=candidate.free.free,
        free_at=dict(candidate.free.at),
        health=Health(ok=candidate.healthy, reason=candidate.health_reason),
    )


def request_of(ask: PlacementAsk) -> PlacementRequest:
    c = ask.constraints
    return PlacementRequest(
        exercise=ask.exercise,
        owner=Owner(
            organisation_id=ask.owner_organisation_id,
            name=ask.owner_name or ask.owner_organisation_id,
            country=ask.owner_country,
        ),
        teams=tuple(Team(name=t.name, organisation=t.organisation, country=t.country) for t in ask.teams),
        demand=ask.demand,
        start=ask.start,
        end=ask.end,
        now=ask.now,
        constraints=Constraints(
            required_capabilities=frozenset(c.capabilities),
            allowed_countries=frozenset(c.allowed_countries),
            include_ranges=frozenset(c.include_ranges),
            exclude_ranges=frozenset(c.exclude_ranges),
            min_ranges=c.min_ranges,
            max_ranges=c.max_ranges,
            max_teams_per_range=c.max_teams_per_range,
            affinity=Affinity.OWN_COUNTRY if c.country_affinity else Affinity.NONE,
        ),
        strategy=c.strategy.value,
    )


def _plan(placement: Placement, *, feasible: bool, extra_reasons: tuple[str, ...] = ()) -> Plan:
    demand: dict[str, Resources] = defaultdict(Resources)
    for booking in placement.bookings():
        demand[booking.range_id] = booking.demand
    rejected = {}
    for outcome in placement.ranges:
        reasons = tuple(r for v in outcome.verdicts.values() if not v.ok for r in v.reasons)
        if reasons and outcome.teams == 0:
            rejected[outcome.range_slug] = reasons
    return Plan(
        feasible=feasible,
        assignments=tuple(
            Assignment(
                team=a.team,
                range_id=a.range_id,
                range_slug=a.range_slug,
                reason="on a range in its own country" if a.affinity else "",
            )
            for a in sorted(placement.assignments, key=lambda a: a.team)
        ),
        demand=dict(demand),
        reasons=extra_reasons + (() if feasible else placement.reasons),
        rejected=rejected,
        summary=placement.summary(),
    )


class EnginePlacer:
    def __init__(self, plugins: Plugins) -> None:
        self.plugins = plugins

    def __call__(self, ask: PlacementAsk) -> Plan:
        request = request_of(ask)
        snapshot = PlacementSnapshot(
            start=ask.start, end=ask.end, ranges=tuple(_state(c) for c in ask.candidates)
        )
        if ask.current is None:
            placement = engine.place(request, snapshot, self.plugins)
            return _plan(placement, feasible=placement.feasible)
        slugs = {c.range.id: c.range.slug for c in ask.candidates}
        current = Placement(
            exercise=ask.exercise,
            feasible=True,
            strategy=request.strategy,
            assignments=tuple(
                Placed(team=team, range_id=range_id, range_slug=slugs.get(range_id, range_id))
                for team, range_id in sorted(ask.current.items())
            ),
            ranges=(),
        )
        result = replace.replace_teams(current, request, snapshot, self.plugins, unusable=ask.unusable or {})
        return _plan(result.placement, feasible=result.complete, extra_reasons=result.reasons)
