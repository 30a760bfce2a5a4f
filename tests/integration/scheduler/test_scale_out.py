"""Scale-out on PostgreSQL with real processes: two schedulers never run one due action twice, and
when one is killed (SIGKILL: no hand-back) the other takes its work over once the lease lapses."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest

from orchestrator.domain.actions import ActionStatus
from orchestrator.settings import Settings
from orchestrator.wiring import Services
from tests.integration.catalogue.helpers import auth
from tests.integration.scheduler.test_shutdown import _deploy_row, _env, _wait_claimed, slow_exercise

__all__ = ["slow_exercise"]  # the fixture, shared with the shutdown tests

POSTGRES = [pytest.param("postgres", marks=pytest.mark.postgres)]
LEASE = 5  # seconds (the shortest the settings accept): how long a killed scheduler's claim outlives it


def _wait(what: str, done: object, *, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if callable(done) and done():
            return
        time.sleep(0.1)
    raise AssertionError(f"{what} did not happen within {timeout:g}s")


@pytest.mark.parametrize("database_url", POSTGRES, indirect=True)
def test_two_scheduler_processes_run_each_of_200_due_actions_exactly_once(
    services: Services, settings: Settings, tmp_path: Path
) -> None:
    now = services.clock.now()
    with services.uow() as uow:
        ids = [
            uow.actions.schedule(
                kind="probe", object_kind="test", object_id=f"obj-{i}", due_at=now, now=now
            ).id
            for i in range(200)
        ]
    env = _env(settings)
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.integration.scheduler.probe_scheduler", str(tmp_path), name],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        for name in ("sched-a", "sched-b")
    ]
    try:
        _wait(
            "both schedulers ready",
            lambda: all((tmp_path / f"{n}.ready").exists() for n in ("sched-a", "sched-b")),
        )
        (tmp_path / "go").touch()
        for proc in procs:
            out, _ = proc.communicate(timeout=150)
            assert proc.returncode == 0, out.decode()
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
    runs = {n: (tmp_path / f"{n}.ran").read_text().split() for n in ("sched-a", "sched-b")}
    counted = Counter(runs["sched-a"] + runs["sched-b"])
    assert sorted(counted) == sorted(ids)  # every action ran
    assert [i for i, n in counted.items() if n > 1] == []  # and none twice
    assert runs["sched-a"] and runs["sched-b"], {n: len(r) for n, r in runs.items()}  # side by side
    with services.uow() as uow:
        assert {uow.actions.get(i).status for i in ids} == {ActionStatus.DONE}  # type: ignore[union-attr]


@pytest.mark.parametrize("database_url", POSTGRES, indirect=True)
def test_a_sigkilled_scheduler_is_taken_over_by_the_other_once_its_lease_lapses(
    http: httpx.Client, services: Services, settings: Settings, slow_exercise: dict[str, str], tmp_path: Path
) -> None:
    env = _env(settings, FEDERANGE_ACTION_LEASE_SECONDS=str(LEASE))
    cli = [sys.executable, "-m", "orchestrator.cli", "scheduler"]
    first = subprocess.Popen(cli, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    second_log = tmp_path / "second.log"
    second: subprocess.Popen[bytes] | None = None
    try:
        claimed = _wait_claimed(services, first)  # the first is deploying (for a minute)
        assert f":{first.pid}:" in str(claimed.claimed_by)
        with second_log.open("wb") as log:
            second = subprocess.Popen(cli, env=env, stdout=log, stderr=subprocess.STDOUT)
        # the second scheduler is up (and found the first alive, so it released nothing at start-up)
        _wait("the second scheduler's start", lambda: "scheduler tick due-actions" in second_log.read_text())
        os.kill(first.pid, signal.SIGKILL)
        first.wait(timeout=30)
        fast = {"world": slow_exercise["world"], "deploy_latency": 0}
        patched = http.patch(
            "/api/v1/ranges/ee-range",
            json={"connector": {"config": fast}},
            headers=auth(slow_exercise["operator"]),
        )
        assert patched.status_code == 200, patched.text
        _wait("the takeover", lambda: _deploy_row(services).status == ActionStatus.DONE.value, timeout=90)
        row = _deploy_row(services)
        assert row.attempts == 2  # the killed attempt, then the second scheduler's
        teams = http.get(
            f"/api/v1/exercises/{slow_exercise['id']}", headers=auth(slow_exercise["trainer"])
        ).json()["teams"]
        assert [t["stage"] for t in teams] == ["ready"]
        assert (
            "released" not in second_log.read_text()
        )  # taken over through the lease, not a start-up release
    finally:
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait(timeout=30)
