"""Each filter's rule and the exact reason it gives; properties every filter must have."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given, settings

from connectors.base import Resources
from orchestrator.domain.ranges import MaintenanceWindow, RangeStatus, SharingPolicy
from orchestrator.placement.context import PlacementContext
from orchestrator.placement.filters import (
    BUILTIN_FILTERS,
    CapabilityFilter,
    CapacityFilter,
    CountryFilter,
    DrainingFilter,
    Filter,
    HealthFilter,
    MaintenanceFilter,
    SelectionFilter,
    SharingPolicyFilter,
    StatusFilter,
)
from orchestrator.placement.request import Constraints, PlacementRequest
from orchestrator.placement.snapshot import Health, PlacementSnapshot, RangeState
from tests.unit.placement.builders import DAY, T0, a_range, a_request, a_state, small_worlds

CTX = PlacementContext.of(a_request(2))


def ctx_with(constraints: Constraints) -> PlacementContext:
    return PlacementContext.of(a_request(2, constraints=constraints))


def reasons(f: Filter, state: RangeState, ctx: PlacementContext = CTX) -> tuple[str, ...]:
    verdict = f.check(state, ctx)
    assert verdict.ok == (not verdict.reasons)
    return verdict.reasons


def test_capability() -> None:
    ctx = ctx_with(Constraints(required_capabilities=frozenset({"ics", "k8s", "gpu"})))
    state = a_state(a_range("fi-range", capabilities=frozenset({"k8s"})))
    assert reasons(CapabilityFilter(), state, ctx) == (
        "fi-range: capability 'gpu' missing",
        "fi-range: capability 'ics' missing",
    )
    assert (
        reasons(
            CapabilityFilter(),
            a_state(a_range("ee-range", capabilities=frozenset({"ics", "k8s", "gpu", "x"}))),
            ctx,
        )
        == ()
    )


def test_country() -> None:
    ctx = ctx_with(Constraints(allowed_countries=frozenset({"FI", "EE"})))
    assert reasons(CountryFilter(), a_state(a_range("de-range", country="DE")), ctx) == (
        "de-range: country DE not in the exercise's allowed countries (EE, FI)",
    )
    assert reasons(CountryFilter(), a_state(a_range("fi-range", country="FI")), ctx) == ()
    assert reasons(CountryFilter(), a_state(a_range("de-range", country="DE"))) == ()


def test_selection_by_slug_or_id() -> None:
    assert reasons(
        SelectionFilter(),
        a_state(a_range("ee-range")),
        ctx_with(Constraints(exclude_ranges=frozenset({"id-ee-range"}))),
    ) == ("ee-range: range excluded by the exercise",)
    assert reasons(
        SelectionFilter(),
        a_state(a_range("ee-range")),
        ctx_with(Constraints(include_ranges=frozenset({"fi-range"}))),
    ) == ("ee-range: not in the exercise's include list",)
    assert (
        reasons(
            SelectionFilter(),
            a_state(a_range("fi-range")),
            ctx_with(Constraints(include_ranges=frozenset({"fi-range"}))),
        )
        == ()
    )


def test_sharing_policy_allow_lists_are_a_union() -> None:
    lv = a_range("lv-range", country="LV", policy=SharingPolicy(allowed_countries=frozenset({"LV", "EE"})))
    assert reasons(SharingPolicyFilter(), a_state(lv)) == (
        "lv-range: sharing policy does not admit organisation 'CERT-X' (country DE)",
    )
    by_org = a_range(
        "lv-range",
        policy=SharingPolicy(
            allowed_countries=frozenset({"LV"}), allowed_organisations=frozenset({"org-certx"})
        ),
    )
    assert reasons(SharingPolicyFilter(), a_state(by_org)) == ()
    by_country = a_range("lv-range", policy=SharingPolicy(allowed_countries=frozenset({"DE"})))
    assert reasons(SharingPolicyFilter(), a_state(by_country)) == ()


def test_sharing_policy_length_and_lead_time() -> None:
    strict = a_range(
        "fi-range",
        policy=SharingPolicy(max_booking_length=timedelta(hours=8), min_lead_time=timedelta(days=14)),
    )
    assert reasons(SharingPolicyFilter(), a_state(strict)) == (
        "fi-range: sharing policy allows bookings of at most 8h, the window is 1d",
        "fi-range: sharing policy needs 14d lead time, the window starts in 10d",
    )
    relaxed = a_range(
        "fi-range", policy=SharingPolicy(max_booking_length=DAY, min_lead_time=timedelta(days=10))
    )
    assert reasons(SharingPolicyFilter(), a_state(relaxed)) == ()


def test_status_and_draining() -> None:
    assert reasons(StatusFilter(), a_state(a_range("ee-range", status=RangeStatus.DECOMMISSIONED))) == (
        "ee-range: decommissioned",
    )
    assert reasons(StatusFilter(), a_state(a_range("ee-range", status=RangeStatus.MAINTENANCE))) == (
        "ee-range: status maintenance: the operator has taken it out of service",
    )
    assert reasons(StatusFilter(), a_state(a_range("ee-range", status=RangeStatus.DRAINING))) == ()
    assert reasons(DrainingFilter(), a_state(a_range("ee-range", status=RangeStatus.DRAINING))) == (
        "ee-range: draining: takes no new bookings",
    )
    assert reasons(DrainingFilter(), a_state(a_range("ee-range"))) == ()


def test_maintenance_window_overlapping_the_exercise() -> None:
    during = MaintenanceWindow(start=T0 - timedelta(hours=1), end=T0 + timedelta(hours=3))
    before = MaintenanceWindow(start=T0 - timedelta(hours=5), end=T0, reason="ends as the window starts")
    crossing = MaintenanceWindow(
        start=T0 + timedelta(hours=16), end=T0 + timedelta(hours=40), reason="power works"
    )
    state = a_state(a_range("ee-range", maintenance=(crossing, during, before)))
    assert reasons(MaintenanceFilter(), state) == (
        "ee-range: in maintenance 2027-03-04T08:00Z\u201312:00Z",
        "ee-range: in maintenance 2027-03-05T01:00Z\u20132027-03-06T01:00Z (power works)",
    )
    # Capacity does not repeat the maintenance dimension by dimension.
    assert reasons(CapacityFilter(), a_state(state.range, free=Resources())) == (
        "ee-range: no free capacity while in maintenance",
    )


def test_health() -> None:
    sick = a_state(a_range("ee-range"), health=Health(ok=False, reason="probe failed: connection refused"))
    assert reasons(HealthFilter(), sick) == ("ee-range: unhealthy: probe failed: connection refused",)
    assert reasons(HealthFilter(), a_state(a_range("ee-range"))) == ()


def test_capacity_names_dimension_amounts_and_instant() -> None:
    state = a_state(a_range("fi-range"), free=Resources(12000, 4096, 3))
    assert reasons(CapacityFilter(), state) == (
        "fi-range: free 12000 cpu millicores < 16000 needed for one team at 2027-03-04T09:00:00+00:00",
        "fi-range: free 4096 memory MiB < 8192 needed for one team at 2027-03-04T09:00:00+00:00",
    )
    # The owner's share is what counts when the snapshot gives it (the bottleneck instant is its own).
    shared = a_state(
        a_range("lv-range"), free=Resources(64000, 65536, 10), owner_free=Resources(8000, 65536, 10)
    )
    assert reasons(CapacityFilter(), shared) == (
        "lv-range: free to this organisation 8000 cpu millicores < 16000 needed for one team at "
        "2027-03-04T11:00:00+00:00",
    )
    assert reasons(CapacityFilter(), a_state(a_range("ee-range"), free=Resources(16000, 8192, 1))) == ()


def test_capacity_counts_kept_teams_against_the_maximum_per_range() -> None:
    request = a_request(3, constraints=Constraints(max_teams_per_range=2))
    ctx = PlacementContext.of(request, to_place=1, base={"ee-range": 2})
    assert reasons(CapacityFilter(), a_state(a_range("ee-range")), ctx) == (
        "ee-range: already hosts 2 teams of the exercise, the maximum per range",
    )
    assert ctx.room(a_state(a_range("fi-range"))) == 2
    assert ctx.room(a_state(a_range("ee-range"))) == 0


def test_filter_names_are_unique_and_say_which_rules_only_bind_new_bookings() -> None:
    names = [f.name for f in BUILTIN_FILTERS]
    assert len(names) == len(set(names))
    assert {f.name for f in BUILTIN_FILTERS if f.new_bookings_only} == {
        "draining",
        "sharing-policy",
        "capacity",
    }


@settings(max_examples=100, deadline=None)
@given(world=small_worlds())
def test_every_filter_answers_with_reasons_naming_the_range(
    world: tuple[PlacementSnapshot, PlacementRequest],
) -> None:
    snapshot, request = world
    ctx = PlacementContext.of(request)
    for f in BUILTIN_FILTERS:
        for state in snapshot.ranges:
            verdict = f.check(state, ctx)
            assert verdict == f.check(state, ctx)
            if not verdict.ok:
                assert verdict.reasons
                assert all(r.startswith(f"{state.slug}: ") for r in verdict.reasons), f.name
