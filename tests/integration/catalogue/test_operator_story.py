"""The operator story, over HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import nullcontext
from typing import Any

import httpx
from sqlalchemy import text

from orchestrator.wiring import Services
from tests.integration.catalogue.helpers import SECRET_MARKER, auth, create_org, issue, range_body
from tests.integration.exercises.helpers import round_trips


def test_operator_registers_a_range_and_secrets_stay_secret(
    http: httpx.Client, admin_token: str, services: Services
) -> None:
    ee_org = create_org(http, admin_token, "RIA Estonia", "EE")
    fi_org = create_org(http, admin_token, "JYVSECTEC", "FI")
    ee_operator = issue(http, admin_token, ee_org, "operator", "ee-ops")
    fi_operator = issue(http, admin_token, fi_org, "operator", "fi-ops")

    created = http.post("/api/v1/ranges", json=range_body(), headers=auth(ee_operator))
    assert created.status_code == 201, created.text
    record = created.json()
    assert record["operator_organisation_id"] == ee_org
    assert record["connector"]["secret_fields"] == ["kubeconfig"]
    assert record["connector"]["config"] == {"namespace_prefix": "fr"}

    # The secret is in no response ...
    responses = [
        created,
        http.get(f"/api/v1/ranges/{record['id']}", headers=auth(ee_operator)),
        http.get("/api/v1/ranges", headers=auth(admin_token)),
        http.get("/api/v1/audit", headers=auth(admin_token)),
        http.get("/api/v1/audit", headers=auth(ee_operator)),
    ]
    for response in responses:
        assert response.status_code == 200 or response.status_code == 201
        assert SECRET_MARKER not in response.text
        assert "certificate-authority-data" not in response.text

    # ... and not in plain text anywhere in the database.
    with services.engine.connect() as conn:
        sealed = conn.execute(text("SELECT connector_secrets, connector_config FROM ranges")).one()
        dumps = [str(v) for v in sealed]
        for table in ("ranges", "audit_events"):
            dumps += [str(row) for row in conn.execute(text(f"SELECT * FROM {table}"))]
    assert sealed[0]  # something is stored ...
    assert all(SECRET_MARKER not in d for d in dumps)  # ... but sealed
    # The connector can still read it back through the store.
    with services.uow() as uow:
        stored = uow.catalogue.get_range("ee-range")
    assert stored is not None and SECRET_MARKER in stored.connector.secrets[("kubeconfig",)]

    # Another organisation's operator cannot change it.
    denied = http.patch("/api/v1/ranges/ee-range", json={"name": "mine now"}, headers=auth(fi_operator))
    assert denied.status_code == 403
    assert denied.headers["content-type"].startswith("application/problem+json")
    assert "operated by another organisation" in denied.json()["detail"]
    denied_maintenance = http.post(
        "/api/v1/ranges/ee-range/maintenance",
        json={"start": "2027-01-01T00:00:00Z", "end": "2027-01-02T00:00:00Z"},
        headers=auth(fi_operator),
    )
    assert denied_maintenance.status_code == 403

    # Its own operator can, and a secret rotation keeps it sealed.
    changed = http.patch(
        "/api/v1/ranges/ee-range",
        json={"capacity": {"cpu_millicores": 32000, "memory_mib": 131072, "slots": 10}, "status": "draining"},
        headers=auth(ee_operator),
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["status"] == "draining"
    assert changed.json()["connector"]["secret_fields"] == ["kubeconfig"]

    # The audit log shows who did what, without secrets.
    audit = http.get("/api/v1/audit", params={"object_id": record["id"]}, headers=auth(admin_token)).json()
    actions = [(e["action"], e["actor_name"]) for e in audit["items"]]
    assert actions == [("range.update", "ee-ops"), ("range.register", "ee-ops")]
    update = audit["items"][0]
    assert update["before"]["capacity"]["cpu_millicores"] == 64000
    assert update["after"]["capacity"]["cpu_millicores"] == 32000
    assert update["before"]["connector"]["secret_fields"] == ["kubeconfig"]

    # The operator reads its own organisation's audit events, not the other one's.
    ee_audit = http.get("/api/v1/audit", headers=auth(ee_operator)).json()["items"]
    assert {e["action"] for e in ee_audit} >= {"range.register", "range.update"}
    fi_audit = http.get("/api/v1/audit", headers=auth(fi_operator)).json()["items"]
    assert all(e["range_id"] != record["id"] for e in fi_audit)


def test_trainers_see_only_ranges_their_organisation_may_book(http: httpx.Client, admin_token: str) -> None:
    ee_org = create_org(http, admin_token, "RIA Estonia", "EE")
    de_org = create_org(http, admin_token, "Bundeswehr CIR academy", "DE", kind="training_provider")
    fi_org = create_org(http, admin_token, "Finnish trainers", "FI", kind="training_provider")
    ee_operator = issue(http, admin_token, ee_org, "operator", "ee-ops")
    de_trainer = issue(http, admin_token, de_org, "trainer", "de-trainer")
    fi_trainer = issue(http, admin_token, fi_org, "trainer", "fi-trainer")
    assert http.post("/api/v1/ranges", json=range_body(), headers=auth(ee_operator)).status_code == 201
    open_body = range_body(slug="ee-open", policy={})
    assert http.post("/api/v1/ranges", json=open_body, headers=auth(ee_operator)).status_code == 201

    de_view = http.get("/api/v1/ranges", headers=auth(de_trainer)).json()
    assert [r["slug"] for r in de_view["items"]] == ["ee-open"]
    assert http.get("/api/v1/ranges/ee-range", headers=auth(de_trainer)).status_code == 404
    fi_view = http.get("/api/v1/ranges", headers=auth(fi_trainer)).json()
    assert [r["slug"] for r in fi_view["items"]] == ["ee-open", "ee-range"]
    # Trainers read but never write.
    assert (
        http.patch("/api/v1/ranges/ee-open", json={"name": "x"}, headers=auth(fi_trainer)).status_code == 403
    )
    assert (
        http.post("/api/v1/ranges", json=range_body(slug="fi-r"), headers=auth(fi_trainer)).status_code == 403
    )


def test_list_filters_and_pagination(http: httpx.Client, admin_token: str) -> None:
    org = create_org(http, admin_token, "Range ops", "LV")
    operator = issue(http, admin_token, org, "operator", "lv-ops")
    for i, (country, caps) in enumerate([("LV", ["k8s"]), ("LV", ["k8s", "gpu"]), ("LT", ["docker"])]):
        body = range_body(slug=f"r{i}", country=country, capabilities=caps, policy={})
        assert http.post("/api/v1/ranges", json=body, headers=auth(operator)).status_code == 201
    h = auth(operator)
    assert http.get("/api/v1/ranges", params={"country": "LV"}, headers=h).json()["total"] == 2
    assert [
        r["slug"] for r in http.get("/api/v1/ranges", params={"capability": "gpu"}, headers=h).json()["items"]
    ] == ["r1"]
    http.patch("/api/v1/ranges/r2", json={"status": "maintenance"}, headers=h)
    assert http.get("/api/v1/ranges", params={"status": "maintenance"}, headers=h).json()["total"] == 1
    page = http.get("/api/v1/ranges", params={"page": 2, "page_size": 2}, headers=h).json()
    assert page["total"] == 3 and [r["slug"] for r in page["items"]] == ["r2"]


def test_maintenance_windows_round_trip(http: httpx.Client, admin_token: str) -> None:
    org = create_org(http, admin_token, "Range ops", "LV")
    operator = issue(http, admin_token, org, "operator", "lv-ops")
    http.post("/api/v1/ranges", json=range_body(slug="lv-range", country="LV"), headers=auth(operator))
    added = http.post(
        "/api/v1/ranges/lv-range/maintenance",
        json={
            "start": "2027-03-01T08:00:00+02:00",
            "end": "2027-03-01T12:00:00Z",
            "reason": "kernel upgrade",
        },
        headers=auth(operator),
    )
    assert added.status_code == 201, added.text
    assert added.json()["start"].startswith("2027-03-01T06:00:00")
    listed = http.get("/api/v1/ranges/lv-range/maintenance", headers=auth(operator)).json()
    assert [m["reason"] for m in listed] == ["kernel upgrade"]
    gone = http.delete(f"/api/v1/ranges/lv-range/maintenance/{listed[0]['id']}", headers=auth(operator))
    assert gone.status_code == 204
    again = http.delete(f"/api/v1/ranges/lv-range/maintenance/{listed[0]['id']}", headers=auth(operator))
    assert again.status_code == 404


def test_revoked_token_is_refused(http: httpx.Client, admin_token: str) -> None:
    org = create_org(http, admin_token, "Research lab", "CZ", kind="research")
    researcher = issue(http, admin_token, org, "researcher", "phd")
    assert http.get("/api/v1/ranges", headers=auth(researcher)).status_code == 200
    tokens = http.get("/api/v1/tokens", headers=auth(admin_token)).json()
    token_id = next(t["id"] for t in tokens if t["principal_name"] == "phd")
    assert all("token" not in t for t in tokens)
    assert http.delete(f"/api/v1/tokens/{token_id}", headers=auth(admin_token)).status_code == 200
    refused = http.get("/api/v1/ranges", headers=auth(researcher))
    assert refused.status_code == 401
    assert refused.json()["detail"] == "unknown, revoked or expired token"


def test_a_range_is_read_with_its_maintenance_windows_in_one_round_trip(
    http: httpx.Client, admin_token: str, services: Services
) -> None:
    """Every team's deploy and teardown reads its range: the range and its windows come in one statement
    (the code before sent a second one for the windows)."""
    org = create_org(http, admin_token, "Range ops", "LV")
    operator = issue(http, admin_token, org, "operator", "lv-ops")
    http.post("/api/v1/ranges", json=range_body(slug="lv-range", country="LV"), headers=auth(operator))
    for start, reason in (("2027-04-01T08:00:00Z", "second"), ("2027-03-01T08:00:00Z", "first")):
        window = {"start": start, "end": start.replace("08:00", "12:00"), "reason": reason}
        made = http.post("/api/v1/ranges/lv-range/maintenance", json=window, headers=auth(operator))
        assert made.status_code == 201, made.text
    range_id = http.get("/api/v1/ranges/lv-range", headers=auth(operator)).json()["id"]
    postgres = services.engine.dialect.name == "postgresql"

    def cost(read: Callable[[Any], object]) -> int:
        with round_trips(services) if postgres else nullcontext([0]) as counted, services.uow() as uow:
            read(uow)
        return counted[0]

    one_lookup = cost(lambda uow: uow.catalogue.slug_taken("lv-range"))  # one statement, as a baseline
    for ref in ("lv-range", range_id):
        found: list[Any] = []
        read = cost(lambda uow, ref=ref, found=found: found.append(uow.catalogue.get_range(ref)))
        assert read == one_lookup, ref
        assert found[0] is not None and found[0].slug == "lv-range"
        assert [m.window.reason for m in found[0].maintenance] == ["first", "second"]
    with services.uow() as uow:
        assert uow.catalogue.get_range("no-such-range") is None
