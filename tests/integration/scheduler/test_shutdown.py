"""SIGTERM on real processes (the trust issue's finding 7): `federange scheduler` and `federange server`
stop taking work, let running actions finish for the grace period, hand the rest back at once (no lease
to wait out, the interrupted attempt refunded) and exit 0; another scheduler then finishes the work."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from orchestrator.db.tables import DueActionRow
from orchestrator.exercises import schedule
from orchestrator.scheduler.ticks import action_runner
from orchestrator.settings import Settings
from orchestrator.wiring import Services
from tests.integration.catalogue.helpers import auth, create_org, issue
from tests.support.live import free_port

#: A deploy on this range takes a minute: far longer than the grace period and the test's patience.
SLOW = 60.0
GRACE = 1.0


def _env(settings: Settings, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "FEDERANGE_DATABASE_URL": settings.resolved_database_url(),
        "FEDERANGE_SECRET_KEY": settings.secret_key,
        "FEDERANGE_DATA_DIR": str(settings.data_dir),
        "FEDERANGE_SHUTDOWN_GRACE_SECONDS": str(GRACE),
        "FEDERANGE_SCHEDULER_TICK_SECONDS": "0.2",
        "FEDERANGE_PROBE_INTERVAL_SECONDS": "3600",
        "FEDERANGE_RECONCILE_INTERVAL_SECONDS": "3600",
        "FEDERANGE_HEAL_INTERVAL_SECONDS": "3600",
        **extra,
    }


@pytest.fixture
def slow_exercise(http: httpx.Client, admin_token: str) -> dict[str, str]:
    """An exercise whose one deploy is due now, on a range whose deploys take SLOW seconds."""
    operator_org = create_org(http, admin_token, "EE range operator", "EE")
    operator = issue(http, admin_token, operator_org, "operator", "ee-ops")
    school = create_org(http, admin_token, "Baltic cyber school", "EE", kind="training_provider")
    trainer = issue(http, admin_token, school, "trainer", "trainer-anna")
    config = {"world": f"slow-{os.getpid()}-{time.monotonic_ns()}", "deploy_latency": SLOW}
    created = http.post(
        "/api/v1/ranges",
        json={
            "slug": "ee-range",
            "name": "EE range",
            "country": "EE",
            "capabilities": ["containers"],
            "capacity": {"cpu_millicores": 4000, "memory_mib": 8192, "slots": 4, "gpus": 0},
            "connector": {"kind": "fake", "config": config},
        },
        headers=auth(operator),
    )
    assert created.status_code == 201, created.text
    start = datetime.now(UTC) + timedelta(minutes=2)
    exercise = http.post(
        "/api/v1/exercises",
        json={
            "name": "shutdown drill",
            "scenario": "ctf-starter",
            "teams": [{"name": "red", "organisation": "CERT-EE", "country": "EE"}],
            "start": start.isoformat(),
            "end": (start + timedelta(hours=1)).isoformat(),
            "lead_minutes": 15,
        },
        headers=auth(trainer),
    )
    assert exercise.status_code == 201, exercise.text
    return {"operator": operator, "trainer": trainer, "id": exercise.json()["id"], "world": config["world"]}


def _deploy_row(services: Services) -> DueActionRow:
    with services.uow() as uow:
        row = uow.session.scalars(select(DueActionRow).where(DueActionRow.kind == schedule.DEPLOY)).one()
        uow.session.expunge(row)
        return row


def _wait_claimed(services: Services, proc: subprocess.Popen[bytes]) -> DueActionRow:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        row = _deploy_row(services)
        if row.claimed_by:
            return row
        assert proc.poll() is None, proc.stdout.read().decode() if proc.stdout else ""
        time.sleep(0.2)
    raise AssertionError("the scheduler never claimed the deploy")


def _healthy(url: str, proc: subprocess.Popen[bytes]) -> bool:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            return httpx.get(url, timeout=10).status_code == 200
        except httpx.ConnectError:
            assert proc.poll() is None, "the server exited"
            time.sleep(0.1)
    return False


def _stop(proc: subprocess.Popen[bytes]) -> tuple[int, str, float]:
    began = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    try:
        out, _ = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
        raise AssertionError("SIGTERM did not stop the process within 30 s:\n" + out.decode()) from None
    return proc.returncode, out.decode(), time.monotonic() - began


def _finish_elsewhere(http: httpx.Client, services: Services, exercise: dict[str, str]) -> None:
    """Another scheduler (this process) takes the handed-back deploy at once and finishes it."""
    fast = {"world": exercise["world"], "deploy_latency": 0}
    patched = http.patch(
        "/api/v1/ranges/ee-range", json={"connector": {"config": fast}}, headers=auth(exercise["operator"])
    )
    assert patched.status_code == 200, patched.text
    runner = action_runner(services)
    try:
        assert runner.tick() == 1  # claimable now: no lease to wait for
        runner.drain(timeout=60)
    finally:
        runner.shutdown()
    teams = http.get(f"/api/v1/exercises/{exercise['id']}", headers=auth(exercise["trainer"])).json()["teams"]
    assert [t["stage"] for t in teams] == ["ready"]


def test_sigterm_hands_a_running_deploy_back_and_the_scheduler_exits_0(
    http: httpx.Client, services: Services, settings: Settings, slow_exercise: dict[str, str]
) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "orchestrator.cli", "scheduler"],
        env=_env(settings),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    claimed = _wait_claimed(services, proc)
    assert claimed.attempts == 1
    code, out, took = _stop(proc)
    assert code == 0, out
    assert took < SLOW / 2, f"took {took:.1f}s: it waited for the deploy instead of handing it back"
    assert "released them for another scheduler" in out
    released = _deploy_row(services)
    assert (released.claimed_by, released.claimed_until, released.attempts) == (None, None, 0)
    _finish_elsewhere(http, services, slow_exercise)


def test_sigterm_stops_the_embedded_server_and_its_scheduler_and_exits_0(
    http: httpx.Client, services: Services, settings: Settings, slow_exercise: dict[str, str], tmp_path: Path
) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "orchestrator.cli", "server", "--no-migrate", "--port", str(port)],
        env=_env(settings),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        _wait_claimed(services, proc)
        # the scheduler starts with the app, before uvicorn listens: the claim may come first
        assert _healthy(f"http://127.0.0.1:{port}/health", proc)
    except BaseException:
        proc.kill()
        proc.communicate()
        raise
    code, out, took = _stop(proc)
    assert code == 0, out
    assert took < SLOW / 2, out
    assert "Application shutdown complete" in out
    assert _deploy_row(services).claimed_by is None
    _finish_elsewhere(http, services, slow_exercise)
