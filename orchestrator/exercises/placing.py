"""Placing an exercise's teams: the facts about the ranges, read once, then the placement engine over them.

The snapshot holds every range that is not decommissioned, its health from the last probe, and what the
owner may still book on it over the booked window [start - lead, end). Placement itself is pure
(`orchestrator.placement`); this module only gathers the facts and builds the request, for a fresh
placement (planning, creating) and for a re-placement of the teams on unusable ranges (healing).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime

from connectors.base import ZERO, Resources
from orchestrator.catalogue.scenario_facts import ScenarioHandle
from orchestrator.domain.ranges import RangeStatus
from orchestrator.exercises.model import Exercise, ExerciseDraft, Instance
from orchestrator.exercises.ports import UnitOfWork
from orchestrator.placement import engine, replace_teams
from orchestrator.placement.plugins import Plugins
from orchestrator.placement.replace import Replacement
from orchestrator.placement.request import Constraints, Owner, PlacementRequest, Team
from orchestrator.placement.result import Assignment, Placement
from orchestrator.placement.snapshot import Health, PlacementSnapshot, RangeState


def with_requirements(constraints: Constraints, handle: ScenarioHandle) -> Constraints:
    """The trainer's constraints plus every capability the scenario requires of its range."""
    return replace(constraints, required_capabilities=constraints.required_capabilities | handle.requires)


def owner_of(unit: UnitOfWork, organisation_id: str) -> Owner:
    """The organisation that will own the bookings, as the sharing policies see it."""
    org = unit.catalogue.get_organisation(organisation_id)
    if org is None:
        return Owner(organisation_id=organisation_id, name=organisation_id, country="")
    return Owner(organisation_id=org.id, name=org.name, country=org.country)


def snapshot(
    unit: UnitOfWork,
    *,
    start: datetime,
    end: datetime,
    owner: Owner,
    include_peers: bool = False,
    peers_take_more: bool = True,
) -> PlacementSnapshot:
    """Every range that is not decommissioned, with its health and what `owner` may book over the window.

    A peer's range (imported from another instance) takes part only with `include_peers`; what may be
    booked there is also at most what its home instance said it would still admit for us at the last
    probe (the hold, asked of the home instance itself, decides). Without `peers_take_more` nothing is
    free there: the teams it has stay, no new one goes there (healing books without a hold at the peer)."""
    records = [
        r
        for r in unit.catalogue.list_ranges(country=None, capability=None, status=None)
        if r.status is not RangeStatus.DECOMMISSIONED and (include_peers or r.origin_peer_id is None)
    ]
    ids = [r.id for r in records]
    free = unit.booking.free_for(
        ids, start=start, end=end, organisation_id=owner.organisation_id, country=owner.country
    )
    health = unit.catalogue.health_of(ids)
    states = []
    for record in records:
        probe = health.get(record.id)
        room = free.get(record.id)
        available = room.free if room is not None else ZERO
        if record.origin_peer_id is not None and not peers_take_more:
            available = ZERO
        elif record.origin_peer_id is not None and probe is not None and probe.healthy:
            available = Resources(
                *(
                    min(a, b)
                    for (_, a), (_, b) in zip(available.items(), probe.observed_free.items(), strict=True)
                )
            )
        states.append(
            RangeState(
                range=record.snapshot(),
                free=available,
                free_at=dict(room.at) if room is not None else {},
                health=Health() if probe is None or probe.healthy else Health(ok=False, reason=probe.reason),
            )
        )
    return PlacementSnapshot(start=start, end=end, ranges=tuple(states))


def _request(
    *,
    name: str,
    owner: Owner,
    teams: Sequence[Team],
    handle: ScenarioHandle,
    constraints: Constraints,
    strategy: str,
    start: datetime,
    end: datetime,
    now: datetime,
) -> PlacementRequest:
    return PlacementRequest(
        exercise=name,
        owner=owner,
        teams=tuple(teams),
        demand=handle.demand,
        start=start,
        end=end,
        now=now,
        constraints=with_requirements(constraints, handle),
        strategy=strategy,
        privileges=handle.facts.privileges,
        unpinned_images=handle.facts.unpinned_images,
    )


def place_draft(
    unit: UnitOfWork,
    plugins: Plugins,
    draft: ExerciseDraft,
    handle: ScenarioHandle,
    *,
    owner: Owner,
    now: datetime,
    include_peers: bool = False,
) -> Placement:
    """Where each team of the draft goes, or why no placement exists (never raises for infeasible)."""
    request = _request(
        name=draft.name,
        owner=owner,
        teams=draft.teams,
        handle=handle,
        constraints=draft.constraints,
        strategy=draft.strategy,
        start=draft.booked_from,
        end=draft.end,
        now=now,
    )
    ranges = snapshot(unit, start=request.start, end=request.end, owner=owner, include_peers=include_peers)
    return engine.place(request, ranges, plugins)


def replace_exercise(
    unit: UnitOfWork,
    plugins: Plugins,
    exercise: Exercise,
    handle: ScenarioHandle,
    instances: Sequence[Instance],
    *,
    owner: Owner,
    unusable: Mapping[str, str],
    now: datetime,
) -> Replacement:
    """Move the teams on `unusable` ranges (range id -> reason, none of them a target either); every
    other team stays where it is, on a peer's range too, but no team moves onto a peer's range."""
    request = _request(
        name=exercise.name,
        owner=owner,
        teams=[
            Team(name=i.team, organisation=i.team_organisation, country=i.team_country) for i in instances
        ],
        handle=handle,
        constraints=exercise.constraints,
        strategy=exercise.strategy,
        start=exercise.deploy_at,
        end=exercise.end,
        now=now,
    )
    ranges = snapshot(
        unit, start=request.start, end=request.end, owner=owner, include_peers=True, peers_take_more=False
    )
    slugs = {state.range.id: state.slug for state in ranges.ranges}
    current = Placement(
        exercise=exercise.name,
        feasible=True,
        strategy=exercise.strategy,
        assignments=tuple(
            Assignment(team=i.team, range_id=i.range_id, range_slug=slugs.get(i.range_id, i.range_id))
            for i in sorted(instances, key=lambda i: i.team)
        ),
        ranges=(),
    )
    return replace_teams(current, request, ranges, plugins, unusable=unusable)
