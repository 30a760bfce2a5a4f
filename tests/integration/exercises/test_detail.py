"""An exercise's document over HTTP costs the same number of queries whatever its size, pages its teams,
and changes (cancel, extend, retry, renew, destroy) answer with the state and per-stage counts only."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import event

from orchestrator.wiring import Services
from tests.integration.catalogue.helpers import auth
from tests.integration.exercises.helpers import Driver, Federation, exercise_body, round_trips

NOW = datetime(2030, 9, 1, 8, 0, tzinfo=UTC)
START = NOW + timedelta(days=1)
END = START + timedelta(hours=4)
RANGES = {"ee-range": ("EE", 40), "lv-range": ("LV", 40)}
POSTGRES = [pytest.param("postgres", marks=pytest.mark.postgres)]


@contextmanager
def counted(services: Services) -> Iterator[list[str]]:
    """Every SQL statement the engine executes inside the block."""
    statements: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(services.engine, "before_cursor_execute", seen)
    try:
        yield statements
    finally:
        event.remove(services.engine, "before_cursor_execute", seen)


def schedule(http: httpx.Client, fed: Federation, teams: int) -> dict[str, Any]:
    capacity = {"capacity": {"cpu_millicores": 40_000, "memory_mib": 16_384, "slots": 40, "gpus": 0}}
    for slug, token in fed.operators.items():
        http.patch(f"/api/v1/ranges/{slug}", json=capacity, headers=auth(token)).raise_for_status()
    names = [(f"team-{n:02d}", "EE" if n % 2 else "LV") for n in range(teams)]
    created = http.post(
        "/api/v1/exercises",
        json=exercise_body(START, END, names, min_ranges=2),
        headers=auth(fed.trainer),
    )
    assert created.status_code == 201, created.text
    body: dict[str, Any] = created.json()
    return body


def test_the_document_costs_the_same_queries_for_5_and_50_teams(
    http: httpx.Client, fed: Federation, driver: Driver, services: Services
) -> None:
    small, large = schedule(http, fed, 5), schedule(http, fed, 50)
    driver.advance_to(START)  # deployed: every team has a stage history
    cost = {}
    for exercise in (small, large):
        path = f"/api/v1/exercises/{exercise['id']}"
        http.get(path, headers=auth(fed.trainer)).raise_for_status()  # warm the token cache, if any
        with counted(services) as statements:
            got = http.get(path, headers=auth(fed.trainer))
        assert got.status_code == 200, got.text
        doc = got.json()
        assert doc["status"] == "running" and doc["team_stages"] == {"ready": len(doc["teams"])}
        assert all(t["stages"][-1]["stage"] == "ready" for t in doc["teams"])
        # The team steps read the exercise without its placement; saving it kept the stored one.
        assert len(doc["placement"]["assignments"]) == len(doc["teams"])
        assert {t["range"] for t in doc["teams"]} == {"ee-range", "lv-range"}
        cost[len(doc["teams"])] = len(statements)
    assert set(cost) == {5, 50}
    assert cost[5] == cost[50], cost


@pytest.mark.parametrize(
    "database_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
def test_creating_an_exercise_costs_the_same_round_trips_for_5_and_50_teams(
    http: httpx.Client, fed: Federation, services: Services
) -> None:
    """Each team's instance and its first stage record are kept with the exercise's other writes and go
    out with the COMMIT (the code before sent both rows of every team in round trips of their own)."""
    schedule(http, fed, 2)  # the trainer's token looked up and cached, the statements prepared
    cost = {}
    for teams in (5, 50):
        with round_trips(services) as counted:
            made = schedule(http, fed, teams)
        assert len(made["teams"]) == teams and {t["stage"] for t in made["teams"]} == {"booked"}
        cost[teams] = counted[0]
    assert cost[5] == cost[50], cost


def test_teams_come_in_pages_and_the_counts_cover_them_all(
    http: httpx.Client, fed: Federation, driver: Driver
) -> None:
    exercise = schedule(http, fed, 12)
    path = f"/api/v1/exercises/{exercise['id']}"
    pages = [
        http.get(path, params={"teams_offset": o, "teams_limit": 5}, headers=auth(fed.trainer)).json()
        for o in (0, 5, 10)
    ]
    assert [len(p["teams"]) for p in pages] == [5, 5, 2]
    assert [p["teams_offset"] for p in pages] == [0, 5, 10]
    names = [t["team"] for p in pages for t in p["teams"]]
    assert names == sorted(t["team"] for t in exercise["teams"])
    assert {p["team_count"] for p in pages} == {12}
    assert pages[0]["team_stages"] == {"booked": 12}
    none = http.get(path, params={"teams_limit": 0}, headers=auth(fed.trainer)).json()
    assert none["teams"] == [] and none["team_count"] == 12

    bad = http.get(path, params={"teams_limit": -1}, headers=auth(fed.trainer))
    assert bad.status_code == 422 and bad.headers["content-type"].startswith("application/problem+json")
    assert "teams_limit" in bad.text

    spec = http.get("/openapi.json").json()
    params = {p["name"] for p in spec["paths"]["/api/v1/exercises/{exercise_id}"]["get"]["parameters"]}
    assert {"teams_offset", "teams_limit"} <= params


def test_a_cancel_answers_with_the_state_not_the_teams(
    http: httpx.Client, fed: Federation, driver: Driver
) -> None:
    exercise = schedule(http, fed, 6)
    driver.advance_to(START)
    cancelled = http.post(f"/api/v1/exercises/{exercise['id']}/cancel", headers=auth(fed.trainer))
    assert cancelled.status_code == 200, cancelled.text
    body = cancelled.json()
    assert "teams" not in body and body["team_count"] == 6 and body["team_stages"] == {"ready": 6}
    assert body["name"] == exercise["name"] and body["status"] == "running"
    driver.run_due()
    final = http.get(
        f"/api/v1/exercises/{exercise['id']}", params={"teams_limit": 0}, headers=auth(fed.trainer)
    )
    assert final.json()["status"] == "cancelled" and final.json()["team_stages"] == {"done": 6}
