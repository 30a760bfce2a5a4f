"""Placement properties over random small federations, checked against an independent brute-force oracle.

- every feasible placement satisfies every hard constraint and capacity;
- an infeasible answer is right: no assignment exists at all (brute force over every count vector);
- the affinity gets as many teams onto a range in their own country as the chosen counts allow;
- the answer is deterministic.
"""

from __future__ import annotations

from collections import Counter

from hypothesis import HealthCheck, event, given, settings

from orchestrator.placement.affinity import best_possible
from orchestrator.placement.engine import place
from orchestrator.placement.plugins import default_plugins
from orchestrator.placement.request import Affinity, PlacementRequest
from orchestrator.placement.result import Placement
from orchestrator.placement.snapshot import PlacementSnapshot
from tests.unit.placement.builders import (
    STRATEGY_NAMES,
    brute_force_exists,
    fits,
    rules_allow_new,
    small_worlds,
    with_strategy,
)

PLUGINS = default_plugins()


def assert_satisfies_everything(
    placement: Placement, snapshot: PlacementSnapshot, request: PlacementRequest
) -> None:
    c = request.constraints
    states = {s.range.slug: s for s in snapshot.ranges}
    assert sorted(a.team for a in placement.assignments) == sorted(t.name for t in request.teams)
    counts = Counter(a.range_slug for a in placement.assignments)
    for slug, k in counts.items():
        state = states[slug]
        assert rules_allow_new(state, request), f"{slug} breaks a rule"
        assert fits(state, request, k), f"{k} teams do not fit on {slug}"
        assert state.range.id == next(a.range_id for a in placement.assignments if a.range_slug == slug)
    assert c.min_ranges <= len(counts)
    assert c.max_ranges is None or len(counts) <= c.max_ranges
    for outcome in placement.ranges:
        assert outcome.teams == counts.get(outcome.range_slug, 0)
        assert outcome.demand == request.demand.scale(outcome.teams)
    assert {b.range_slug: b.teams for b in placement.bookings()} == dict(counts)
    assert not placement.reasons


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_worlds())
def test_placement_is_valid_or_provably_impossible(world: tuple[PlacementSnapshot, PlacementRequest]) -> None:
    snapshot, request = world
    placement = place(request, snapshot, PLUGINS)
    exists = brute_force_exists(snapshot.ranges, request, request.team_count)
    assert placement.feasible == exists, placement.summary()
    event("feasible" if exists else f"infeasible: {placement.constraint_reasons[0].split(',')[0][:40]}")
    if placement.feasible:
        assert_satisfies_everything(placement, snapshot, request)
    else:
        assert placement.assignments == ()
        assert placement.constraint_reasons, "an infeasible placement names the violated constraint"
        for outcome in placement.ranges:
            if not outcome.verdict.ok:
                assert outcome.verdict.reasons
                assert all(r.startswith(f"{outcome.range_slug}: ") for r in outcome.verdict.reasons)


@settings(max_examples=150, deadline=None)
@given(small_worlds())
def test_every_strategy_is_complete(world: tuple[PlacementSnapshot, PlacementRequest]) -> None:
    snapshot, request = world
    exists = brute_force_exists(snapshot.ranges, request, request.team_count)
    for name in STRATEGY_NAMES:
        variant = with_strategy(request, name)
        placement = place(variant, snapshot, PLUGINS)
        assert placement.feasible == exists, f"{name}: {placement.summary()}"
        if exists:
            assert_satisfies_everything(placement, snapshot, variant)


@settings(max_examples=150, deadline=None)
@given(small_worlds())
def test_affinity_is_as_good_as_the_counts_allow(world: tuple[PlacementSnapshot, PlacementRequest]) -> None:
    snapshot, request = world
    placement = place(request, snapshot, PLUGINS)
    if not placement.feasible:
        return
    counts = Counter(a.range_slug for a in placement.assignments)
    ranges = {s.range.slug: s.range for s in snapshot.ranges}
    teams = {t.name: t for t in request.teams}
    for a in placement.assignments:
        assert a.affinity == (
            request.constraints.affinity is Affinity.OWN_COUNTRY
            and teams[a.team].country == ranges[a.range_slug].country
        )
    if request.constraints.affinity is Affinity.OWN_COUNTRY:
        assert placement.affinity_met == best_possible(request.teams, counts, ranges)
    else:
        assert placement.affinity_met == 0


@settings(max_examples=100, deadline=None)
@given(small_worlds())
def test_same_input_same_answer(world: tuple[PlacementSnapshot, PlacementRequest]) -> None:
    snapshot, request = world
    reordered = PlacementSnapshot(
        start=snapshot.start, end=snapshot.end, ranges=tuple(reversed(snapshot.ranges))
    )
    assert place(request, snapshot, PLUGINS) == place(request, reordered, PLUGINS)
