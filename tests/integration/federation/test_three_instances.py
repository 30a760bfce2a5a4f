"""Three real Federange servers on one machine (issue 14, must show): a trainer on the hub schedules an
exercise across a hub-local range and one range of each of two national instances; it deploys, hands out
access and tears down; each national range's credential never reaches the hub (database, log, answers)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from connectors import registry
from connectors.base import Phase
from tests.integration.federation.world import SCENARIO, World, federation
from tests.support.federation import wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.slow, pytest.mark.xdist_group("federation")]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Any:
    with federation(tmp_path_factory.mktemp("fed")) as w:
        yield w


def _exercise(world: World, exercise_id: str) -> dict[str, Any]:
    response = world.hub_call("GET", f"/api/v1/exercises/{exercise_id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_adding_a_peer_imports_its_published_ranges_with_the_peer_as_origin(world: World) -> None:
    ranges = {r["slug"]: r for r in world.hub_call("GET", "/api/v1/ranges").json()["items"]}
    assert {"be-range", "lv-range", "ee-range"} <= set(ranges)
    assert ranges["lv-range"]["country"] == "LV"
    assert ranges["lv-range"]["connector"]["kind"] == "federation"
    peers = {p["name"]: p for p in world.hub_call("GET", "/api/v1/peers", world.hub.admin).json()}
    assert peers["lv-hub"]["ranges"] == ["lv-range"] and peers["ee-hub"]["ranges"] == ["ee-range"]
    assert peers["lv-hub"]["api_version"] == "federation/v1"


def test_an_exercise_across_the_hub_and_two_peers_deploys_hands_out_access_and_tears_down(
    world: World, tmp_path: Path
) -> None:
    created = world.hub_call("POST", "/api/v1/exercises", json=world.exercise_body())
    assert created.status_code == 201, created.text
    exercise = created.json()
    placed = {t["team"]: t["range"] for t in exercise["placement"]["assignments"]}
    assert set(placed.values()) == {"be-range", "lv-range", "ee-range"}, placed
    # The peers booked for the hub's peer organisation, confirmed (both phases done in the request).
    for national in (world.lv, world.ee):
        holds = national.process.made(
            "GET", f"/federation/v1/holds?key={exercise['id']}", national.peer_token
        )
        assert [h["status"] for h in holds] in (["confirmed"], ["active"]), holds

    def ready() -> dict[str, Any] | None:
        current = _exercise(world, exercise["id"])
        return current if {t["stage"] for t in current["teams"]} == {"ready"} else None

    running = wait_for(ready, timeout=90, what="every team ready")
    assert running["status"] == "running"
    access = world.hub_call("GET", f"/api/v1/exercises/{exercise['id']}/access").json()
    by_range = {a["range"]: a for a in access}
    assert set(by_range) == {"be-range", "lv-range", "ee-range"}
    for entry in access:
        assert entry["endpoints"] and entry["endpoints"][0]["port"] == 22
        assert entry["credentials"]["trainee_password"]
    # The national instances hold the instances themselves (their connector, their credentials).
    for national in (world.lv, world.ee):
        listed = national.process.made(
            "GET", f"/api/v1/ranges/{national.range_slug}/peer-instances", national.operator
        )
        assert [i["state"] for i in listed] == ["running"]

    cancelled = world.hub_call("POST", f"/api/v1/exercises/{exercise['id']}/cancel")
    assert cancelled.status_code == 200, cancelled.text
    done = wait_for(
        lambda: _exercise(world, exercise["id"])["status"] in ("cancelled", "done") or None,
        timeout=90,
        what="the exercise torn down",
    )
    assert done
    for national in (world.lv, world.ee):

        def released(n: Any = national) -> bool:
            holds = n.process.made("GET", f"/federation/v1/holds?key={exercise['id']}", n.peer_token)
            return [h["status"] for h in holds] == ["released"]

        wait_for(released, timeout=60, what=f"{national.process.name}'s booking released")
        listed = national.process.made(
            "GET", f"/api/v1/ranges/{national.range_slug}/peer-instances", national.operator
        )
        assert [i["state"] for i in listed] == ["torn_down"]

    # Every call was audited on the national side, by the hub's peer identity.
    audit = world.lv.process.made("GET", "/api/v1/audit", world.lv.operator)
    actions = {e["action"] for e in (audit["items"] if isinstance(audit, dict) else audit)}
    assert {
        "federation.hold.create",
        "federation.hold.confirm",
        "federation.instance.deploy",
        "federation.hold.release",
    } <= actions, actions
    # ... with the organisation at the hub each hold was made for (recorded; the peer still books for,
    # and applies its policy to, the hub's peer organisation).
    (created_for,) = [
        e["after"]["for"]
        for e in world.lv.process.made(
            "GET", "/api/v1/audit?action=federation.hold.create", world.lv.operator
        )["items"]
        if e["after"]["key"] == exercise["id"]
    ]
    assert {k: created_for[k] for k in ("name", "country")} == {"name": "EU cyber school", "country": "BE"}
    assert created_for["id"] == exercise["owner_organisation_id"], created_for

    # ... and on the hub's side: every instance call it made to a peer, with the peer, the range, the
    # instance and its booking, and the outcome.
    teams = {t["range"]: t for t in _exercise(world, exercise["id"])["teams"]}
    for action in ("deploy", "status", "teardown"):
        page = world.hub_call("GET", f"/api/v1/audit?action=federation.instance.{action}", world.hub.admin)
        events = page.json()["items"]
        for slug, peer in (("lv-range", "lv-hub"), ("ee-range", "ee-hub")):
            mine = [e for e in events if e["object_id"] == teams[slug]["instance_id"]]
            assert mine, (action, slug, events)
            after = mine[0]["after"]
            assert {"peer": peer, "range": slug, "outcome": "ok", "exercise": exercise["id"]}.items() <= (
                after.items()
            ), after
            assert after["booking"] and mine[0]["range_id"]
        assert not [e for e in events if e["object_id"] == teams["be-range"]["instance_id"]]

    # The nationals' credentials never reached the hub: not in its database, its log or its answers.
    hub_files = [p for p in world.hub.data_dir.rglob("*") if p.is_file()]
    seen = b"".join(p.read_bytes() for p in hub_files) + "".join(world.responses).encode()
    for national in (world.lv, world.ee):
        assert national.secret.encode() not in seen
        assert national.peer_token.encode() not in seen  # the peer token the hub holds is sealed
    assert world.hub_secret.encode() not in seen


def test_an_operators_emergency_stop_is_seen_by_the_hub_as_terminated_with_the_reason(world: World) -> None:
    created = world.hub_call("POST", "/api/v1/exercises", json=world.exercise_body("stop drill"))
    assert created.status_code == 201, created.text
    exercise_id = created.json()["id"]
    world.wait_every_team(exercise_id)
    lv_team = next(t for t in _exercise(world, exercise_id)["teams"] if t["range"] == "lv-range")
    stopped = world.lv.process.made(
        "POST",
        f"/api/v1/ranges/lv-range/peer-instances/{lv_team['instance_id']}/stop",
        world.lv.operator,
        json={"reason": "suspected breakout"},
    )
    assert stopped["state"] == "terminated"
    # What the hub's federation connector reads of it (the connector the hub uses for lv-range).
    connector = registry.load(
        "federation",
        {"base_url": world.lv.reach, "range": "lv-range", "peer": "lv-hub", "token": world.lv.peer_token},
    )
    try:
        status = connector.status(instance_id=lv_team["instance_id"])
        assert status.phase is Phase.FAILED
        assert status.reason == "terminated by the range operator: suspected breakout"
        # A terminated instance is not deployed again under the same id: the hub's redeploy is refused.
        listed = [r.instance_id for r in connector.list_instances()]
        assert lv_team["instance_id"] not in listed
    finally:
        connector.close()
    world.hub_call("POST", f"/api/v1/exercises/{exercise_id}/cancel")
    wait_for(
        lambda: _exercise(world, exercise_id)["status"] in ("cancelled", "done"),
        timeout=90,
        what="the exercise torn down",
    )


def test_a_peers_instance_never_outlives_its_booking_at_home(world: World) -> None:
    """The peer releases its booking but leaves its instance: the home tears it down itself."""
    lv, token = world.lv.process, world.lv.peer_token
    now = datetime.now(UTC)
    hold = lv.made(
        "POST",
        "/federation/v1/holds",
        token,
        json={
            "key": "outlive-1",
            "range": "lv-range",
            "start": now.isoformat(),
            "end": (now + timedelta(hours=1)).isoformat(),
            "demand": {"slots": 1, "cpu_millicores": 500, "memory_mib": 512},
        },
    )
    lv.made("POST", f"/federation/v1/holds/{hold['id']}/confirm", token)
    deployed = lv.made(
        "POST",
        "/federation/v1/instances",
        token,
        json={
            "instance_id": "xoutlive1",
            "range": "lv-range",
            "exercise": "outlive-1",
            "team": "solo",
            "scenario_document": SCENARIO,
        },
    )
    assert deployed["phase"] in ("pending", "ready")
    # Refused: more than the booking reserved (its footprint, validated again at home).
    second = lv.call(
        "POST",
        "/federation/v1/instances",
        token,
        json={
            "instance_id": "xoutlive2",
            "range": "lv-range",
            "exercise": "outlive-1",
            "team": "duo",
            "scenario_document": SCENARIO,
        },
    )
    assert second.status_code == 409 and "exceeds what booking" in second.text, second.text
    lv.made("POST", f"/federation/v1/holds/{hold['id']}/release", token)

    def torn_down() -> bool:
        listed = lv.made("GET", "/api/v1/ranges/lv-range/peer-instances", world.lv.operator)
        return any(i["id"] == "xoutlive1" and i["state"] == "torn_down" for i in listed)

    wait_for(torn_down, timeout=30, what="the home tearing the instance down")
    assert lv.call("GET", "/federation/v1/instances/xoutlive1", token).status_code == 404
