"""Researcher environments over HTTP on both databases: launched now, deployed at once, credentials for
the researcher's organisation only, renewed within the range's policy, destroyed (or expired) cleanly."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from tests.integration.catalogue.helpers import auth
from tests.integration.exercises.helpers import Driver, Federation

NOW = datetime(2030, 7, 1, 8, 0, tzinfo=UTC)
RANGES = {"ee-range": ("EE", 2)}  # one range: the refusals need it full


def launch(http: httpx.Client, token: str, **body: object) -> httpx.Response:
    return http.post(
        "/api/v1/environments", json={"scenario": "web-dvwa", "ttl_minutes": 120, **body}, headers=auth(token)
    )


def test_launch_use_renew_destroy(http: httpx.Client, fed: Federation, driver: Driver) -> None:
    launched = launch(http, fed.researcher, name="sqli practice")
    assert launched.status_code == 201, launched.text
    env = launched.json()
    assert env["kind"] == "environment" and env["start"] == "2030-07-01T08:00:00Z"
    assert env["end"] == "2030-07-01T10:00:00Z"
    assert [t["range"] for t in env["teams"]] == ["ee-range"]

    driver.run_due()  # deployed now, not at a later time
    ready = http.get(f"/api/v1/environments/{env['id']}", headers=auth(fed.researcher)).json()
    assert ready["status"] == "running" and ready["teams"][0]["stage"] == "ready"

    access = http.get(f"/api/v1/environments/{env['id']}/access", headers=auth(fed.researcher)).json()
    assert set(access[0]["credentials"]) == {"attacker_password"}  # handed out; flags and db passwords not
    assert len(access[0]["credentials"]["attacker_password"]) == 14
    assert {e["host"] for e in access[0]["endpoints"]} >= {"attacker"}
    denied = http.get(f"/api/v1/environments/{env['id']}/access", headers=auth(fed.other_trainer))
    assert denied.status_code == 404

    listed = http.get("/api/v1/environments", headers=auth(fed.researcher)).json()
    assert [e["id"] for e in listed] == [env["id"]]
    assert http.get("/api/v1/exercises", headers=auth(fed.researcher)).json() == []

    renewed = http.post(
        f"/api/v1/environments/{env['id']}/renew", json={"minutes": 60}, headers=auth(fed.researcher)
    )
    assert renewed.status_code == 200, renewed.text
    assert renewed.json()["end"] == "2030-07-01T11:00:00Z"
    bookings = http.get("/api/v1/bookings", params={"reference": env["id"]}, headers=auth(fed.researcher))
    assert [b["end"] for b in bookings.json()["items"]] == ["2030-07-01T11:00:00Z"]

    # The range's policy bounds renewals, and the refusal says so.
    policy = {"policy": {"max_booking_minutes": 240}}
    changed = http.patch("/api/v1/ranges/ee-range", json=policy, headers=auth(fed.operators["ee-range"]))
    assert changed.status_code == 200, changed.text
    too_long = http.post(
        f"/api/v1/environments/{env['id']}/renew", json={"minutes": 240}, headers=auth(fed.researcher)
    )
    assert too_long.status_code == 409, too_long.text
    assert any("ee-range" in r and "4 h" in r for r in too_long.json()["reasons"]), too_long.json()

    destroyed = http.delete(f"/api/v1/environments/{env['id']}", headers=auth(fed.researcher))
    assert destroyed.status_code == 200
    driver.run_due()
    final = http.get(f"/api/v1/environments/{env['id']}", headers=auth(fed.researcher)).json()
    assert final["status"] == "cancelled" and final["teams"][0]["stage"] == "done"
    assert fed.world("ee-range").instances == {}
    assert http.get("/api/v1/environments", headers=auth(fed.researcher)).json() == []


def test_an_environment_expires_at_its_ttl(http: httpx.Client, fed: Federation, driver: Driver) -> None:
    env = launch(http, fed.researcher, ttl_minutes=30).json()
    driver.run_due()
    assert fed.world("ee-range").instances
    driver.advance(timedelta(minutes=30))
    final = http.get(f"/api/v1/environments/{env['id']}", headers=auth(fed.researcher)).json()
    assert final["status"] == "done" and fed.world("ee-range").instances == {}


def test_environment_refusals(http: httpx.Client, fed: Federation, driver: Driver) -> None:
    operator = fed.operators["ee-range"]
    assert launch(http, operator).status_code == 403
    bad = launch(http, fed.researcher, ttl_minutes=0)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "ttl_minutes"
    # Two web-dvwa environments need 7000 millicores; the range shares 4000.
    assert launch(http, fed.researcher).status_code == 201
    full = launch(http, fed.researcher)
    assert full.status_code == 409
    assert any("ee-range" in r and "cpu millicores" in r for r in full.json()["reasons"]), full.json()
