"""Healing before deploy: teams booked on a range that became unusable move, or say why they cannot."""

from __future__ import annotations

from datetime import timedelta

from connectors.base import Resources
from orchestrator.catalogue.health import RangeHealth
from orchestrator.domain.bookings import BookingStatus
from orchestrator.domain.catalogue import MaintenanceRecord
from orchestrator.domain.ranges import MaintenanceWindow, RangeStatus
from orchestrator.exercises import healing
from orchestrator.exercises.model import Stage
from tests.unit.exercises.world import PLUGINS, Federation


def _on(fed: Federation, exercise_id: str) -> dict[str, str]:
    slugs = {r.id: slug for slug, r in fed.ranges.items()}
    return {i.team: slugs[i.range_id] for i in fed.instances(exercise_id)}


def _live_slots(fed: Federation, exercise_id: str) -> dict[str, int]:
    """Slots the exercise holds per range, over every booking it made (healing books under new requests)."""
    held: dict[str, int] = {}
    for b in fed.world.state.bookings.bookings.values():
        if b.reference == exercise_id and b.status is BookingStatus.CONFIRMED:
            held[b.range_slug] = held.get(b.range_slug, 0) + b.demand.slots
    return held


def test_teams_on_a_range_gone_into_maintenance_move_and_their_old_booking_shrinks(fed: Federation) -> None:
    fed.add_range("fi-range", "FI", 2)
    exercise = fed.create(fed.draft(3)).exercise
    before = _on(fed, exercise.id)
    on_ee = sorted(t for t, slug in before.items() if slug == "ee-range")
    assert on_ee
    window = MaintenanceWindow(
        start=exercise.deploy_at - timedelta(hours=1),
        end=exercise.end + timedelta(hours=1),
        reason="power work",
    )
    fed.change_range(
        "ee-range", maintenance=(MaintenanceRecord(id="m1", range_id="r-ee-range", window=window),)
    )
    result = healing.heal(fed.runtime(), PLUGINS)
    after = _on(fed, exercise.id)
    assert sorted(result.moved.values()) == sorted(after[t] for t in on_ee)
    assert all(after[t] != "ee-range" for t in on_ee)
    assert {t: s for t, s in after.items() if t not in on_ee} == {
        t: s for t, s in before.items() if t not in on_ee
    }
    held = _live_slots(fed, exercise.id)
    assert "ee-range" not in held  # its only team left: its booking is cancelled
    assert held == {slug: sum(1 for s in after.values() if s == slug) for slug in set(after.values())}
    with fed.world.transactions() as unit:
        events = [e.message for e in unit.exercises.events_of(exercise.id)]
    assert any("moved to range" in m and "power work" in m for m in events)
    fed.at(exercise.deploy_at)
    assert {i.stage for i in fed.instances(exercise.id)} == {Stage.READY}


def test_teams_that_cannot_move_say_why_and_are_told_when_their_range_is_usable_again(
    fed: Federation,
) -> None:
    exercise = fed.create(fed.draft(4)).exercise  # fills both ranges
    fed.change_range("lv-range", status=RangeStatus.MAINTENANCE)
    result = healing.heal(fed.runtime(), PLUGINS)
    assert result.moved == {}
    stuck = {i.team: i.stage_reason for i in fed.instances(exercise.id) if i.stage_reason}
    assert len(stuck) == 2
    assert all(
        r.startswith("cannot move: range lv-range is maintenance; no other range can take it")
        for r in stuck.values()
    )
    fed.change_range("lv-range", status=RangeStatus.ACTIVE)
    healing.heal(fed.runtime(), PLUGINS)
    assert [i.stage_reason for i in fed.instances(exercise.id) if i.stage_reason] == []


def test_a_range_that_fails_its_probe_loses_its_teams_before_deploy(fed: Federation) -> None:
    fed.add_range("fi-range", "FI", 2)
    exercise = fed.create(fed.draft(2, strategy="first-fit")).exercise
    (slug,) = set(_on(fed, exercise.id).values())
    with fed.world.transactions() as unit:
        unit.catalogue.put_health(
            RangeHealth(
                range_id=fed.ranges[slug].id,
                healthy=False,
                reason="connection refused",
                version="",
                observed_free=Resources(),
                observed_total=Resources(),
                probed_at=fed.clock.now(),
            )
        )
    result = healing.heal(fed.runtime(), PLUGINS)
    assert len(result.moved) == 2
    assert slug not in set(_on(fed, exercise.id).values())
