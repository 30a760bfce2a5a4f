"""Healing before deploy: teams booked on a range that became unusable move, or say why they cannot."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from connectors.base import Connector, ConnectorRefusal, Resources
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


class Refusing:
    """A range that refuses every deploy with its own words (a home instance re-validating a scenario
    against its allowance); the Connector Protocol otherwise, delegating to a real fake range."""

    def __init__(self, real: Connector, reason: str) -> None:
        self.real = real
        self.reason = reason
        self.kind = real.kind

    def deploy(self, **_: Any) -> Any:
        raise ConnectorRefusal(self.reason)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


def _words(slug: str) -> str:
    """What a home instance says when it re-validates the scenario against its range's allowance."""
    return f"lv-hub/{slug}: the range requires images pinned by digest; registry.invalid/jump:1 are not"


def _refusing(fed: Federation, slug: str) -> None:
    record = fed.ranges[slug]
    fed.connectors_built[record.id] = Refusing(fed.connector(record), _words(slug))


def test_a_team_whose_deploy_its_range_refused_fails_with_its_words_and_is_re_placed(fed: Federation) -> None:
    fed.add_range("fi-range", "FI", 2)
    exercise = fed.create(fed.draft(2, strategy="spread")).exercise
    slug = _on(fed, exercise.id)["team-1"]
    _refusing(fed, slug)
    fed.at(exercise.deploy_at)
    (failed,) = [i for i in fed.instances(exercise.id) if i.stage is Stage.FAILED]
    assert failed.team == "team-1"
    assert failed.stage_reason == f"refused by range '{slug}': {_words(slug)}"  # the range's words, unchanged

    result = healing.heal(fed.runtime(), PLUGINS)
    moved_to = result.moved[failed.id]
    assert moved_to != slug
    fed.run_due()
    assert {i.stage for i in fed.instances(exercise.id)} == {Stage.READY}
    assert _on(fed, exercise.id)["team-1"] == moved_to
    statuses = {
        b.range_slug: b.status
        for b in fed.world.state.bookings.bookings.values()
        if b.reference == exercise.id
    }
    assert statuses[slug] is BookingStatus.RELEASED  # its only team left: given back
    assert statuses[moved_to] is BookingStatus.ACTIVE
    with fed.world.transactions() as unit:
        events = [e.message for e in unit.exercises.events_of(exercise.id)]
    assert any(f"team-1 moved to range {moved_to}: refused by range '{slug}'" in m for m in events)
    assert healing.heal(fed.runtime(), PLUGINS).moved == {}  # nothing left to move


def test_a_refused_team_no_other_range_can_take_keeps_the_reason_and_the_trainer_is_told_once(
    fed: Federation,
) -> None:
    exercise = fed.create(fed.draft(4)).exercise  # fills both ranges
    _refusing(fed, "lv-range")
    fed.at(exercise.deploy_at)
    failed = [i for i in fed.instances(exercise.id) if i.stage is Stage.FAILED]
    assert len(failed) == 2
    for _ in range(2):
        result = healing.heal(fed.runtime(), PLUGINS)
        assert result.moved == {} and set(result.stuck) == {i.id for i in failed}
    assert {i.stage_reason for i in fed.instances(exercise.id) if i.stage is Stage.FAILED} == {
        f"refused by range 'lv-range': {_words('lv-range')}"
    }
    with fed.world.transactions() as unit:
        told = [e.message for e in unit.exercises.events_of(exercise.id) if "cannot move" in e.message]
    assert len(told) == 2  # once per team, not once per tick


def test_a_team_is_never_moved_back_to_a_range_that_refused_it(fed: Federation) -> None:
    fed.add_range("fi-range", "FI", 2)
    exercise = fed.create(fed.draft(1)).exercise
    first = _on(fed, exercise.id)["team-1"]
    for slug in ("lv-range", "ee-range", "fi-range"):
        _refusing(fed, slug)
    fed.at(exercise.deploy_at)
    seen: list[str] = []
    for _ in range(4):
        seen.extend(healing.heal(fed.runtime(), PLUGINS).moved.values())
        fed.run_due()
    assert first not in seen and len(seen) == len(set(seen)) == 2, (first, seen)
    (instance,) = fed.instances(exercise.id)
    assert instance.stage is Stage.FAILED and instance.stage_reason.startswith(
        f"refused by range '{seen[-1]}'"
    )
