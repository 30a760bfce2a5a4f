"""Re-placement: only teams on unusable ranges move, every constraint still holds, and a refusal is right."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

import pytest
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from connectors.base import Resources
from orchestrator.domain.errors import InvalidInput
from orchestrator.domain.ranges import RangeStatus
from orchestrator.placement import Constraints, default_plugins, place, replace_teams
from orchestrator.placement.request import PlacementRequest
from orchestrator.placement.result import Placement
from orchestrator.placement.snapshot import Health, PlacementSnapshot, RangeState
from tests.unit.placement.builders import (
    STRATEGY_NAMES,
    a_range,
    a_request,
    a_snapshot,
    a_state,
    brute_force_exists,
    fits,
    hard_rules_allow,
    rules_allow_new,
    share_of,
    small_worlds,
    teams,
)

PLUGINS = default_plugins()


def three_ranges() -> PlacementSnapshot:
    return a_snapshot(
        a_state(a_range("ee-range", country="EE")),
        a_state(a_range("fi-range", country="FI")),
        a_state(a_range("lv-range", country="LV")),
    )


def initial() -> tuple[PlacementRequest, Placement]:
    request = a_request(teams("EE", "FI", "LV", "EE", "FI", "LV"))
    placement = place(request, three_ranges(), PLUGINS)
    assert {b.range_slug: b.teams for b in placement.bookings()} == {
        "ee-range": 2,
        "fi-range": 2,
        "lv-range": 2,
    }
    return request, placement


def test_teams_leave_a_range_that_went_into_maintenance() -> None:
    request, current = initial()
    # Kept teams' bookings count as used in the new snapshot: EE and LV have room for 2 more each.
    after = a_snapshot(
        a_state(a_range("ee-range", country="EE"), free=Resources(32000, 49152, 8)),
        a_state(a_range("fi-range", country="FI", status=RangeStatus.MAINTENANCE)),
        a_state(a_range("lv-range", country="LV"), free=Resources(32000, 49152, 8)),
    )
    result = replace_teams(current, request, after, PLUGINS)
    assert result.complete
    assert result.unusable == {
        "fi-range": ("fi-range: status maintenance: the operator has taken it out of service",)
    }
    assert {m.team for m in result.moves} == {"team-01", "team-04"}
    assert all(m.from_range_slug == "fi-range" for m in result.moves)
    assert Counter(m.to_range_slug for m in result.moves) == {"ee-range": 1, "lv-range": 1}
    for a in current.assignments:
        if a.range_slug != "fi-range":
            assert result.placement.by_team()[a.team] == a
    assert [(b.range_slug, b.teams, b.demand) for b in result.additions] == [
        ("ee-range", 1, Resources(16000, 8192, 1)),
        ("lv-range", 1, Resources(16000, 8192, 1)),
    ]
    assert [(b.range_slug, b.teams) for b in result.releases] == [("fi-range", 2)]
    assert result.placement.feasible
    assert {b.range_slug: b.teams for b in result.placement.bookings()} == {"ee-range": 3, "lv-range": 3}
    assert result.summary().startswith("2 teams moved off unusable ranges (team-01 fi-range->")


@pytest.mark.parametrize("strategy", STRATEGY_NAMES)
def test_nothing_moves_while_every_range_is_usable_even_if_full_or_draining(strategy: str) -> None:
    request, current = initial()
    request = replace(request, strategy=strategy)
    after = a_snapshot(
        a_state(a_range("ee-range", country="EE"), free=Resources()),
        a_state(a_range("fi-range", country="FI", status=RangeStatus.DRAINING)),
        a_state(a_range("lv-range", country="LV")),
    )
    result = replace_teams(current, request, after, PLUGINS)
    assert result.moves == ()
    assert result.unusable == {}
    assert result.complete
    assert result.placement.assignments == current.assignments
    assert result.summary() == "every range of locked-shields is still usable; no team moves"


def test_caller_named_and_vanished_ranges_are_unusable() -> None:
    request, current = initial()
    after = a_snapshot(a_state(a_range("ee-range", country="EE")), a_state(a_range("fi-range", country="FI")))
    result = replace_teams(
        current,
        request,
        after,
        PLUGINS,
        unusable={"id-fi-range": "probe failed: 3 times in a row"},
    )
    assert result.unusable == {
        "fi-range": ("fi-range: probe failed: 3 times in a row",),
        "lv-range": ("lv-range: no longer in the snapshot of ranges",),
    }
    assert {m.to_range_slug for m in result.moves} == {"ee-range"}
    assert result.placement.outcome("fi-range").verdict.reasons == (
        "fi-range: probe failed: 3 times in a row",
    )


def test_when_not_all_teams_fit_as_many_as_possible_move() -> None:
    request, current = initial()
    after = a_snapshot(
        a_state(a_range("ee-range", country="EE"), free=Resources(16000, 49152, 8)),
        a_state(
            a_range("fi-range", country="FI"),
            health=Health(ok=False, reason="probe failed: connection refused"),
        ),
        a_state(a_range("lv-range", country="LV"), free=Resources(8000, 49152, 8)),
    )
    result = replace_teams(current, request, after, PLUGINS)
    assert not result.complete
    assert [(m.team, m.to_range_slug) for m in result.moves] == [("team-01", "ee-range")]
    assert result.unplaced == ("team-04",)
    assert result.reasons == ("2 moving teams need 2 slots, eligible ranges hold 1 (ee-range 1)",)
    assert not result.placement.feasible
    assert "lv-range: free 8000 cpu millicores < 16000 needed for one team" in result.placement.reasons[2]
    assert "cannot move team-04" in result.summary()


def test_current_must_be_a_feasible_placement_of_the_same_teams() -> None:
    request, current = initial()
    with pytest.raises(InvalidInput, match="current: does not place teams team-06"):
        replace_teams(
            current,
            replace(request, teams=(*request.teams, *teams(*["EE"] * 7)[6:])),
            three_ranges(),
            PLUGINS,
        )
    impossible = place(a_request(60), three_ranges(), PLUGINS)
    with pytest.raises(InvalidInput, match="current: is not a feasible placement"):
        replace_teams(impossible, a_request(60), three_ranges(), PLUGINS)


def test_min_ranges_still_holds_after_moving() -> None:
    request = a_request(teams("EE", "FI", "LV"), constraints=Constraints(min_ranges=3))
    current = place(request, three_ranges(), PLUGINS)
    assert current.feasible
    four = a_snapshot(*three_ranges().ranges, a_state(a_range("de-range", country="DE")))
    broken = replace_teams(current, request, four, PLUGINS, unusable={"fi-range": "operator request"})
    assert [m.to_range_slug for m in broken.moves] == ["de-range"]  # a fourth range keeps the exercise on 3


@st.composite
def changes(draw: st.DrawFn, snapshot: PlacementSnapshot) -> tuple[PlacementSnapshot, dict[str, str]]:
    """A later snapshot: some ranges broken or draining, free capacity redrawn, some named by the caller."""
    states: list[RangeState] = []
    named: dict[str, str] = {}
    for state in snapshot.ranges:
        kind = draw(
            st.sampled_from(
                ["same"] * 10 + ["maintenance", "decommissioned", "draining", "sick", "caps", "named", "gone"]
            )
        )
        rng, health = state.range, state.health
        if kind == "gone":
            continue
        if kind in {"maintenance", "decommissioned", "draining"}:
            rng = replace(rng, status=RangeStatus(kind))
        if kind == "sick":
            health = Health(ok=False, reason="probe failed: timeout")
        if kind == "caps":
            rng = replace(rng, capabilities=frozenset())
        if kind == "named":
            named[rng.slug] = "operator says so"
        free = share_of(draw, rng.capacity)
        states.append(a_state(rng, free=free, health=health))
    return a_snapshot(*states), named


@settings(
    max_examples=250, deadline=None, suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow]
)
@given(world=small_worlds(max_teams=5, friendly=True), data=st.data())
def test_replacement_moves_only_affected_teams_within_every_rule(
    world: tuple[PlacementSnapshot, PlacementRequest], data: st.DataObject
) -> None:
    snapshot, request = world
    current = place(request, snapshot, PLUGINS)
    assume(current.feasible)
    after, named = data.draw(changes(snapshot))
    result = replace_teams(current, request, after, PLUGINS, unusable=named)
    event(
        "no team to move"
        if not result.unusable
        else "all moved"
        if result.complete
        else result.reasons[0][:34]
    )

    states = {s.range.slug: s for s in after.ranges}
    used = {a.range_slug for a in current.assignments}
    broken = {
        slug
        for slug in used
        if slug not in states or slug in named or not hard_rules_allow(states[slug], request)
    }
    assert set(result.unusable) == broken
    was = current.by_team()
    now = result.placement.by_team()
    moving = [t for t, a in was.items() if a.range_slug in broken]
    for team, a in was.items():
        if a.range_slug not in broken:
            assert now[team] == a, "a team on a usable range must stay"
    base = Counter(a.range_slug for t, a in was.items() if a.range_slug not in broken)
    added = Counter(m.to_range_slug for m in result.moves)
    for m in result.moves:
        assert m.from_range_slug in broken
        assert now[m.team].range_slug == m.to_range_slug
    for slug, k in added.items():
        assert slug not in broken and slug not in named
        assert rules_allow_new(states[slug], request)
        assert fits(states[slug], request, k, base.get(slug, 0))
    in_use = set(base) | set(added)
    c = request.constraints
    if result.moves or result.complete:
        assert c.min_ranges <= len(in_use) or not moving
        assert c.max_ranges is None or len(in_use) <= c.max_ranges
    assert sorted(result.unplaced) == sorted(set(moving) - {m.team for m in result.moves})
    assert result.placement.feasible == result.complete
    assert {b.range_slug: b.teams for b in result.additions} == dict(added)
    assert sum(b.teams for b in result.releases) == len(moving)

    candidates = [s for slug, s in states.items() if slug not in broken and slug not in named]
    assert result.complete == brute_force_exists(candidates, request, len(moving), base), (
        result.summary(),
        result.placement.reasons,
        current.summary(),
    )
    for more in range(len(result.moves) + 1, len(moving) + 1):
        assert not brute_force_exists(candidates, request, more, base), "could have moved more teams"
