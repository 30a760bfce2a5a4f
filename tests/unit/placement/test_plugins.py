"""Plugins by name: unknown names fail at selection (start-up), custom plugins slot in, bad ones are
caught."""

from __future__ import annotations

from collections.abc import Mapping

import pytest
from hypothesis import given, settings

from connectors.base import Resources
from orchestrator.domain.errors import InvalidInput
from orchestrator.placement import place
from orchestrator.placement.context import PlacementContext
from orchestrator.placement.division import Division
from orchestrator.placement.filters import BUILTIN_FILTERS
from orchestrator.placement.plugins import Registry, builtin_registry
from orchestrator.placement.request import PlacementRequest
from orchestrator.placement.result import Verdict
from orchestrator.placement.scores import BUILTIN_SCORES, combine
from orchestrator.placement.snapshot import PlacementSnapshot, RangeState
from orchestrator.placement.strategies import BUILTIN_STRATEGIES
from tests.unit.placement.builders import a_range, a_request, a_snapshot, a_state, small_worlds, teams


class NoFridays:
    """A custom filter: refuses ranges whose slug starts with 'fri' (stands in for any site rule)."""

    name = "no-fridays"
    new_bookings_only = True

    def check(self, state: RangeState, ctx: PlacementContext) -> Verdict:
        if state.slug.startswith("fri"):
            return Verdict.no(f"{state.slug}: closed on Fridays")
        return Verdict.yes()


class Greedy:
    """A broken strategy: puts every team on the first candidate whatever its room."""

    name = "greedy"
    default_weights: Mapping[str, int] = {}

    def divide(self, division: Division) -> dict[str, int]:
        return {division.candidates[0].slug: division.teams}


def test_builtins_are_registered_by_name() -> None:
    registry = builtin_registry()
    assert list(registry.filters) == [
        "status",
        "draining",
        "selection",
        "country",
        "capability",
        "sharing-policy",
        "security-policy",
        "maintenance",
        "health",
        "capacity",
    ]
    assert set(registry.scores) == {"balance", "pack", "locality", "preference"}
    assert set(registry.strategies) == {"spread", "pack", "weighted", "first-fit"}


def test_unknown_names_fail_at_selection() -> None:
    with pytest.raises(InvalidInput) as caught:
        builtin_registry().select(filters=["status", "moon-phase"], strategies=["spread", "random"])
    assert [(p.field, p.reason) for p in caught.value.problems] == [
        (
            "placement.filters",
            "unknown filter 'moon-phase'; known: capability, capacity, country, draining, health, "
            "maintenance, security-policy, selection, sharing-policy, status",
        ),
        ("placement.strategies", "unknown strategy 'random'; known: first-fit, pack, spread, weighted"),
    ]


def test_a_strategy_needing_an_unselected_score_fails_at_selection() -> None:
    with pytest.raises(InvalidInput, match="strategy 'spread' weighs scores that are not selected: balance"):
        builtin_registry().select(scores=["locality", "preference", "pack"], strategies=["spread"])


def test_duplicate_names_are_a_programming_error() -> None:
    with pytest.raises(ValueError, match="two filter plugins are named 'status'"):
        Registry.of(
            filters=[*BUILTIN_FILTERS, BUILTIN_FILTERS[0]],
            scores=BUILTIN_SCORES,
            strategies=BUILTIN_STRATEGIES,
        )


def test_custom_filter_runs_with_the_builtins() -> None:
    registry = Registry.of(
        filters=[*BUILTIN_FILTERS, NoFridays()], scores=BUILTIN_SCORES, strategies=BUILTIN_STRATEGIES
    )
    plugins = registry.select()
    snapshot = a_snapshot(a_state(a_range("fri-range")), a_state(a_range("sat-range")))
    placement = place(a_request(2), snapshot, plugins)
    assert {b.range_slug for b in placement.bookings()} == {"sat-range"}
    assert placement.outcome("fri-range").verdict.reasons == ("fri-range: closed on Fridays",)
    # Selecting only some filters drops the others.
    only_status = registry.select(filters=["status", "capacity"])
    assert [f.name for f in only_status.filters] == ["status", "capacity"]
    assert place(a_request(2), snapshot, only_status).outcome("fri-range").teams == 1


def test_a_strategy_returning_an_invalid_division_is_caught() -> None:
    plugins = Registry.of(filters=BUILTIN_FILTERS, scores=BUILTIN_SCORES, strategies=[Greedy()]).select()
    snapshot = a_snapshot(a_state(a_range("ee-range")), a_state(a_range("fi-range")))
    with pytest.raises(
        RuntimeError, match=r"strategy 'greedy' returned an invalid division: .*exceed room 4"
    ):
        place(a_request(6, strategy="greedy"), snapshot, plugins)


def test_scores_are_combined_as_a_weighted_mean() -> None:
    assert combine({"balance": 80, "locality": 20}, {"balance": 2, "locality": 1}) == 60
    assert combine({"balance": 81, "locality": 20}, {"balance": 1, "locality": 1}) == 51  # 50.5 rounds up
    assert combine({"balance": 80}, {}) == 0
    assert combine({"balance": 80}, {"missing": 3, "balance": 1}) == 80


@settings(max_examples=100, deadline=None)
@given(world=small_worlds())
def test_every_score_is_an_int_from_0_to_100(world: tuple[PlacementSnapshot, PlacementRequest]) -> None:
    snapshot, request = world
    ctx = PlacementContext.of(request)
    for score in BUILTIN_SCORES:
        for state in snapshot.ranges:
            value = score.score(state, ctx)
            assert isinstance(value, int)
            assert 0 <= value <= 100, score.name


def test_score_meanings() -> None:
    ctx = PlacementContext.of(a_request(teams("EE", "EE", "EE", "FI")))
    empty = a_state(a_range("ee-range", country="EE", preference=130))
    busy = a_state(a_range("fi-range", country="FI", preference=-5), free=Resources(32000, 65536, 10))
    by_name = {s.name: s for s in BUILTIN_SCORES}
    assert by_name["balance"].score(empty, ctx) == 75  # (64000 - 16000) / 64000
    assert by_name["balance"].score(busy, ctx) == 25
    assert by_name["pack"].score(busy, ctx) == 75
    assert by_name["locality"].score(empty, ctx) == 75
    assert by_name["locality"].score(busy, ctx) == 25
    assert by_name["preference"].score(empty, ctx) == 100
    assert by_name["preference"].score(busy, ctx) == 0
