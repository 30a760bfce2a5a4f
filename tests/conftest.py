"""Shared fixtures: a migrated database on SQLite and on PostgreSQL, wired services, a live API."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import hypothesis
import pytest

from orchestrator.db import migrate
from orchestrator.db.engine import make_engine
from orchestrator.settings import Settings
from orchestrator.wiring import Services, build
from tests.support.databases import fresh_database, postgres_available
from tests.support.live import serve
from tests.support.requirements import skip_or_fail

# Property tests check properties, not speed: no per-example deadline (a loaded 2-core CI machine
# otherwise fails an example for taking 200 ms; speed belongs in bench/).
hypothesis.settings.register_profile("federange", deadline=None)
hypothesis.settings.load_profile("federange")

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def pytest_itemcollected(item: pytest.Item) -> None:
    """Tests on the Docker engine run one after the other on one worker (`--dist loadgroup`): they wait
    on the engine more than they compute, and the others run beside them on the remaining workers. (Marked
    as each item is collected: xdist reads the groups in its own collection_modifyitems hook.)"""
    if item.get_closest_marker("docker"):
        item.add_marker(pytest.mark.xdist_group("docker-engine"))


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "postgres":
        ok, reason = postgres_available()
        if not ok:
            skip_or_fail("postgres", reason)
    with fresh_database(request.param, tmp_path) as url:
        yield url


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=database_url,
        data_dir=tmp_path / "data",
        secret_key="test-secret-key-0123456789abcdef",
        # Many tests freeze the clock years ahead; tokens issued for them must not have expired by then
        # (tests of the default lifetime set one themselves).
        token_lifetime_days=0,
        # Organisations start without a quota here: the fair-share defaults have their own tests.
        default_quota_cpu_millicores=0,
        default_quota_memory_mib=0,
        default_quota_slots=0,
        default_quota_gpus=0,
    )


@pytest.fixture
def services(settings: Settings) -> Iterator[Services]:
    engine = make_engine(settings.resolved_database_url())
    migrate.upgrade(engine)
    engine.dispose()
    wired = build(settings)
    yield wired
    wired.close()


@pytest.fixture
def api_url(services: Services) -> Iterator[str]:
    with serve(services) as url:
        yield url


@pytest.fixture
def admin_token(services: Services) -> str:
    with services.uow() as uow:
        issued = services.catalogue(uow.catalogue).bootstrap_admin(
            organisation_name="Federation admin", country="BE"
        )
    return issued.plaintext


@pytest.fixture
def http(api_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=api_url, timeout=30) as client:
        yield client
