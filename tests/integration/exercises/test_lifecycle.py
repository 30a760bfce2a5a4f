"""The federated-exercise story over HTTP, on SQLite and PostgreSQL, with simulated ranges: place across
ranges, book all or nothing, deploy at the scheduled time, hand out access, tear down at the end; cancel,
retry, extend, and the refusals with their reasons."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import httpx

from orchestrator.domain.clock import FrozenClock
from orchestrator.wiring import Services
from tests.integration.catalogue.helpers import auth
from tests.integration.exercises.helpers import Driver, Federation, exercise_body

NOW = datetime(2030, 5, 1, 8, 0, tzinfo=UTC)
START = NOW + timedelta(days=2)
END = START + timedelta(hours=4)
TEAMS = [("red", "EE"), ("blue", "LV"), ("green", "FI"), ("yellow", "DE")]


def create(http: httpx.Client, fed: Federation, **constraints: object) -> dict[str, object]:
    response = http.post(
        "/api/v1/exercises", json=exercise_body(START, END, TEAMS, **constraints), headers=auth(fed.trainer)
    )
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def get(http: httpx.Client, token: str, exercise_id: object) -> dict[str, object]:
    response = http.get(f"/api/v1/exercises/{exercise_id}", headers=auth(token))
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def stages(exercise: dict[str, object]) -> dict[str, str]:
    return {t["team"]: t["stage"] for t in exercise["teams"]}  # type: ignore[attr-defined,index]


def test_an_exercise_is_placed_booked_deployed_on_time_and_torn_down(
    http: httpx.Client, fed: Federation, driver: Driver
) -> None:
    created = create(http, fed, min_ranges=2, max_teams_per_range=2)
    teams = {t["team"]: t for t in created["teams"]}  # type: ignore[attr-defined]
    per_range = Counter(t["range"] for t in teams.values())
    assert len(per_range) >= 2 and max(per_range.values()) <= 2  # spread constraints honoured
    assert teams["red"]["range"] == "ee-range" and teams["blue"]["range"] == "lv-range"  # own country
    assert created["status"] == "scheduled" and set(stages(created).values()) == {"booked"}
    assert created["deploy_at"] == (START - timedelta(minutes=15)).isoformat().replace("+00:00", "Z")

    # One booking per range used, confirmed, over [start - lead, end), referencing the exercise.
    bookings = http.get(
        "/api/v1/bookings", params={"reference": created["id"]}, headers=auth(fed.trainer)
    ).json()["items"]
    assert sorted(b["range"] for b in bookings) == sorted(per_range)
    assert {b["status"] for b in bookings} == {"confirmed"}
    assert {b["demand"]["slots"] for b in bookings} == set(per_range.values())

    # Nothing happens before the deploy time ...
    assert driver.advance_to(START - timedelta(minutes=16)) == 0
    assert all(fed.world(s).instances == {} for s in fed.worlds)
    # ... then every team instance deploys, is provisioned (simulated) and becomes ready.
    driver.advance_to(START - timedelta(minutes=15))
    running = get(http, fed.trainer, created["id"])
    assert running["status"] == "running", running
    assert set(stages(running).values()) == {"ready"}
    for team in running["teams"]:  # type: ignore[attr-defined]
        assert [s["stage"] for s in team["stages"]] == ["booked", "deploying", "provisioning", "ready"]
        assert "SIMULATED range" in team["stages"][2]["log"]
        world = fed.world(team["range"])
        assert team["instance_id"] in world.instances
    active = http.get("/api/v1/bookings", params={"reference": created["id"]}, headers=auth(fed.trainer))
    assert {b["status"] for b in active.json()["items"]} == {"active"}

    # Access: the endpoints of the entry hosts, for the owner only (ctf-starter hands out no credential:
    # its flags are what the teams must find).
    access = http.get(f"/api/v1/exercises/{created['id']}/access", headers=auth(fed.trainer)).json()
    assert {a["team"] for a in access} == {t for t, _ in TEAMS}
    for team in access:
        assert {(e["host"], e["port"]) for e in team["endpoints"]} == {("web", 8080), ("jump", 8081)}
        assert team["credentials"] == {}
    assert len({a["endpoints"][0]["address"] for a in access}) == len(TEAMS)  # one instance per team
    assert (
        http.get(f"/api/v1/exercises/{created['id']}/access", headers=auth(fed.other_trainer)).status_code
        == 404
    )
    assert http.get(f"/api/v1/exercises/{created['id']}", headers=auth(fed.other_trainer)).status_code == 404

    # The end: a warning first, then every instance is torn down and every booking released.
    driver.advance_to(END - timedelta(minutes=10))
    assert any("ends at" in e["message"] for e in get(http, fed.trainer, created["id"])["events"])  # type: ignore[attr-defined]
    driver.advance_to(END)
    done = get(http, fed.trainer, created["id"])
    assert done["status"] == "done"
    assert set(stages(done).values()) == {"done"}
    assert all(fed.world(s).instances == {} for s in fed.worlds)
    released = http.get("/api/v1/bookings", params={"reference": created["id"]}, headers=auth(fed.trainer))
    assert {b["status"] for b in released.json()["items"]} == {"released"}


def test_an_infeasible_exercise_is_refused_with_every_reason_and_books_nothing(
    http: httpx.Client, fed: Federation, driver: Driver
) -> None:
    body = exercise_body(START, END, TEAMS, capabilities=["ics"], allowed_countries=["EE", "LV"])
    refused = http.post("/api/v1/exercises", json=body, headers=auth(fed.trainer))
    assert refused.status_code == 409
    reasons = refused.json()["reasons"]
    assert any("ee-range" in r and "capability 'ics'" in r for r in reasons), reasons
    assert any("fi-range" in r and "FI" in r for r in reasons), reasons
    # Five teams on 2 + 2 + 1 slots do not fit at all: the reason says how many fit where.
    too_many = exercise_body(START, END, [*TEAMS, ("purple", "LT"), ("orange", "PL")])
    refused = http.post("/api/v1/exercises", json=too_many, headers=auth(fed.trainer))
    assert refused.status_code == 409
    assert any("6 teams" in r for r in refused.json()["reasons"]), refused.json()
    assert http.get("/api/v1/bookings", headers=auth(fed.trainer)).json()["total"] == 0
    assert http.get("/api/v1/exercises", headers=auth(fed.trainer)).json() == []
    # The dry run shows the same placement without booking anything.
    plan = http.post(
        "/api/v1/exercises/plan", json=exercise_body(START, END, TEAMS), headers=auth(fed.trainer)
    )
    assert plan.status_code == 200 and plan.json()["feasible"]
    assert plan.json()["footprint"] == {"cpu_millicores": 500, "memory_mib": 128, "slots": 1, "gpus": 0}
    assert http.get("/api/v1/bookings", headers=auth(fed.trainer)).json()["total"] == 0


def test_bad_exercise_input_names_the_field(http: httpx.Client, fed: Federation, driver: Driver) -> None:
    body = exercise_body(END, START, [("red", "EE"), ("red", "XZ")])
    bad = http.post("/api/v1/exercises", json=body, headers=auth(fed.trainer))
    assert bad.status_code == 422
    fields = {e["field"] for e in bad.json()["errors"]}
    assert {"teams[1].country", "end"} <= fields, bad.json()
    dup = http.post(
        "/api/v1/exercises",
        json=exercise_body(START, END, [("red", "EE"), ("red", "LV")]),
        headers=auth(fed.trainer),
    )
    assert dup.status_code == 422 and dup.json()["errors"][0]["field"] == "teams[1].name"
    unknown = http.post(
        "/api/v1/exercises",
        json={**exercise_body(START, END, TEAMS), "scenario": "nope"},
        headers=auth(fed.trainer),
    )
    assert unknown.status_code == 404 and "nope" in unknown.json()["detail"]
    operator = next(iter(fed.operators.values()))
    denied = http.post("/api/v1/exercises", json=exercise_body(START, END, TEAMS), headers=auth(operator))
    assert denied.status_code == 403


def test_cancel_before_deployment_releases_every_booking(
    http: httpx.Client, fed: Federation, driver: Driver
) -> None:
    created = create(http, fed)
    cancelled = http.post(f"/api/v1/exercises/{created['id']}/cancel", headers=auth(fed.trainer))
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    bookings = http.get("/api/v1/bookings", params={"reference": created["id"]}, headers=auth(fed.trainer))
    assert {b["status"] for b in bookings.json()["items"]} == {"cancelled"}
    assert driver.advance_to(END + timedelta(minutes=1)) == 0  # nothing left scheduled
    assert all(fed.world(s).calls == [] for s in fed.worlds)
    again = http.post(f"/api/v1/exercises/{created['id']}/cancel", headers=auth(fed.trainer))
    assert again.status_code == 409


def test_cancel_while_running_tears_everything_down(
    http: httpx.Client, fed: Federation, driver: Driver
) -> None:
    created = create(http, fed)
    driver.advance_to(START)
    assert get(http, fed.trainer, created["id"])["status"] == "running"
    http.post(f"/api/v1/exercises/{created['id']}/cancel", headers=auth(fed.trainer)).raise_for_status()
    driver.run_due()
    final = get(http, fed.trainer, created["id"])
    assert final["status"] == "cancelled" and set(stages(final).values()) == {"done"}
    assert all(fed.world(s).instances == {} for s in fed.worlds)


def test_a_failed_deploy_says_why_and_can_be_retried(
    http: httpx.Client, fed: Federation, driver: Driver
) -> None:
    created = create(http, fed, min_ranges=3)
    red = next(t for t in created["teams"] if t["team"] == "red")  # type: ignore[attr-defined]
    fed.world(red["range"]).fail_next_deploys("simulated: quota exceeded in namespace fr-x", team="red")
    driver.advance_to(START - timedelta(minutes=15))
    exercise = get(http, fed.trainer, created["id"])
    red = next(t for t in exercise["teams"] if t["team"] == "red")  # type: ignore[attr-defined]
    assert red["stage"] == "failed" and red["failed_stage"] == "deploying"
    assert "quota exceeded" in red["stage_reason"]
    assert red["stages"][-1]["outcome"] == "failed" and "quota exceeded" in red["stages"][-1]["error"]
    assert any("quota exceeded" in e["message"] for e in exercise["events"])  # type: ignore[attr-defined]
    assert exercise["status"] == "running"  # the others are up

    retried = http.post(f"/api/v1/exercises/{created['id']}/teams/red/retry", headers=auth(fed.trainer))
    assert retried.status_code == 200, retried.text
    driver.run_due()
    red = next(t for t in get(http, fed.trainer, created["id"])["teams"] if t["team"] == "red")  # type: ignore[attr-defined]
    assert red["stage"] == "ready"
    assert [(s["stage"], s["outcome"]) for s in red["stages"]][-3:] == [
        ("deploying", "succeeded"),
        ("provisioning", "succeeded"),
        ("ready", "running"),
    ]
    again = http.post(f"/api/v1/exercises/{created['id']}/teams/red/retry", headers=auth(fed.trainer))
    assert again.status_code == 409 and "only a failed stage" in again.json()["detail"]


def test_extend_moves_the_teardown_and_the_bookings(
    http: httpx.Client, fed: Federation, driver: Driver
) -> None:
    created = create(http, fed)
    driver.advance_to(START)
    later = END + timedelta(hours=2)
    extended = http.post(
        f"/api/v1/exercises/{created['id']}/extend",
        json={"end": later.isoformat()},
        headers=auth(fed.trainer),
    )
    assert extended.status_code == 200, extended.text
    bookings = http.get("/api/v1/bookings", params={"reference": created["id"]}, headers=auth(fed.trainer))
    assert {b["end"] for b in bookings.json()["items"]} == {later.isoformat().replace("+00:00", "Z")}
    driver.advance_to(END + timedelta(minutes=1))
    assert get(http, fed.trainer, created["id"])["status"] == "running"
    driver.advance_to(later)
    assert get(http, fed.trainer, created["id"])["status"] == "done"


def test_teardown_runs_even_when_the_scheduler_was_down_at_the_end(
    http: httpx.Client, fed: Federation, services: Services, clock: FrozenClock
) -> None:
    created = create(http, fed)
    first = Driver(services, clock)
    first.advance_to(START)
    first.close()  # the scheduler goes away during the exercise ...
    clock.set(END + timedelta(hours=3))  # ... and comes back long after the end
    second = Driver(services, clock)
    try:
        second.run_due()
    finally:
        second.close()
    final = get(http, fed.trainer, created["id"])
    assert final["status"] == "done" and set(stages(final).values()) == {"done"}
    assert all(fed.world(s).instances == {} for s in fed.worlds)
