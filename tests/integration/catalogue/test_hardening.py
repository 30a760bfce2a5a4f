"""Authentication hardening (the trust issue's finding 8), over HTTP on both databases: failed sign-ins
are rate limited per client across replicas, responses carry security headers and are never cached,
tokens expire by default, and /ready tells an anonymous caller only ready or not (503 when the database
is down)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from orchestrator.domain.clock import FrozenClock
from orchestrator.settings import Settings
from orchestrator.wiring import Services, build
from tests.integration.catalogue.helpers import auth, create_org
from tests.support.live import serve

WRONG = "frt_" + "x" * 43


@pytest.fixture
def strict(settings: Settings, services: Services) -> Iterator[tuple[Services, Services, FrozenClock]]:
    """Two API replicas on one database, at most 5 failed sign-ins a minute, one frozen clock."""
    clock = FrozenClock(datetime.now(UTC))
    limited = settings.model_copy(update={"signin_failures_per_minute": 5})
    replicas = (build(limited, clock=clock), build(limited, clock=clock))
    yield replicas[0], replicas[1], clock
    for replica in replicas:
        replica.close()


def test_failed_sign_ins_are_limited_per_client_across_replicas(
    strict: tuple[Services, Services, FrozenClock], admin_token: str
) -> None:
    first, second, clock = strict
    with serve(first) as one, serve(second) as two:
        for _ in range(5):
            assert httpx.get(f"{one}/api/v1/ranges", headers=auth(WRONG)).status_code == 401
        blocked = httpx.get(f"{one}/api/v1/ranges", headers=auth(WRONG))
        assert blocked.status_code == 429
        assert blocked.headers["content-type"].startswith("application/problem+json")
        assert 1 <= int(blocked.headers["retry-after"]) <= 60
        assert "too many failed sign-ins" in blocked.json()["detail"]
        # Refused before the token is looked at: a right guess now teaches nothing.
        assert httpx.get(f"{one}/api/v1/ranges", headers=auth(admin_token)).status_code == 429
        # The other replica counted nothing itself, but the count is shared: its first failure blocks.
        assert httpx.get(f"{two}/api/v1/ranges", headers=auth(WRONG)).status_code == 429
        clock.advance(timedelta(seconds=61))
        assert httpx.get(f"{one}/api/v1/ranges", headers=auth(admin_token)).status_code == 200
        assert httpx.get(f"{two}/api/v1/ranges", headers=auth(WRONG)).status_code == 401


def test_api_responses_carry_security_headers_and_are_never_cached(
    http: httpx.Client, admin_token: str
) -> None:
    org = create_org(http, admin_token, "CERT-EE", "EE")
    issued = http.post(
        "/api/v1/tokens",
        json={"name": "ops", "organisation_id": org, "role": "operator"},
        headers=auth(admin_token),
    )
    assert issued.status_code == 201
    for response in (issued, http.get("/api/v1/ranges", headers=auth(admin_token)), http.get("/nowhere")):
        assert response.headers["cache-control"] == "no-store"
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["referrer-policy"] == "no-referrer"
        assert "default-src 'none'" in response.headers["content-security-policy"]


def test_tokens_expire_after_the_default_lifetime_unless_told_otherwise(
    settings: Settings, services: Services, admin_token: str
) -> None:
    lifetime = settings.model_copy(update={"token_lifetime_days": 30})
    assert Settings().token_lifetime_days == 90  # the shipped default
    replica = build(lifetime)
    try:
        with serve(replica) as url, httpx.Client(base_url=url) as http:
            org = create_org(http, admin_token, "CERT-LV", "LV")
            body = {"name": "ops", "organisation_id": org, "role": "operator"}
            issued = http.post("/api/v1/tokens", json=body, headers=auth(admin_token)).json()
            until = (datetime.now(UTC) + timedelta(days=365)).isoformat()
            chosen = http.post(
                "/api/v1/tokens", json={**body, "expires_at": until}, headers=auth(admin_token)
            )
    finally:
        replica.close()
    expires = datetime.fromisoformat(issued["expires_at"])
    created = datetime.fromisoformat(issued["created_at"])
    assert expires - created == timedelta(days=30)
    assert chosen.json()["expires_at"][:16] == until[:16]


@pytest.fixture
def down(settings: Settings, tmp_path: Path) -> Iterator[str]:
    """A live server whose database does not answer (nothing listens on its port)."""
    gone = Settings(
        database_url="postgresql+psycopg://federange@127.0.0.1:1/gone",
        data_dir=tmp_path,
        secret_key=settings.secret_key,
    )
    services = build(gone, require_migrated=False)
    try:
        with serve(services) as url:
            yield url
    finally:
        services.close()


def test_ready_says_only_ready_or_not_and_503_when_the_database_is_down(
    http: httpx.Client, down: str
) -> None:
    ready = http.get("/ready")
    assert ready.status_code == 200 and ready.json() == {"status": "ready"}
    response = httpx.get(f"{down}/ready", timeout=30)
    assert response.status_code == 503
    body = response.json()
    assert body["detail"] == "not ready: the database does not answer or is not migrated"
    assert "127.0.0.1" not in response.text and "gone" not in response.text


def test_a_request_the_database_cannot_answer_is_a_503_to_retry_not_an_internal_error(
    down: str, caplog: pytest.LogCaptureFixture
) -> None:
    token = "frt_" + "a" * 43  # well formed: its look-up is what needs the database
    with caplog.at_level(logging.WARNING, logger="orchestrator.api.problems"):
        read = httpx.get(f"{down}/api/v1/ranges", headers=auth(token), timeout=30)
        made = httpx.post(
            f"{down}/api/v1/bookings",
            json={"items": [{"range": "ee-range", "demand": {"slots": 1}}], "start": "2030-01-01T09:00:00Z"},
            headers=auth(token),
            timeout=30,
        )
    for response in (read, made):
        assert response.status_code == 503, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert response.headers["retry-after"] == "2"
        body = response.json()
        assert body["title"] == "Service unavailable" and "retry" in body["detail"]
        assert "127.0.0.1" not in response.text and "gone" not in response.text
    said = [r for r in caplog.records if r.name == "orchestrator.api.problems"]
    assert [r.levelname for r in said] == ["WARNING", "WARNING"]  # one line each, no traceback
    assert all(r.exc_info is None and "database unavailable on" in r.getMessage() for r in said)
