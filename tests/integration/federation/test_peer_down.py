"""A peer that goes down during the exercise, and a peer that refuses a deploy (issue 14, failure
behaviour): its instances are reported `unknown` with the reason while it cannot be reached, ready again
once it answers; a teardown is retried until it answers and its booking is then released; a refusal
reaches the team's stage on the hub with the peer's words. The hub audits every instance call it makes
to a peer, with the outcome."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.integration.federation.world import National, World, federation
from tests.support.faultproxy import DROP, Rule
from tests.support.federation import wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.slow, pytest.mark.xdist_group("federation")]

#: The hub's reconciler lists every range's instances each second (it is what notices a peer gone).
HUB_ENV = {"FEDERANGE_RECONCILE_INTERVAL_SECONDS": "1"}


def _team_on(world: World, exercise_id: str, range_slug: str) -> dict[str, Any]:
    return next(t for t in world.exercise(exercise_id)["teams"] if t["range"] == range_slug)


def _partition(national: National, methods: tuple[str, ...] = ("GET", "POST", "DELETE")) -> None:
    """Every federation call of the hub to this peer is dropped unanswered, until the proxy is cleared."""
    assert national.proxy is not None
    for method in methods:
        national.proxy.add(Rule(method, r"/federation/v1", action=DROP, times=1_000_000))


def _holds(national: National, key: str) -> list[str]:
    found = national.process.made("GET", f"/federation/v1/holds?key={key}", national.peer_token)
    return [h["status"] for h in found]


def _hub_audit(world: World, action: str) -> list[dict[str, Any]]:
    page = world.hub.made("GET", f"/api/v1/audit?action={action}&page_size=500", world.hub.admin)
    items: list[dict[str, Any]] = page["items"]
    return items


def test_a_peer_partitioned_during_the_exercise_is_unknown_then_ready_and_its_teardown_waits_for_it(
    tmp_path: Any,
) -> None:
    with federation(tmp_path, hub_env=HUB_ENV) as world:
        created = world.hub_call("POST", "/api/v1/exercises", json=world.exercise_body(teams=3))
        assert created.status_code == 201, created.text
        exercise_id = created.json()["id"]
        world.wait_every_team(exercise_id)
        lv_team = _team_on(world, exercise_id, "lv-range")

        _partition(world.lv)
        unknown = wait_for(
            lambda: (t := _team_on(world, exercise_id, "lv-range"))["stage"] == "unknown" and t,
            timeout=60,
            what="the lv-hub team reported unknown",
        )
        assert unknown["stage_reason"].startswith("peer lv-hub unreachable: "), unknown
        current = world.exercise(exercise_id)
        assert current["status"] == "running"  # the status read answers; it does not fail
        assert {t["stage"] for t in current["teams"] if t["range"] != "lv-range"} == {"ready"}
        code, said = world.cli("exercise", "status", exercise_id)
        assert code == 0, said
        assert "unknown" in said and "peer lv-hub unreachable" in said, said

        assert world.lv.proxy is not None
        world.lv.proxy.clear()  # the partition heals: the peer says it still has the instance
        wait_for(
            lambda: (
                (t := _team_on(world, exercise_id, "lv-range"))["stage"] == "ready"
                and t["stage_reason"] == ""
            ),
            timeout=60,
            what="the lv-hub team ready again",
        )
        events = " ".join(e["message"] for e in world.exercise(exercise_id)["events"])
        assert "unknown: peer lv-hub unreachable" in events and "answers again" in events, events

        # Down again at the end: the teardown is retried until the peer answers, then its booking goes.
        _partition(world.lv, ("DELETE",))
        world.hub_call("POST", f"/api/v1/exercises/{exercise_id}/cancel")
        wait_for(
            lambda: world.lv.proxy is not None and world.lv.proxy.count("DELETE", r"/federation/v1/") >= 2,
            timeout=60,
            what="two refused teardowns at lv-hub",
        )
        assert _team_on(world, exercise_id, "lv-range")["stage"] == "tearing_down"
        assert world.exercise(exercise_id)["status"] == "tearing_down"
        world.lv.proxy.clear()
        wait_for(
            lambda: world.exercise(exercise_id)["status"] == "cancelled",
            timeout=120,
            what="the exercise torn down once lv-hub answers",
        )
        listed = world.lv.process.made("GET", "/api/v1/ranges/lv-range/peer-instances", world.lv.operator)
        assert [i["state"] for i in listed] == ["torn_down"]
        wait_for(lambda: _holds(world.lv, exercise_id) == ["released"], timeout=60, what="lv released")

        # The hub audited its calls to lv-hub, with what came of each.
        lists = [
            e["after"]
            for e in _hub_audit(world, "federation.instance.list")
            if e["after"] and e["after"]["peer"] == "lv-hub"
        ]
        assert {a["range"] for a in lists} == {"lv-range"}
        assert {a["outcome"] for a in lists} == {"unreachable", "ok"}, lists
        teardowns = [
            e["after"]
            for e in _hub_audit(world, "federation.instance.teardown")
            if e["object_id"] == lv_team["instance_id"]
        ]
        assert {a["outcome"] for a in teardowns} == {"unreachable", "ok"}, teardowns
        assert all(a["booking"] and a["exercise"] == exercise_id for a in teardowns)


def test_a_deploy_the_peer_refuses_fails_with_the_peers_words_and_healing_re_places_the_team(
    tmp_path: Any,
) -> None:
    with federation(tmp_path, hub_env={"FEDERANGE_HEAL_INTERVAL_SECONDS": "1"}) as world:
        body = world.exercise_body("refused drill", teams=3)
        start = datetime.now(UTC) + timedelta(seconds=30)
        body.update(
            start=start.isoformat(),
            end=(start + timedelta(hours=2)).isoformat(),
            lead_minutes=0,  # deploys at the start: time for lv-hub's operator to change its mind first
            constraints={"min_ranges": 1, "max_teams_per_range": 2},
        )
        created = world.hub_call("POST", "/api/v1/exercises", json=body)
        assert created.status_code == 201, created.text
        exercise_id = created.json()["id"]
        lv_team = _team_on(world, exercise_id, "lv-range")  # each team on its own country's range
        # lv-hub's operator now requires images pinned by digest; the hub booked before it knew.
        world.lv.process.made(
            "PATCH",
            "/api/v1/ranges/lv-range",
            world.lv.operator,
            json={
                "policy": {
                    "max_foreign_share": 1.0,
                    "max_booking_minutes": None,
                    "require_image_digests": True,
                }
            },
        )

        def refused_at_lv() -> list[str]:
            page = world.lv.process.made(
                "GET", "/api/v1/audit?action=federation.instance.refuse", world.lv.operator
            )
            return [r for e in page["items"] for r in e["after"]["reasons"]]

        (words,) = wait_for(refused_at_lv, timeout=90, what="lv-hub refusing the deploy")
        assert words.startswith("lv-range: the range requires images pinned by digest"), words
        # The team's stage on the hub failed with lv-hub's words, unchanged (attributed to lv-hub).
        team = wait_for(
            lambda: next(
                (
                    t
                    for t in world.exercise(exercise_id)["teams"]
                    if t["team"] == lv_team["team"] and t["stages"] and any(s["error"] for s in t["stages"])
                ),
                None,
            ),
            timeout=60,
            what="the refusal on the hub",
        )
        errors = [s["error"] for s in team["stages"] if s["error"]]
        assert errors[0] == f"refused by range 'lv-range': lv-hub/{words}", errors
        deploys = [
            e["after"]
            for e in _hub_audit(world, "federation.instance.deploy")
            if e["object_id"] == lv_team["instance_id"]
        ]
        assert [(a["outcome"], a["reason"]) for a in deploys] == [("refused", f"lv-hub/{words}")]

        # Healing re-places the team on the hub's own range, where it deploys; lv-hub's booking goes.
        moved = wait_for(
            lambda: (
                (t := next(t for t in world.exercise(exercise_id)["teams"] if t["team"] == lv_team["team"]))[
                    "range"
                ]
                == "be-range"
                and t["stage"] == "ready"
                and t
            ),
            timeout=120,
            what="the lv team re-placed and ready on be-range",
        )
        assert moved["instance_id"] == lv_team["instance_id"]
        events = " ".join(e["message"] for e in world.exercise(exercise_id)["events"])
        assert f"moved to range be-range: refused by range 'lv-range': lv-hub/{words}" in events, events
        wait_for(lambda: _holds(world.lv, exercise_id) == ["released"], timeout=60, what="lv released")
        assert world.exercise(exercise_id)["status"] == "running"
