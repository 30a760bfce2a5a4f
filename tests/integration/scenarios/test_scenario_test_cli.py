"""`federange scenario test` as a trainer runs it: a range document in, every objective judged against the
instance's own values, the instance torn down afterwards whether the walkthrough worked or not."""

from __future__ import annotations

import json
import shutil
import uuid
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from connectors.docker.connector import DockerConnector
from orchestrator.cli import app
from scenarios import library
from tests.support.images import DOCKER_URL, docker_api, ensure_busybox_image

pytestmark = [pytest.mark.docker, pytest.mark.slow]


@pytest.fixture(scope="module")
def range_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    api = docker_api()
    try:
        busybox = ensure_busybox_image(api)
    finally:
        api.close()
    path = tmp_path_factory.mktemp("range") / "local-docker.yaml"
    config = {"base_url": DOCKER_URL, "pull": "never", "image_map": {"busybox:1.36": busybox}}
    document = {"slug": "local-docker", "connector": {"kind": "docker", "config": config}}
    path.write_text(yaml.safe_dump(document))
    return path


def leftovers(instance_id: str) -> list[str]:
    with DockerConnector({"base_url": DOCKER_URL}) as connector:
        return connector.objects(instance_id)


def test_a_solved_scenario_reports_every_objective_and_is_torn_down(range_file: Path) -> None:
    instance_id = f"cli-{uuid.uuid4().hex[:6]}"
    arguments = ["scenario", "test", "ctf-starter", "--range", str(range_file), "--instance", instance_id]
    result = CliRunner().invoke(app, [*arguments, "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["passed"] is True and report["range"] == "local-docker"
    assert [o["solved"] for o in report["objectives"]] == [True] * 5
    assert {"deploy", "provision", "walkthrough", "teardown"} <= set(report["seconds"])
    assert leftovers(instance_id) == []


def test_a_wrong_answer_is_unsolved_and_the_instance_still_goes(range_file: Path, tmp_path: Path) -> None:
    copy = tmp_path / "ctf-starter"
    shutil.copytree(library.scenario_dir("ctf-starter"), copy)
    (copy / "solution" / "walkthrough.py").write_text(
        "#!/usr/bin/env python3\nprint('RECOVERED flag_source FLAG{0123456789abcdef}')\n"
    )
    instance_id = f"cli-{uuid.uuid4().hex[:6]}"
    result = CliRunner().invoke(
        app, ["scenario", "test", str(copy), "--range", str(range_file), "--instance", instance_id]
    )
    assert result.exit_code == 1
    assert "UNSOLVED" in result.stdout and "5 objective(s) unsolved" in result.output
    assert leftovers(instance_id) == []
