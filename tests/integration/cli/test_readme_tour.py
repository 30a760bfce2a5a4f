"""Finding 1: the README's tour, extracted from README.md itself (so the two cannot drift), runs as one
shell script against a real `federange server` on the embedded default (SQLite) with Docker ranges on
the local engine, and fails on the first command that exits non-zero."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.images import DOCKER_URL, docker_api
from tests.support.live import free_port

README = Path(__file__).resolve().parents[3] / "README.md"
TOUR_HEADING = "## A tour"


def tour_script(readme: str) -> str:
    """Every ```sh block of the tour section, in order."""
    section = readme.split(TOUR_HEADING, 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"^```sh\n(.*?)^```$", section, flags=re.S | re.M)
    assert blocks, "the README's tour has no ```sh block"
    return "\n".join(blocks)


def test_the_tour_is_a_script_with_no_placeholder_left() -> None:
    script = tour_script(README.read_text())
    assert "federange" in script
    for placeholder in ("...", "EXERCISE_ID", "<", "5b0c"):
        assert placeholder not in script.replace("<<", ""), placeholder  # every value is a variable
    assert "--json" in script
    assert "--minutes 120" not in script  # `env launch` takes --ttl


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, dict[str, str], subprocess.Popen[str]]]:
    port = free_port("127.0.0.1")
    env = {
        **os.environ,
        "FEDERANGE_DATA_DIR": str(tmp_path / "data"),
        "FEDERANGE_DATABASE_URL": "",  # the embedded default
        "FEDERANGE_PORT": str(port),
        "FEDERANGE_URL": f"http://127.0.0.1:{port}",
        "FEDERANGE_TOKEN": "",
        "DOCKER_HOST": DOCKER_URL,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "COLUMNS": "120",
    }
    log = (tmp_path / "server.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "orchestrator.cli", "server"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{env['FEDERANGE_URL']}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert process.poll() is None, (tmp_path / "server.log").read_text()
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.3)
        yield env["FEDERANGE_URL"], env, process
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        log.close()


def _supply_busybox() -> None:
    """The scenario's image, as `federange demo` makes it available (pulled, or built locally)."""
    from connectors import registry

    engine = registry.load("docker", {"base_url": DOCKER_URL})
    try:
        engine.supply_image("busybox:1.36", local_tag="federange-demo/busybox:local")  # type: ignore[attr-defined]
    finally:
        engine.close()


def _wait_torn_down(url: str, token: str, path: str) -> dict[str, object]:
    deadline = time.monotonic() + 240
    while True:
        current = httpx.get(url + path, headers={"Authorization": f"Bearer {token}"}, timeout=10).json()
        stages = {t["stage"] for t in current["teams"]}
        if current["status"] in ("done", "cancelled") and stages <= {"done", "failed"}:
            return dict(current)
        assert time.monotonic() < deadline, current
        time.sleep(1)


@pytest.mark.docker
@pytest.mark.ansible
@pytest.mark.slow
@pytest.mark.timeout(900)
def test_the_readme_tour_runs_as_written(
    server: tuple[str, dict[str, str], subprocess.Popen[str]], tmp_path: Path
) -> None:
    docker_api().close()  # skip (fail in CI) without an engine
    _supply_busybox()
    url, env, _ = server
    log = (tmp_path / "server.log").read_text()
    assert "federange admin bootstrap" in log  # the server said how to get the first token

    epilogue = '\necho "TOUR-VALUES $EXERCISE $ENVIRONMENT $TRAINER $RESEARCHER"\n'  # for the clean-up
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", tour_script(README.read_text()) + epilogue],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=780,
        check=False,
    )
    assert done.returncode == 0, f"stdout:\n{done.stdout}\nstderr:\n{done.stderr}"
    out = done.stdout
    assert "registered range ee-range" in out and "registered range lv-range" in out
    assert out.count("health: ok") == 2  # --check asked both Docker ranges
    assert "ee-range" in out and "lv-range" in out
    assert "cancel requested for ctf-starter exercise" in " ".join(out.split())

    values = out.rsplit("TOUR-VALUES ", 1)[1].split()
    exercise, environment, trainer, researcher = values[:4]
    finished = _wait_torn_down(url, trainer, f"/api/v1/exercises/{exercise}")
    assert finished["status"] == "cancelled"
    _wait_torn_down(url, researcher, f"/api/v1/environments/{environment}")

    from connectors import registry

    engine = registry.load("docker", {"base_url": DOCKER_URL})
    try:
        left = [r.instance_id for r in engine.list_instances() if r.exercise in (exercise, environment)]  # type: ignore[attr-defined]
    finally:
        engine.close()
    assert left == []
