"""Wake-ups instead of ticks: a due action written through the API is claimed at once, long before the
due-actions tick (30 s here) would have come round; in-process (`federange server`, both databases) and
across processes (a `federange scheduler` process woken by PostgreSQL NOTIFY)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from orchestrator.scheduler.runner import SchedulerRunner
from orchestrator.settings import Settings
from orchestrator.wiring import Services
from tests.integration.catalogue.helpers import auth
from tests.integration.exercises.helpers import Federation, federation

TICK = 30.0
#: The bound on every wait: far below the tick, far above the work (about 50 ms on fake ranges).
PATIENCE = 10.0


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "scheduler_tick_seconds": TICK,
            "probe_interval_seconds": 3600,
            "reconcile_interval_seconds": 3600,
            "heal_interval_seconds": 3600,
        }
    )


@pytest.fixture
def fed(http: httpx.Client, admin_token: str) -> Federation:
    return federation(http, admin_token, ranges={"ee-range": ("EE", 2)})


def wait_for(what: str, probe: Callable[[], Any], *, within: float = PATIENCE) -> Any:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"{what} did not happen within {within} s (the tick is {TICK} s)")


def environment(http: httpx.Client, token: str, environment_id: str) -> dict[str, Any]:
    got = http.get(f"/api/v1/environments/{environment_id}", headers=auth(token))
    got.raise_for_status()
    body: dict[str, Any] = got.json()
    return body


def launch_use_destroy(http: httpx.Client, fed: Federation) -> None:
    launched = http.post(
        "/api/v1/environments",
        json={"scenario": "ctf-starter", "ttl_minutes": 60},
        headers=auth(fed.researcher),
    )
    assert launched.status_code == 201, launched.text
    env_id = launched.json()["id"]
    wait_for(
        "the environment's deploy",
        lambda: environment(http, fed.researcher, env_id)["team_stages"] == {"ready": 1},
    )
    destroyed = http.delete(f"/api/v1/environments/{env_id}", headers=auth(fed.researcher))
    assert destroyed.status_code == 200, destroyed.text
    wait_for("the teardown", lambda: environment(http, fed.researcher, env_id)["status"] == "cancelled")


@pytest.fixture
def in_process(services: Services) -> Iterator[SchedulerRunner]:
    runner = SchedulerRunner(services)
    runner.start()
    # The first tick runs at start; let it pass, so only a wake-up can claim what the test writes.
    time.sleep(1.0)
    yield runner
    runner.shutdown()


def test_in_process_a_launch_and_a_destroy_run_without_waiting_for_the_tick(
    http: httpx.Client, fed: Federation, in_process: SchedulerRunner
) -> None:
    launch_use_destroy(http, fed)


@pytest.mark.postgres
def test_a_scheduler_process_is_woken_by_postgres_notify(
    http: httpx.Client, fed: Federation, services: Services, settings: Settings
) -> None:
    if services.engine.dialect.name != "postgresql":
        pytest.skip("NOTIFY is PostgreSQL's; SQLite runs one process (the in-process test)")
    env = {
        **os.environ,
        "FEDERANGE_DATABASE_URL": settings.resolved_database_url(),
        "FEDERANGE_SECRET_KEY": settings.secret_key,
        "FEDERANGE_DATA_DIR": str(settings.data_dir),
        "FEDERANGE_SCHEDULER_TICK_SECONDS": str(TICK),
        "FEDERANGE_PROBE_INTERVAL_SECONDS": "3600",
        "FEDERANGE_RECONCILE_INTERVAL_SECONDS": "3600",
        "FEDERANGE_HEAL_INTERVAL_SECONDS": "3600",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "orchestrator.cli", "scheduler"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:

        def listening() -> bool:
            assert proc.poll() is None, proc.stdout.read().decode() if proc.stdout else ""
            with services.engine.connect() as conn:
                query = "SELECT count(*) FROM pg_stat_activity WHERE query = 'LISTEN federange_due_actions'"
                return bool(conn.execute(text(query)).scalar())

        wait_for("the scheduler process listening", listening, within=60)
        time.sleep(1.0)  # its first tick has passed
        started = datetime.now(UTC)
        launch_use_destroy(http, fed)
        assert datetime.now(UTC) - started < timedelta(seconds=TICK)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
