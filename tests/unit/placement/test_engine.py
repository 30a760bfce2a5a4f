"""place(): worked examples of the whole pipeline and its refusals."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from connectors.base import Resources
from orchestrator.domain.errors import InvalidInput, Refused
from orchestrator.domain.ranges import MaintenanceWindow, RangeStatus, SharingPolicy
from orchestrator.placement import (
    Constraints,
    build_snapshot,
    default_plugins,
    place,
)
from orchestrator.placement.occupancy import RangeBookings, RangeCalendar
from orchestrator.placement.request import Affinity
from orchestrator.placement.snapshot import Health, RangeState
from tests.unit.placement.builders import DAY, T0, a_range, a_request, a_snapshot, a_state, teams

PLUGINS = default_plugins()


def federation() -> tuple[RangeState, ...]:
    """Four ranges: EE roomy, FI short of cpu, LV in maintenance, DE outside the allowed countries."""
    return (
        a_state(a_range("ee-range", country="EE", capabilities=frozenset({"k8s", "ics"}))),
        a_state(a_range("fi-range", country="FI"), free=Resources(12000, 65536, 10)),
        a_state(
            a_range(
                "lv-range",
                country="LV",
                maintenance=(MaintenanceWindow(start=T0 - timedelta(hours=1), end=T0 + timedelta(hours=3)),),
            ),
            free=Resources(),
        ),
        a_state(a_range("de-range", country="DE")),
    )


def test_infeasible_placement_gives_every_reason() -> None:
    request = a_request(
        teams("EE", "FI", "EE", "FI", "EE"),
        constraints=Constraints(
            allowed_countries=frozenset({"EE", "FI", "LV"}), required_capabilities=frozenset({"k8s"})
        ),
    )
    placement = place(request, a_snapshot(*federation()), PLUGINS)
    assert not placement.feasible
    assert placement.assignments == ()
    assert placement.reasons == (
        "5 teams need 5 slots, eligible ranges hold 4 (ee-range 4)",
        "de-range: country DE not in the exercise's allowed countries (EE, FI, LV)",
        "fi-range: free 12000 cpu millicores < 16000 needed for one team at 2027-03-04T09:00:00+00:00",
        "lv-range: in maintenance 2027-03-04T08:00Z\u201312:00Z",
        "lv-range: no free capacity while in maintenance",
    )
    assert placement.summary().startswith("cannot place the teams of locked-shields: 5 teams need 5 slots")
    error = placement.refusal()
    assert isinstance(error, Refused)
    assert error.reasons == list(placement.reasons)
    assert placement.outcome("ee-range").room == 4
    assert placement.outcome("fi-range").verdicts["capacity"].ok is False
    assert placement.outcome("fi-range").verdicts["country"].ok is True


def test_global_constraint_reasons() -> None:
    states = federation()
    request = a_request(
        3, constraints=Constraints(min_ranges=3, allowed_countries=frozenset({"EE", "FI", "LV", "DE"}))
    )
    assert place(request, a_snapshot(*states), PLUGINS).constraint_reasons == (
        "needs at least 3 ranges, only 2 eligible",
    )
    capped = a_request(
        3, constraints=Constraints(include_ranges=frozenset({"ee-range"}), max_teams_per_range=2)
    )
    assert place(capped, a_snapshot(*states), PLUGINS).constraint_reasons == (
        "3 teams need 3 slots, eligible ranges hold 2 (ee-range 2)",
    )
    assert (
        "de-range: not in the exercise's include list" in place(capped, a_snapshot(*states), PLUGINS).reasons
    )


def test_feasible_placement_books_demand_per_range() -> None:
    states = (
        *federation()[:3],
        a_state(a_range("de-range", country="DE", policy=SharingPolicy(approval_required=True))),
    )
    request = a_request(teams("EE", "DE", "EE", "DE", "EE", "DE"), constraints=Constraints(max_ranges=2))
    placement = place(request, a_snapshot(*states), PLUGINS)
    assert placement.feasible, placement.summary()
    assert {(b.range_slug, b.teams, b.demand, b.approval_required) for b in placement.bookings()} == {
        ("de-range", 3, Resources(48000, 24576, 3), True),
        ("ee-range", 3, Resources(48000, 24576, 3), False),
    }
    assert placement.affinity_met == 6
    assert all(a.affinity for a in placement.assignments)
    assert placement.summary() == (
        "placed 6 teams of locked-shields on 2 ranges (de-range 3, ee-range 3) by spread; "
        "6 of 6 on a range they prefer"
    )
    assert placement.by_team()["team-00"].range_slug == "ee-range"
    assert placement.reasons == ()


def test_strategies_differ_as_named() -> None:
    states = tuple(a_state(a_range(f"r{i}-range", country="EE", preference=90 - 20 * i)) for i in range(4))
    counts = {}
    for name in ("spread", "pack", "weighted", "first-fit"):
        placement = place(a_request(8, strategy=name), a_snapshot(*states), PLUGINS)
        counts[name] = {b.range_slug: b.teams for b in placement.bookings()}
    assert counts["spread"] == {"r0-range": 2, "r1-range": 2, "r2-range": 2, "r3-range": 2}
    assert counts["pack"] == {"r0-range": 4, "r1-range": 4}  # 4 fit per range (64000 cpu / 16000)
    assert counts["first-fit"] == {"r0-range": 4, "r1-range": 4}
    assert sum(counts["weighted"].values()) == 8
    assert (
        counts["weighted"]["r0-range"]
        >= counts["weighted"]["r1-range"]
        >= counts["weighted"].get("r3-range", 0)
    )


def test_affinity_none_ignores_countries() -> None:
    states = (a_state(a_range("ee-range", country="EE")), a_state(a_range("fi-range", country="FI")))
    request = a_request(teams("FI", "FI", "EE", "EE"), constraints=Constraints(affinity=Affinity.NONE))
    placement = place(request, a_snapshot(*states), PLUGINS)
    assert placement.affinity_met == 0
    own = place(replace(request, constraints=Constraints()), a_snapshot(*states), PLUGINS)
    assert own.affinity_met == 4


def test_unhealthy_and_draining_ranges_get_no_teams() -> None:
    states = (
        a_state(a_range("ee-range"), health=Health(ok=False, reason="probe failed: connection refused")),
        a_state(a_range("fi-range", status=RangeStatus.DRAINING)),
        a_state(a_range("lv-range")),
    )
    placement = place(a_request(2), a_snapshot(*states), PLUGINS)
    assert {b.range_slug for b in placement.bookings()} == {"lv-range"}
    assert placement.outcome("ee-range").verdict.reasons == (
        "ee-range: unhealthy: probe failed: connection refused",
    )


def test_snapshot_built_from_bookings_feeds_placement() -> None:
    rng = a_range("ee-range", capacity=Resources(64000, 65536, 10))
    from orchestrator.domain.sweep import Interval

    busy = [Interval(T0 + timedelta(hours=2), T0 + timedelta(hours=5), Resources(40000, 1024, 1))]
    snapshot = build_snapshot(
        [RangeBookings(range=rng, calendar=RangeCalendar.build(busy))], start=T0, end=T0 + DAY
    )
    placement = place(a_request(2), snapshot, PLUGINS)
    assert not placement.feasible
    assert placement.reasons == ("2 teams need 2 slots, eligible ranges hold 1 (ee-range 1)",)


def test_bad_requests_name_the_field() -> None:
    states = a_snapshot(*federation())
    with pytest.raises(
        InvalidInput,
        match="strategy: unknown strategy 'round-robin'; known: first-fit, pack, spread, weighted",
    ):
        place(a_request(2, strategy="round-robin"), states, PLUGINS)
    with pytest.raises(InvalidInput, match=r"score_weights\.speed: unknown score 'speed'"):
        place(a_request(2, score_weights={"speed": 1}), states, PLUGINS)
    with pytest.raises(
        InvalidInput,
        match=r"snapshot: computed for 2027-03-04T09:00Z.2027-03-05T09:00Z but the request's window is",
    ):
        place(a_request(2, end=T0 + 2 * DAY), states, PLUGINS)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"team_list": ()}, "teams: at least one team is needed"),
        ({"team_list": teams("EE", "EE")[:1] * 2}, "teams: team names must be unique; repeated: team-00"),
        ({"end": T0}, "end: must be after start"),
        ({"start": T0.replace(tzinfo=None)}, "start: .* has no timezone"),
        ({"demand": Resources()}, "demand: needs at least one positive dimension"),
        ({"demand": Resources(-1, 0, 1)}, "demand: must not be negative: cpu_millicores"),
        ({"constraints": Constraints(min_ranges=0)}, "constraints.min_ranges: must be at least 1"),
        (
            {"constraints": Constraints(min_ranges=3, max_ranges=2)},
            "constraints.max_ranges: must be at least min_ranges",
        ),
        (
            {"constraints": Constraints(max_teams_per_range=0)},
            "constraints.max_teams_per_range: must be at least 1",
        ),
        (
            {"constraints": Constraints(include_ranges=frozenset({"a"}), exclude_ranges=frozenset({"a"}))},
            "constraints.exclude_ranges: ranges both included and excluded: a",
        ),
        ({"score_weights": {"balance": 0}}, "score_weights: at least one weight must be positive"),
        ({"score_weights": {"balance": -1, "pack": 2}}, "score_weights.balance: must not be negative"),
    ],
)
def test_malformed_requests_are_refused_with_the_field(change: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        a_request(**{"team_list": 2, **change})
