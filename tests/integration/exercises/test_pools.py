"""Warm pools over HTTP on both databases: a range's operator keeps ready instances of a scenario within
the pool's own booking; a researcher's launch claims one and is ready at once, on its own booking and
quota; the pool refills in the background; deleting the pool gives its booking back."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from orchestrator.wiring import Services
from tests.integration.catalogue.helpers import auth
from tests.integration.exercises.helpers import Driver, Federation, round_trips

NOW = datetime(2030, 8, 1, 8, 0, tzinfo=UTC)
RANGES = {"ee-range": ("EE", 6), "lv-range": ("LV", 2)}


def make_pool(http: httpx.Client, fed: Federation, **body: Any) -> httpx.Response:
    return http.post(
        "/api/v1/ranges/ee-range/pools",
        json={"scenario": "ctf-starter", "min_ready": 2, "max_ready": 3, **body},
        headers=auth(fed.operators["ee-range"]),
    )


def pool(http: httpx.Client, fed: Federation, pool_id: str) -> dict[str, Any]:
    got = http.get(f"/api/v1/pools/{pool_id}", headers=auth(fed.operators["ee-range"]))
    assert got.status_code == 200, got.text
    body: dict[str, Any] = got.json()
    return body


def launch(http: httpx.Client, token: str) -> httpx.Response:
    return http.post(
        "/api/v1/environments", json={"scenario": "ctf-starter", "ttl_minutes": 60}, headers=auth(token)
    )


def bookings(http: httpx.Client, token: str, reference: str) -> list[dict[str, Any]]:
    found = http.get("/api/v1/bookings", params={"reference": reference}, headers=auth(token))
    assert found.status_code == 200, found.text
    items: list[dict[str, Any]] = found.json()["items"]
    return items


def test_a_launch_claims_a_ready_pooled_instance_and_the_pool_refills(
    http: httpx.Client, fed: Federation, driver: Driver
) -> None:
    created = make_pool(http, fed)
    assert created.status_code == 201, created.text
    made = created.json()
    assert (made["range"], made["min_ready"], made["max_ready"]) == ("ee-range", 2, 3)
    assert made["instances"] == {"booked": 2}
    (held,) = bookings(http, fed.operators["ee-range"], made["id"])
    assert held["demand"]["slots"] == 3 and held["status"] == "confirmed"  # room for max_ready
    driver.run_due()
    assert pool(http, fed, made["id"])["ready"] == 2

    launched = launch(http, fed.researcher)
    assert launched.status_code == 201, launched.text
    env = launched.json()
    assert env["status"] == "running" and [t["stage"] for t in env["teams"]] == ["ready"]  # no deploy to wait
    assert env["teams"][0]["range"] == "ee-range"
    access = http.get(f"/api/v1/environments/{env['id']}/access", headers=auth(fed.researcher)).json()
    assert access[0]["stage"] == "ready" and access[0]["endpoints"]
    (own,) = bookings(http, fed.researcher, env["id"])
    assert own["demand"]["slots"] == 1 and own["status"] == "active"  # the researcher's booking now

    assert pool(http, fed, made["id"])["instances"] == {"ready": 1}  # the claimed one left the pool
    driver.run_due()  # pool.refill, due at once, then the fresh instance's deploy
    assert pool(http, fed, made["id"])["ready"] == 2
    assert len(fed.world("ee-range").instances) == 3

    destroyed = http.delete(f"/api/v1/environments/{env['id']}", headers=auth(fed.researcher))
    assert destroyed.status_code == 200, destroyed.text
    driver.run_due()
    assert [b["status"] for b in bookings(http, fed.researcher, env["id"])] == ["released"]
    assert pool(http, fed, made["id"])["ready"] == 2  # the pool is untouched
    assert len(fed.world("ee-range").instances) == 2

    deleted = http.delete(f"/api/v1/pools/{made['id']}", headers=auth(fed.operators["ee-range"]))
    assert deleted.status_code == 200, deleted.text
    driver.run_due()
    final = pool(http, fed, made["id"])
    assert final["status"] == "cancelled" and final["instances"] == {"done": 2}
    assert [b["status"] for b in bookings(http, fed.operators["ee-range"], made["id"])] == ["released"]
    assert fed.world("ee-range").instances == {}


def test_an_unclaimed_instance_counts_against_the_pool_a_claimed_one_against_the_quota(
    http: httpx.Client, fed: Federation, driver: Driver
) -> None:
    made = make_pool(http, fed, min_ready=3, max_ready=3).json()
    driver.run_due()
    assert pool(http, fed, made["id"])["ready"] == 3
    lab = http.get("/api/v1/organisations", headers=auth(fed.admin)).json()
    lab_id = next(o["id"] for o in lab if o["name"] == "Tartu research lab")
    quota = {"cpu_millicores": 100_000, "memory_mib": 100_000, "slots": 1, "gpus": 0}
    assert (
        http.put(f"/api/v1/organisations/{lab_id}/quota", json=quota, headers=auth(fed.admin)).status_code
        == 200
    )

    first = launch(http, fed.researcher)  # three pooled instances do not count against the lab's one slot
    assert first.status_code == 201, first.text
    assert first.json()["teams"][0]["stage"] == "ready"
    second = launch(http, fed.researcher)  # a second one would: refused, naming the quota
    assert second.status_code == 409, second.text
    assert any("quota" in r for r in second.json()["reasons"]), second.json()
    assert pool(http, fed, made["id"])["instances"] == {"ready": 2}
    driver.run_due()
    assert pool(http, fed, made["id"])["instances"] == {"ready": 3}


def test_only_the_range_operators_keep_pools_and_nobody_reads_a_pooled_instance(
    http: httpx.Client, fed: Federation, driver: Driver
) -> None:
    for token in (fed.researcher, fed.trainer, fed.operators["lv-range"]):
        refused = http.post(
            "/api/v1/ranges/ee-range/pools",
            json={"scenario": "ctf-starter", "min_ready": 1, "max_ready": 1},
            headers=auth(token),
        )
        assert refused.status_code == 403, refused.text
    bad = make_pool(http, fed, min_ready=4, max_ready=3)
    assert bad.status_code == 422 and "min_ready" in bad.text
    too_big = make_pool(http, fed, min_ready=1, max_ready=7)  # six slots on the range
    assert too_big.status_code == 409 and "ee-range" in too_big.text
    made = make_pool(http, fed).json()
    driver.run_due()
    other = http.get(f"/api/v1/pools/{made['id']}", headers=auth(fed.operators["lv-range"]))
    assert other.status_code == 403
    for path in (f"/api/v1/environments/{made['id']}", f"/api/v1/exercises/{made['id']}/access"):
        assert http.get(path, headers=auth(fed.researcher)).status_code == 404
        assert http.get(path, headers=auth(fed.admin)).status_code == 404
    listed = http.get("/api/v1/ranges/ee-range/pools", headers=auth(fed.operators["ee-range"])).json()
    assert [p["id"] for p in listed] == [made["id"]]
    resized = http.patch(
        f"/api/v1/pools/{made['id']}", json={"min_ready": 3}, headers=auth(fed.operators["ee-range"])
    )
    assert resized.status_code == 200 and resized.json()["instances"] == {"booked": 1, "ready": 2}
    over = http.patch(
        f"/api/v1/pools/{made['id']}", json={"min_ready": 4}, headers=auth(fed.operators["ee-range"])
    )
    assert over.status_code == 422 and "min_ready" in over.text


POSTGRES = [pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.mark.parametrize("database_url", POSTGRES, indirect=True)
def test_a_claim_is_four_round_trips_and_answers_what_a_read_shows(
    http: httpx.Client, fed: Federation, driver: Driver, services: Services
) -> None:
    """libpq's trace of every connection the request uses: a round trip ends with a Sync. A claim reads
    the scenario (its BEGIN sent with it: the connection was just used), the ready instance with its
    pool and range (one query), and the admission (locks and calendar in one call); its writes go out
    with the COMMIT. The code before sent the BEGIN on its own, read the pool, the range and its
    maintenance windows each on its own, looked for an earlier request under the environment's new id,
    wrote the booking and the instance each in a round trip and read the events back."""
    made = make_pool(http, fed).json()
    driver.run_due()
    assert pool(http, fed, made["id"])["ready"] == 2
    launch(http, fed.researcher)  # the token's first use (its look-up is then cached), untraced
    driver.run_due()
    assert pool(http, fed, made["id"])["ready"] == 2

    with round_trips(services) as counted:
        launched = launch(http, fed.researcher)
    assert launched.status_code == 201, launched.text
    env = launched.json()
    assert [t["stage"] for t in env["teams"]] == ["ready"]  # claimed, not launched the ordinary way
    # BEGIN with the scenario, instance with pool and range, admission, writes with the COMMIT
    assert counted == [4]
    read = http.get(f"/api/v1/environments/{env['id']}", headers=auth(fed.researcher)).json()
    assert env["events"] == read["events"] and len(env["events"]) == 1
    assert env["teams"][0] == read["teams"][0] | {"stages": env["teams"][0]["stages"]}


@pytest.mark.parametrize("database_url", POSTGRES, indirect=True)
def test_two_claims_at_the_same_moment_each_lock_one_instance(
    http: httpx.Client, fed: Federation, driver: Driver, services: Services
) -> None:
    """A claim locks only the instance it takes (FOR UPDATE SKIP LOCKED, one row), so a second launch in
    the same moment takes the next ready one instead of finding them all locked and launching the slow
    way; a third, with both held, finds none. (The code before locked up to three ready instances for
    each claim and used the first.)"""
    made = make_pool(http, fed).json()
    driver.run_due()
    assert pool(http, fed, made["id"])["ready"] == 2
    now = datetime.now(UTC)
    with contextlib.ExitStack() as open_units:
        first, second, third = (open_units.enter_context(services.uow()) for _ in range(3))
        exercise = first.exercises.get_exercise(made["id"])
        assert exercise is not None
        taken = [u.pools.next_claimable(exercise.scenario, now=now, lock=True) for u in (first, second)]
        assert all(t is not None for t in taken)
        assert len({t.instance.id for t in taken if t is not None}) == 2
        assert third.pools.next_claimable(exercise.scenario, now=now, lock=True) is None
        assert third.pools.next_claimable(exercise.scenario, now=now) is not None  # unlocked read sees one
