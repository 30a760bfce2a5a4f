"""The HTTP path: an authenticated request needs no transaction of its own once its token was verified,
a revocation is seen at once by every API process, and a dead pooled connection costs no request."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import psycopg
import pytest
from sqlalchemy import event, text

from orchestrator.settings import Settings
from orchestrator.wiring import Services, build
from tests.conftest import BACKENDS
from tests.integration.catalogue.helpers import auth, create_org, issue
from tests.support.live import serve

POSTGRES = [pytest.param("postgres", marks=pytest.mark.postgres)]


def transactions(services: Services) -> list[int]:
    """A list that grows by one for every transaction the services' engine begins."""
    begun: list[int] = []
    event.listen(services.engine, "begin", lambda _conn: begun.append(1))
    return begun


@pytest.mark.parametrize("database_url", BACKENDS, indirect=True)
def test_a_verified_token_costs_no_transaction_and_a_revocation_ends_it_at_once(
    http: httpx.Client, services: Services, admin_token: str
) -> None:
    org = create_org(http, admin_token, "EE range operator", "EE")
    token = issue(http, admin_token, org, "operator", "ops")
    assert http.get("/api/v1/ranges", headers=auth(token)).status_code == 200  # verified, remembered
    begun = transactions(services)
    for _ in range(3):
        assert http.get("/api/v1/ranges", headers=auth(token)).status_code == 200
    assert len(begun) == 3  # the routes' own transactions only, none to authenticate
    token_id = next(
        t["id"]
        for t in http.get("/api/v1/tokens", headers=auth(admin_token)).json()
        if t["principal_name"] == "ops"
    )
    assert http.delete(f"/api/v1/tokens/{token_id}", headers=auth(admin_token)).status_code == 200
    assert http.get("/api/v1/ranges", headers=auth(token)).status_code == 401


@pytest.fixture
def second(settings: Settings, services: Services) -> Iterator[tuple[httpx.Client, Services]]:
    """Another API process's worth of state (its own services, pool and cache) on the same database."""
    other = build(settings)
    try:
        with serve(other) as url, httpx.Client(base_url=url, timeout=30) as client:
            yield client, other
    finally:
        other.close()


@pytest.mark.parametrize("database_url", POSTGRES, indirect=True)
def test_a_revocation_on_one_replica_is_refused_by_the_other_at_once(
    http: httpx.Client, second: tuple[httpx.Client, Services], admin_token: str
) -> None:
    client, other = second
    org = create_org(http, admin_token, "EE range operator", "EE")
    token = issue(http, admin_token, org, "operator", "ops")
    deadline = time.monotonic() + 10  # its listener connects in the background
    while not other.verified_tokens.trusted and time.monotonic() < deadline:
        time.sleep(0.02)
    assert other.verified_tokens.trusted
    begun = transactions(other)
    assert client.get("/api/v1/ranges", headers=auth(token)).status_code == 200  # verified there
    assert client.get("/api/v1/ranges", headers=auth(token)).status_code == 200  # and remembered
    assert len(begun) == 3
    tokens = http.get("/api/v1/tokens", headers=auth(admin_token)).json()
    token_id = next(t["id"] for t in tokens if t["principal_name"] == "ops")
    assert http.delete(f"/api/v1/tokens/{token_id}", headers=auth(admin_token)).status_code == 200
    refused = False
    deadline = time.monotonic() + 5  # the notice travels through PostgreSQL: milliseconds
    while not refused and time.monotonic() < deadline:
        refused = client.get("/api/v1/ranges", headers=auth(token)).status_code == 401
        time.sleep(0.01)
    assert refused, "the second replica still accepts the revoked token"


@pytest.mark.parametrize("database_url", POSTGRES, indirect=True)
def test_a_dead_pooled_connection_is_replaced_without_failing_the_request(
    http: httpx.Client, services: Services, admin_token: str, settings: Settings
) -> None:
    org = create_org(http, admin_token, "EE range operator", "EE")
    token = issue(http, admin_token, org, "operator", "ops")
    assert http.get("/api/v1/ranges", headers=auth(token)).status_code == 200
    with services.uow() as uow:
        mine = uow.connection.execute(text("SELECT pg_backend_pid()")).scalar_one()
    url = services.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(url, autocommit=True) as admin:
        killed = admin.execute(
            "SELECT count(pg_terminate_backend(pid, 5000)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid() AND query NOT ILIKE 'LISTEN%'"
        ).fetchone()
    assert killed is not None and killed[0] >= 1
    # used a moment ago, so only its socket (the server's FATAL to read) tells that it is dead
    with services.uow() as uow:  # the pooled connection was dead: replaced, once, and the work done
        assert uow.connection.execute(text("SELECT pg_backend_pid()")).scalar_one() != mine
    for _ in range(3):
        assert http.get("/api/v1/ranges", headers=auth(token)).status_code == 200
