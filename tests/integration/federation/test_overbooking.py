"""Concurrent hub requests and local requests on the peer itself never overbook the peer's range: the
home instance's booking engine admits both, in one calendar (issue 14, must show)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.federation.world import SCENARIO_NAME, federation

pytestmark = [pytest.mark.postgres, pytest.mark.slow, pytest.mark.xdist_group("federation")]

SLOTS = 4
HUB_REQUESTS = 6
LOCAL_REQUESTS = 6


def test_hub_and_local_requests_together_never_overbook_a_peers_range(tmp_path: Path) -> None:
    with federation(tmp_path, slots=SLOTS, proxies=False) as world:
        lv = world.lv.process
        school = lv.org("LV school", "LV", "training_provider")
        local = lv.token(school, "trainer", "lv-trainer")
        start = datetime.now(UTC) + timedelta(hours=2)
        end = start + timedelta(hours=1)

        def hub_request(n: int) -> httpx.Response:
            body = {
                "name": f"hub drill {n}",
                "scenario": SCENARIO_NAME,
                "teams": [{"name": "red", "organisation": "CERT-LV", "country": "LV"}],
                "start": start.isoformat(),
                "end": end.isoformat(),
                "lead_minutes": 0,
                "constraints": {"include_ranges": ["lv-range"]},
            }
            return httpx.post(
                f"{world.hub.url}/api/v1/exercises",
                json=body,
                headers={"Authorization": f"Bearer {world.trainer}"},
                timeout=60,
            )

        def local_request(n: int) -> httpx.Response:
            body = {
                "range": "lv-range",
                "demand": {"slots": 1, "cpu_millicores": 200, "memory_mib": 128},
                "start": start.isoformat(),
                "end": end.isoformat(),
                "hold": False,
            }
            return httpx.post(
                f"{lv.url}/api/v1/bookings",
                json=body,
                headers={"Authorization": f"Bearer {local}"},
                timeout=60,
            )

        calls = [(hub_request, n) for n in range(HUB_REQUESTS)] + [
            (local_request, n) for n in range(LOCAL_REQUESTS)
        ]
        with ThreadPoolExecutor(max_workers=len(calls)) as pool:
            answers = list(pool.map(lambda c: (c[0].__name__, c[0](c[1])), calls))
        for _, answer in answers:
            assert answer.status_code in (201, 409), answer.text
        hub_ok = [a for kind, a in answers if kind == "hub_request" and a.status_code == 201]
        local_ok = [a for kind, a in answers if kind == "local_request" and a.status_code == 201]
        # Every slot is taken once, never more: the peer's calendar decides for both.
        assert len(hub_ok) + len(local_ok) == SLOTS, [a.text for _, a in answers]
        bookings: list[dict[str, Any]] = lv.made("GET", "/api/v1/bookings?range_id=lv-range&page_size=500")[
            "items"
        ]
        taking = [b for b in bookings if b["status"] in ("held", "confirmed", "active", "pending_approval")]
        assert sum(b["demand"]["slots"] for b in taking) <= SLOTS
        # The hub's exercises are exactly the peer's bookings for its organisation (none left held).
        hub_keys = {a.json()["id"] for a in hub_ok}
        peer = {b["request_id"] for b in taking if b["owner_organisation_id"] == world.lv.peer_org}
        assert peer == hub_keys
        # A refused hub request says why in the peer's own words, or placement's.
        refused = [a.json() for kind, a in answers if kind == "hub_request" and a.status_code == 409]
        for problem in refused:
            text = " ".join(problem["reasons"])
            assert "lv-hub/lv-range: " in text or "lv-range" in text, problem
