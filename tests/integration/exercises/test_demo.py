"""`federange demo`, the README's first command, run the way a new user runs it: a subprocess on the
embedded default (SQLite in the data directory), on simulated ranges and on the real Docker engine."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.images import DOCKER_URL, docker_api


def run_demo(data_dir: Path, *args: str, kubeconfig: str = "") -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "KUBECONFIG": kubeconfig,
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
    other = tmp_path / "demo" / "federange.db"
    other.parent.mkdir()
    other.write_text("another run's database")  # every run has a fresh directory of its own
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: lab\n"
        "clusters: [{name: lab, cluster: {server: 'http://127.0.0.1:9'}}]\n"
        "users: [{name: lab, user: {token: t}}]\n"
        "contexts: [{name: lab, context: {cluster: lab, user: lab}}]\n"
    )
    done = run_demo(
        tmp_path, "--ranges", "simulated", "--teams", "3", "--minutes", "0.1", kubeconfig=str(kubeconfig)
    )
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert "SIMULATED ranges" in out  # never passed off as a real deployment
    assert "no Kubernetes range: context 'lab' does not answer" in out  # tried, not registered
    assert "kube-range" not in out
    for step in ("Ranges registered by their operators", "Placement", "Bookings", "Access"):
        assert step in out
    assert {"red", "blue", "green"} <= set(out.split())
    assert "exercise done; bookings: ee-range released, lv-range released" in out
    assert other.read_text() == "another run's database"  # left alone
    assert [p.name for p in (tmp_path / "demo").iterdir()] == ["federange.db"]  # its own run removed
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


def test_the_current_kubernetes_context_becomes_a_range_when_its_api_answers(tmp_path: Path) -> None:
    from orchestrator.cli.demo import kube_context_range
    from tests.support.kube_api import KubeApiServer

    with KubeApiServer() as server:
        path = tmp_path / "config"
        path.write_text(server.kubeconfig())
        kube, reason = kube_context_range(f"{path}{os.pathsep}/elsewhere/config")
        assert kube is not None, reason
        assert kube.context == "double"
        assert kube.config == {"kubeconfig": server.kubeconfig(), "context": "double"}  # secret sealed later
    missing, reason = kube_context_range(str(tmp_path / "absent"))
    assert missing is None and reason == f"no kubeconfig at {tmp_path / 'absent'}"
