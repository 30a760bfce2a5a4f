"""Fair-share defaults (the trust issue's finding 4): with the policy a range gets when its operator says
nothing, an organisation of another country can no longer confirm a whole range for a year; every new
organisation (but the federation's agency) starts with a finite quota; an operator can still open a range
up, explicitly."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from orchestrator.domain.clock import FrozenClock
from orchestrator.settings import Settings
from orchestrator.wiring import Services
from tests.integration.booking.helpers import book, demand
from tests.integration.catalogue.helpers import auth, create_org, issue, range_body

NOW = datetime(2030, 3, 1, 8, 0, tzinfo=UTC)
SHIPPED = Settings.model_fields


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The shipped default quota (the suite's settings start organisations without one)."""
    names = (
        "default_quota_cpu_millicores",
        "default_quota_memory_mib",
        "default_quota_slots",
        "default_quota_gpus",
    )
    return settings.model_copy(update={n: SHIPPED[n].default for n in names})


@pytest.fixture
def clock(services: Services) -> FrozenClock:
    frozen = FrozenClock(NOW)
    services.clock = frozen
    return frozen


def test_a_range_registered_with_the_default_policy_is_not_one_foreigners_can_take_for_a_year(
    http: httpx.Client, admin_token: str, clock: FrozenClock
) -> None:
    ee = create_org(http, admin_token, "RIA Estonia", "EE")
    de = create_org(http, admin_token, "Berlin lab", "DE", kind="training_provider")
    operator = issue(http, admin_token, ee, "operator", "ee-ops")
    trainer = issue(http, admin_token, de, "trainer", "de-trainer")
    body = range_body(capacity={"cpu_millicores": 16000, "memory_mib": 32768, "slots": 8, "gpus": 0})
    del body["policy"]
    created = http.post("/api/v1/ranges", json=body, headers=auth(operator))
    assert created.status_code == 201, created.text
    policy = created.json()["policy"]
    assert policy["max_foreign_share"] == 0.5 and policy["max_booking_minutes"] == 14 * 24 * 60

    whole_year = {
        "start": "2030-03-02T00:00:00Z",
        "end": "2031-03-02T00:00:00Z",
        "purpose": "manual",
        "hold": False,
        "items": [{"range": "ee-range", "demand": demand(cpu=16000, memory=32768, slots=8)}],
    }
    refused = book(http, trainer, whole_year)
    assert refused.status_code == 409, refused.text
    reasons = refused.json()["reasons"]
    assert "ee-range: window lasts 365 days; sharing policy allows at most 14 days" in reasons
    assert any("(50% of 8)" in r for r in reasons), reasons
    assert http.get("/api/v1/bookings", headers=auth(trainer)).json()["items"] == []

    # Half of the range for two weeks is what the default allows a foreign organisation.
    fair = {
        **whole_year,
        "end": "2030-03-16T00:00:00Z",
        "items": [{"range": "ee-range", "demand": demand(cpu=8000, memory=16384, slots=4)}],
    }
    assert book(http, trainer, fair).status_code == 201

    # The operator can open the range up, explicitly (null: the federation's maximum length).
    opened = http.patch(
        "/api/v1/ranges/ee-range",
        json={"policy": {"max_foreign_share": 1.0, "max_booking_minutes": None}},
        headers=auth(operator),
    )
    assert opened.status_code == 200, opened.text
    assert opened.json()["policy"]["max_booking_minutes"] is None


def test_new_organisations_start_with_a_finite_quota_and_the_agency_without(
    http: httpx.Client, admin_token: str, clock: FrozenClock
) -> None:
    school = create_org(http, admin_token, "Tallinn school", "EE", kind="training_provider")
    quota = http.get(f"/api/v1/organisations/{school}/quota", headers=auth(admin_token)).json()
    assert quota["limit"] == {"cpu_millicores": 64000, "memory_mib": 262144, "slots": 32, "gpus": 4}
    agency = create_org(http, admin_token, "ENISA", "GR", kind="agency")
    assert (
        http.get(f"/api/v1/organisations/{agency}/quota", headers=auth(admin_token)).json()["limit"] is None
    )

    ee = create_org(http, admin_token, "RIA Estonia", "EE")
    operator = issue(http, admin_token, ee, "operator", "ee-ops")
    big = range_body(capacity={"cpu_millicores": 256000, "memory_mib": 1048576, "slots": 64, "gpus": 0})
    big["policy"] = {"max_foreign_share": 1.0}
    assert http.post("/api/v1/ranges", json=big, headers=auth(operator)).status_code == 201
    trainer = issue(http, admin_token, school, "trainer", "trainer")
    too_much = {
        "start": "2030-03-04T09:00:00Z",
        "end": "2030-03-04T17:00:00Z",
        "purpose": "manual",
        "items": [{"range": "ee-range", "demand": demand(cpu=128000, slots=40)}],
    }
    refused = book(http, trainer, too_much)
    assert refused.status_code == 409
    assert any("quota of organisation 'Tallinn school'" in r for r in refused.json()["reasons"]), refused.text
