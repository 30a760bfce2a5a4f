"""A range's security policy decides at planning, not at deploy time (the trust issue's finding 8): a
scenario whose hosts ask for privileged containers or added capabilities is placed only on ranges that
allow privileged scenarios, and a range can require images pinned by digest. Each refusal names the range
and the rule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import yaml

from scenarios import library
from tests.integration.catalogue.helpers import auth
from tests.integration.exercises.helpers import CTF, Federation, exercise_body

NOW = datetime(2030, 6, 1, 8, 0, tzinfo=UTC)
START = NOW + timedelta(days=1)
END = START + timedelta(hours=3)
RANGES = {"ee-range": ("EE", 2), "lv-range": ("LV", 2)}
OPEN = {"max_foreign_share": 1.0, "max_booking_minutes": None}


def privileged_ctf() -> str:
    data = yaml.safe_load(library.bundle(CTF).text)
    data["metadata"]["version"] = "1.1.0"
    data["spec"]["hosts"][0].setdefault("security", {})["privileged"] = True
    return yaml.safe_dump(data, sort_keys=False)


def plan(http: httpx.Client, token: str, scenario: str, **constraints: Any) -> httpx.Response:
    body = exercise_body(START, END, [("red", "EE")], **constraints)
    return http.post("/api/v1/exercises/plan", json={**body, "scenario": scenario}, headers=auth(token))


def set_policy(http: httpx.Client, fed: Federation, slug: str, **policy: Any) -> None:
    changed = http.patch(
        f"/api/v1/ranges/{slug}", json={"policy": {**OPEN, **policy}}, headers=auth(fed.operators[slug])
    )
    assert changed.status_code == 200, changed.text
    assert all(changed.json()["policy"][k] == v for k, v in policy.items())


def test_a_privileged_scenario_is_refused_at_planning_where_ranges_do_not_allow_it(
    http: httpx.Client, fed: Federation, clock: object
) -> None:
    uploaded = http.post("/api/v1/scenarios", json={"document": privileged_ctf()}, headers=auth(fed.trainer))
    assert uploaded.status_code == 201, uploaded.text
    ref = uploaded.json()["ref"]

    refused = plan(http, fed.trainer, ref).json()
    assert refused["feasible"] is False
    for slug in RANGES:
        assert refused["rejected"][slug] == [
            f"{slug}: security policy does not allow privileged containers (the range does not allow "
            "privileged scenarios)"
        ]
    # Creating the exercise is refused the same way: nothing is booked.
    body = {**exercise_body(START, END, [("red", "EE")]), "scenario": ref}
    assert http.post("/api/v1/exercises", json=body, headers=auth(fed.trainer)).status_code == 409
    assert http.get("/api/v1/bookings", headers=auth(fed.trainer)).json()["items"] == []

    set_policy(http, fed, "lv-range", allow_privileged=True)
    placed = plan(http, fed.trainer, ref)
    assert placed.status_code == 200 and placed.json()["feasible"], placed.text
    assert [a["range"] for a in placed.json()["assignments"]] == ["lv-range"]
    # The library's unprivileged ctf-starter still may go anywhere (the bare name is now the upload).
    anywhere = plan(http, fed.trainer, f"federange/{CTF}@1.0.0", include_ranges=["ee-range"]).json()
    assert anywhere["feasible"] is True, anywhere


def test_a_range_can_require_images_pinned_by_digest(
    http: httpx.Client, fed: Federation, clock: object
) -> None:
    set_policy(http, fed, "ee-range", require_image_digests=True)
    # ctf-starter runs busybox:1.36 by tag: only lv-range takes it now.
    tagged = plan(http, fed.trainer, CTF)
    assert tagged.status_code == 200 and tagged.json()["feasible"], tagged.text
    assert [a["range"] for a in tagged.json()["assignments"]] == ["lv-range"]
    refused = plan(http, fed.trainer, CTF, include_ranges=["ee-range"]).json()
    assert refused["feasible"] is False
    assert refused["rejected"]["ee-range"] == [
        "ee-range: security policy requires images pinned by digest; by tag: busybox:1.36"
    ]
    # web-dvwa builds every image it runs (tagged by content): pinned.
    built = plan(http, fed.trainer, "web-dvwa", include_ranges=["ee-range"])
    assert built.status_code == 200 and built.json()["feasible"], built.text
