"""`federange demo`, the README's first command, run the way a new user runs it: a subprocess on the
embedded default (SQLite in the data directory), on simulated ranges and on the real Docker engine."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.images import DOCKER_URL, docker_api


def run_demo(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "FEDERANGE_DATA_DIR": str(data_dir),
        "COLUMNS": "200",
        "FEDERANGE_DATABASE_URL": "",
    }
    return subprocess.run(
        [sys.executable, "-m", "orchestrator.cli", "demo", "--start-in", "3", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=400,
        check=False,
    )


def test_the_demo_runs_an_exercise_on_simulated_ranges_and_says_so(tmp_path: Path) -> None:
    stale = tmp_path / "demo" / "federange.db"
    stale.parent.mkdir()
    stale.write_text("a previous run's database")  # every run starts from a fresh one
    done = run_demo(tmp_path, "--ranges", "simulated", "--teams", "3", "--minutes", "0.1")
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert "SIMULATED ranges" in out  # never passed off as a real deployment
    for step in ("Ranges registered by their operators", "Placement", "Bookings", "Access"):
        assert step in out
    assert {"red", "blue", "green"} <= set(out.split())
    assert "exercise done; bookings: ee-range released, lv-range released" in out
    assert (tmp_path / "demo" / "federange.db").exists()
    assert not (tmp_path / "federange.db").exists()  # the user's own database is left alone


def test_asking_for_docker_without_an_engine_fails_with_the_reason(tmp_path: Path) -> None:
    done = run_demo(tmp_path, "--ranges", "docker", "--docker-url", f"unix://{tmp_path}/no-engine.sock")
    assert done.returncode == 1
    assert "Docker ranges are not available" in done.stderr
    assert "no-engine.sock" in done.stderr


@pytest.mark.docker
@pytest.mark.ansible
@pytest.mark.slow
def test_the_demo_deploys_real_containers_serves_the_teams_and_leaves_nothing(tmp_path: Path) -> None:
    docker_api().close()  # skip (fail in CI) without an engine
    done = run_demo(
        tmp_path, "--ranges", "docker", "--docker-url", DOCKER_URL, "--teams", "2", "--minutes", "0.2"
    )
    out = done.stdout
    assert done.returncode == 0, out + done.stderr
    assert "Docker ranges on the engine" in out
    assert out.count("HTTP 200 - the team's web site") == 2  # each team's entry point answers
    assert "nothing left on the Docker engine" in out
    assert "exercise done; bookings: ee-range released, lv-range released" in out
