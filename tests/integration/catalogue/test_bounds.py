"""Bounded input (the trust issue's findings 5 and 6), on both databases: NUL bytes, numbers beyond what a
column or a timedelta holds, instants near the end of the calendar, huge pages, huge text and huge bodies
are refused with problem+json naming the field (413 for a body, before authentication), never a 500,
and change nothing."""

from __future__ import annotations

import httpx
import pytest

from tests.integration.catalogue.helpers import auth, create_org, issue, range_body
from tests.integration.catalogue.test_bad_input import problem_of


@pytest.fixture
def operator(http: httpx.Client, admin_token: str) -> str:
    org = create_org(http, admin_token, "RIA Estonia", "EE")
    return issue(http, admin_token, org, "operator", "ee-ops")


def _nothing_registered(http: httpx.Client, token: str) -> None:
    assert http.get("/api/v1/ranges", headers=auth(token)).json()["total"] == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (range_body(name="EE\x00range"), "name"),
        (range_body(description="a\x00b"), "description"),
        (range_body(connector={"kind": "fake", "config": {"world": "w\x00"}}), "connector.config.world"),
        (range_body(capabilities=["k8s", "ics\x00"]), "capabilities[1]"),
    ],
)
def test_nul_bytes_anywhere_in_a_body_are_refused_with_their_path(
    http: httpx.Client, operator: str, body: dict[str, object], field: str
) -> None:
    refused = problem_of(http.post("/api/v1/ranges", json=body, headers=auth(operator)), 422)
    assert refused["errors"] == [{"field": field, "reason": "must not contain NUL bytes"}]
    _nothing_registered(http, operator)


def test_nul_bytes_in_the_url_are_refused(http: httpx.Client, operator: str) -> None:
    assert problem_of(http.get("/api/v1/ranges?capability=k8s%00", headers=auth(operator)), 422)[
        "errors"
    ] == [{"field": "query", "reason": "must not contain NUL bytes"}]
    assert problem_of(http.get("/api/v1/ranges/ee%00range", headers=auth(operator)), 422)["detail"] == (
        "path: must not contain NUL bytes"
    )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (
            range_body(capacity={"cpu_millicores": 2**40, "memory_mib": 1024, "slots": 2}),
            "capacity.cpu_millicores",
        ),
        (
            range_body(capacity={"cpu_millicores": 1000, "memory_mib": 2**63, "slots": 2}),
            "capacity.memory_mib",
        ),
        (range_body(capacity={"cpu_millicores": 1000, "memory_mib": 1024, "slots": 10**9}), "capacity.slots"),
        (range_body(policy={"max_booking_minutes": 10**12}), "policy.max_booking_minutes"),
        (range_body(policy={"min_lead_minutes": 10**15}), "policy.min_lead_minutes"),
        (range_body(description="x" * 10_001), "description"),
    ],
)
def test_numbers_and_text_beyond_their_bounds_are_refused(
    http: httpx.Client, operator: str, body: dict[str, object], field: str
) -> None:
    refused = problem_of(http.post("/api/v1/ranges", json=body, headers=auth(operator)), 422)
    assert refused["errors"][0]["field"] == field
    _nothing_registered(http, operator)


def test_instants_near_the_end_of_the_calendar_and_huge_pages_are_refused(
    http: httpx.Client, operator: str
) -> None:
    assert http.post("/api/v1/ranges", json=range_body(), headers=auth(operator)).status_code == 201
    window = {"start": "9999-12-31T00:00:00Z", "end": "9999-12-31T23:59:00+00:00"}
    refused = problem_of(
        http.post("/api/v1/ranges/ee-range/maintenance", json=window, headers=auth(operator)), 422
    )
    assert refused["errors"][0]["field"] == "start"
    assert "must be from 2000 to 2199" in refused["errors"][0]["reason"]
    page = problem_of(http.get(f"/api/v1/ranges?page={10**20}", headers=auth(operator)), 422)
    assert page["errors"][0]["field"] == "page"
    assert (
        problem_of(http.get(f"/api/v1/audit?page={10**20}", headers=auth(operator)), 422)["errors"][0][
            "field"
        ]
        == "page"
    )


def test_a_huge_body_is_refused_before_it_is_parsed_or_its_sender_known(http: httpx.Client) -> None:
    huge = b'{"name": "' + b"x" * (3 * 1024 * 1024) + b'"}'
    anonymous = http.post("/api/v1/ranges", content=huge, headers={"Content-Type": "application/json"})
    body = problem_of(anonymous, 413)  # not 401: nothing looked at the (missing) token
    assert body["detail"] == "the request body is larger than 2097152 bytes (2048 KiB)"

    def chunks():  # type: ignore[no-untyped-def]
        for _ in range(48):
            yield b"x" * 65536

    streamed = http.post(
        "/api/v1/ranges", content=chunks(), headers={"Content-Type": "application/json"}
    )  # no Content-Length: counted as it arrives
    problem_of(streamed, 413)
