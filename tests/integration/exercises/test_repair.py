"""Drift and healing, over HTTP on both databases with simulated ranges: the reconciler redeploys what
vanished and removes orphans; before an exercise starts, teams on a range that went into maintenance,
was decommissioned or failed its probes move elsewhere, and the trainer is told either way."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from connectors import fake
from connectors.base import InstanceSpec
from orchestrator.exercises import healing, reconciler
from orchestrator.scheduler import ticks
from orchestrator.wiring import Services
from scenarios.library import load_library
from scenarios.serialise import dump_yaml
from tests.integration.catalogue.helpers import auth
from tests.integration.exercises.helpers import Driver, Federation, exercise_body

NOW = datetime(2030, 6, 1, 8, 0, tzinfo=UTC)
START = NOW + timedelta(days=1)
END = START + timedelta(hours=3)


def teams_of(http: httpx.Client, fed: Federation, exercise_id: str) -> dict[str, dict[str, object]]:
    body = http.get(f"/api/v1/exercises/{exercise_id}", headers=auth(fed.trainer)).json()
    return {t["team"]: t for t in body["teams"]}


def events_of(http: httpx.Client, fed: Federation, exercise_id: str) -> list[str]:
    body = http.get(f"/api/v1/exercises/{exercise_id}", headers=auth(fed.trainer)).json()
    return [e["message"] for e in body["events"]]


def schedule(http: httpx.Client, fed: Federation, teams: list[tuple[str, str]]) -> str:
    created = http.post("/api/v1/exercises", json=exercise_body(START, END, teams), headers=auth(fed.trainer))
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


def test_the_reconciler_redeploys_a_vanished_instance_and_removes_orphans(
    http: httpx.Client, fed: Federation, services: Services, driver: Driver
) -> None:
    exercise_id = schedule(http, fed, [("red", "EE"), ("blue", "LV")])
    driver.advance_to(START)
    red = teams_of(http, fed, exercise_id)["red"]
    world = fed.world(str(red["range"]))
    with world.lock:  # someone deletes the team's instance on the range
        del world.instances[str(red["instance_id"])]
    # ... and an instance of this exercise that the database does not know appears there.
    orphan = InstanceSpec(
        instance_id="xorphan0001",
        exercise=exercise_id,
        team="ghost",
        scenario_document=dump_yaml(load_library("ctf-starter")),
    )
    fake.FakeConnector({"world": world.name}).deploy(instance=orphan)
    # An instance of another orchestrator's exercise is left alone.
    foreign = InstanceSpec(
        instance_id="xforeign001",
        exercise="not-ours",
        team="x",
        scenario_document=dump_yaml(load_library("ctf-starter")),
    )
    fake.FakeConnector({"world": world.name}).deploy(instance=foreign)

    drift = reconciler.reconcile(services.runtime())
    assert drift.redeployed == [red["instance_id"]]
    assert drift.orphans_removed == ["xorphan0001"]
    assert "xforeign001" in world.instances and "xorphan0001" not in world.instances
    assert teams_of(http, fed, exercise_id)["red"]["stage"] == "deploying"
    driver.run_due()
    red = teams_of(http, fed, exercise_id)["red"]
    assert red["stage"] == "ready" and str(red["instance_id"]) in world.instances
    messages = events_of(http, fed, exercise_id)
    assert any("vanished" in m for m in messages) and any(
        "orphaned instance xorphan0001" in m for m in messages
    )
    # Nothing more to repair: a second pass changes nothing.
    again = reconciler.reconcile(services.runtime())
    assert again.redeployed == [] and again.orphans_removed == []


def test_teams_move_off_a_range_that_goes_into_maintenance(
    http: httpx.Client, fed: Federation, services: Services, driver: Driver
) -> None:
    exercise_id = schedule(http, fed, [("red", "EE"), ("blue", "LV")])
    before = teams_of(http, fed, exercise_id)
    assert before["red"]["range"] == "ee-range"
    window = {
        "start": (START - timedelta(hours=1)).isoformat(),
        "end": (START + timedelta(hours=1)).isoformat(),
        "reason": "storage upgrade",
    }
    added = http.post(
        "/api/v1/ranges/ee-range/maintenance", json=window, headers=auth(fed.operators["ee-range"])
    )
    assert added.status_code == 201, added.text

    result = healing.heal(services.runtime(), services.plugins)
    assert list(result.moved.values()) in (["lv-range"], ["fi-range"])
    after = teams_of(http, fed, exercise_id)
    assert after["red"]["range"] != "ee-range" and after["blue"]["range"] == "lv-range"
    assert any(
        "team red moved to range" in m and "storage upgrade" in m for m in events_of(http, fed, exercise_id)
    )
    bookings = http.get("/api/v1/bookings", params={"reference": exercise_id}, headers=auth(fed.trainer))
    by_range = {b["range"]: b["status"] for b in bookings.json()["items"]}
    assert by_range["ee-range"] == "cancelled" and by_range[str(after["red"]["range"])] == "confirmed"
    # Healing is idempotent: nothing else moves.
    assert healing.heal(services.runtime(), services.plugins).moved == {}
    # And the exercise deploys on the new ranges.
    driver.advance_to(START)
    assert {t["stage"] for t in teams_of(http, fed, exercise_id).values()} == {"ready"}


def test_a_failed_probe_moves_teams_and_no_room_is_reported_once(
    http: httpx.Client, fed: Federation, services: Services, driver: Driver
) -> None:
    # Five teams fill every slot (2 + 2 + 1): when a range fails, there is nowhere to go.
    teams = [("red", "EE"), ("blue", "LV"), ("green", "FI"), ("yellow", "EE"), ("white", "LV")]
    exercise_id = schedule(http, fed, teams)
    fed.world("lv-range").healthy = False
    health = {h.range_id: h for h in ticks.probe(services)}
    assert sum(not h.healthy for h in health.values()) == 1
    result = healing.heal(services.runtime(), services.plugins)
    assert result.moved == {} and len(result.stuck) == 2
    messages = [m for m in events_of(http, fed, exercise_id) if "cannot move" in m]
    assert len(messages) == 2 and all("lv-range failed its probe: simulated outage" in m for m in messages)
    healing.heal(services.runtime(), services.plugins)
    assert len([m for m in events_of(http, fed, exercise_id) if "cannot move" in m]) == 2  # told once
    stuck = teams_of(http, fed, exercise_id)
    assert {t for t, v in stuck.items() if "cannot move" in str(v["stage_reason"])} == {"blue", "white"}

    # The operator brings the range back: nothing moves, and the exercise deploys where it was booked.
    fed.world("lv-range").healthy = True
    ticks.probe(services)
    assert healing.heal(services.runtime(), services.plugins).stuck == {}
    assert not any("cannot move" in str(v["stage_reason"]) for v in teams_of(http, fed, exercise_id).values())
    assert any("usable again" in m for m in events_of(http, fed, exercise_id))
    driver.advance_to(START)
    assert {t["stage"] for t in teams_of(http, fed, exercise_id).values()} == {"ready"}
