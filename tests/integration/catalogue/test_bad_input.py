"""Bad input gets problem+json naming the field and the reason, and changes nothing."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.integration.catalogue.helpers import auth, create_org, issue, range_body


def problem_of(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == status and body["title"] and body["detail"] and body["type"].startswith("urn:")
    return body


@pytest.fixture
def operator(http: httpx.Client, admin_token: str) -> str:
    org = create_org(http, admin_token, "RIA Estonia", "EE")
    return issue(http, admin_token, org, "operator", "ee-ops")


def test_unknown_country_code(http: httpx.Client, operator: str) -> None:
    body = problem_of(http.post("/api/v1/ranges", json=range_body(country="XZ"), headers=auth(operator)), 422)
    assert body["errors"] == [{"field": "country", "reason": "'XZ' is not an ISO 3166-1 country code"}]
    policy = range_body(policy={"allowed_countries": ["EE", "estonia"]})
    body = problem_of(http.post("/api/v1/ranges", json=policy, headers=auth(operator)), 422)
    assert body["errors"][0]["field"] == "policy.allowed_countries[1]"
    assert http.get("/api/v1/ranges", headers=auth(operator)).json()["total"] == 0


def test_negative_capacity(http: httpx.Client, operator: str) -> None:
    bad = range_body(capacity={"cpu_millicores": -1, "memory_mib": 1024, "slots": 2})
    body = problem_of(http.post("/api/v1/ranges", json=bad, headers=auth(operator)), 422)
    assert body["errors"][0]["field"] == "capacity.cpu_millicores"
    assert "greater than or equal to 0" in body["errors"][0]["reason"]


def test_maintenance_window_ending_before_it_starts(http: httpx.Client, operator: str) -> None:
    assert http.post("/api/v1/ranges", json=range_body(), headers=auth(operator)).status_code == 201
    window = {"start": "2027-03-02T00:00:00Z", "end": "2027-03-01T00:00:00Z"}
    body = problem_of(
        http.post("/api/v1/ranges/ee-range/maintenance", json=window, headers=auth(operator)), 422
    )
    assert body["errors"][0]["field"] == "end"
    assert "must end after it starts" in body["errors"][0]["reason"]
    naive = {"start": "2027-03-01T00:00:00", "end": "2027-03-02T00:00:00"}
    body = problem_of(
        http.post("/api/v1/ranges/ee-range/maintenance", json=naive, headers=auth(operator)), 422
    )
    assert body["errors"][0]["field"] == "start" and "no timezone" in body["errors"][0]["reason"]
    assert http.get("/api/v1/ranges/ee-range/maintenance", headers=auth(operator)).json() == []


def test_duplicate_slug(http: httpx.Client, operator: str) -> None:
    assert http.post("/api/v1/ranges", json=range_body(), headers=auth(operator)).status_code == 201
    body = problem_of(http.post("/api/v1/ranges", json=range_body(name="again"), headers=auth(operator)), 409)
    assert body["detail"] == "a range with slug 'ee-range' already exists"


def test_unknown_connector_kind_and_extra_fields(http: httpx.Client, operator: str) -> None:
    bad = range_body(connector={"kind": "vmware", "config": {}})
    body = problem_of(http.post("/api/v1/ranges", json=bad, headers=auth(operator)), 422)
    assert body["errors"][0]["field"] == "connector.kind"
    assert "unknown connector kind 'vmware'" in body["errors"][0]["reason"]
    typo = range_body(capacitty={})
    body = problem_of(http.post("/api/v1/ranges", json=typo, headers=auth(operator)), 422)
    assert body["errors"][0]["field"] == "capacitty"


@pytest.mark.parametrize(
    ("header", "detail"),
    [
        (None, "missing bearer token"),
        ("Bearer not-a-token", "malformed token"),
        ("Bearer frt_" + "x" * 10, "malformed token"),
        ("Bearer frt_" + "A" * 43, "unknown, revoked or expired token"),
        ("Basic dXNlcjpwYXNz", "missing bearer token"),
    ],
)
def test_bad_tokens_are_401(http: httpx.Client, header: str | None, detail: str) -> None:
    headers = {"Authorization": header} if header else {}
    body = problem_of(http.get("/api/v1/ranges", headers=headers), 401)
    assert body["detail"].startswith(detail)


def test_health_and_docs_need_no_token(http: httpx.Client) -> None:
    assert http.get("/health").json() == {"status": "ok"}
    assert http.get("/ready").json()["status"] == "ready"
    spec = http.get("/openapi.json").json()
    paths = set(spec["paths"])
    assert {"/api/v1/ranges", "/api/v1/ranges/{range_ref}", "/api/v1/ranges/{range_ref}/maintenance"} <= paths
    assert {"/api/v1/organisations", "/api/v1/tokens", "/api/v1/audit", "/health", "/ready"} <= paths
    assert http.get("/docs").status_code == 200


def test_unknown_route_is_problem_json(http: httpx.Client, operator: str) -> None:
    problem_of(http.get("/api/v1/nope", headers=auth(operator)), 404)
    problem_of(http.get("/api/v1/ranges/unknown-range", headers=auth(operator)), 404)
