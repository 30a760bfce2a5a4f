"""`federange scenario render`: a scenario file and a team in, the instance's manifests out."""

from __future__ import annotations

import base64
from pathlib import Path

import typer
import yaml
from typer.testing import CliRunner

from orchestrator.cli.scenario_render import render
from tests.unit.kubernetes.scenarios import WEB_BREACH
from tests.unit.kubernetes.test_render import DANGEROUS

app = typer.Typer()
app.command("render")(render)
app.command("noop")(lambda: None)  # two commands, so `render` is addressed by name as in the real CLI
runner = CliRunner()


def write(tmp_path: Path, text: str) -> Path:
    folder = tmp_path / "scenario"
    folder.mkdir()
    (folder / "scenario.yaml").write_text(text, encoding="utf-8")
    return folder


def test_render_prints_every_object_as_multi_document_yaml(tmp_path: Path) -> None:
    folder = write(tmp_path, WEB_BREACH)
    result = runner.invoke(app, ["render", str(folder), "--team", "Team A", "--seed", "s3cret"])
    assert result.exit_code == 0, result.output
    documents = list(yaml.safe_load_all(result.stdout))
    assert documents[0]["kind"] == "Namespace"
    assert {d["kind"] for d in documents} >= {
        "ResourceQuota",
        "LimitRange",
        "NetworkPolicy",
        "Deployment",
        "Service",
    }
    again = runner.invoke(
        app, ["render", str(folder / "scenario.yaml"), "--team", "Team A", "--seed", "s3cret"]
    )
    assert again.stdout == result.stdout  # deterministic
    other_seed = runner.invoke(app, ["render", str(folder), "--team", "Team A", "--seed", "other"])
    flag = lambda docs: next(d for d in docs if d["metadata"]["name"] == "web-env")["data"]  # noqa: E731
    assert flag(documents) != flag(list(yaml.safe_load_all(other_seed.stdout)))
    assert "preview seed" not in result.stderr


def test_instance_ids_output_files_and_the_preview_seed(tmp_path: Path) -> None:
    folder = write(tmp_path, WEB_BREACH)
    target = tmp_path / "out.yaml"
    result = runner.invoke(
        app, ["render", str(folder), "--team", "blue", "--instance", "blue-1", "-o", str(target)]
    )
    assert result.exit_code == 0, result.output
    assert "preview seed" in result.stderr
    documents = list(yaml.safe_load_all(target.read_text(encoding="utf-8")))
    assert documents[0]["metadata"]["name"] == "fr-blue-1"
    secret = next(d for d in documents if d["kind"] == "Secret" and d["metadata"]["name"] == "web-env")
    assert base64.b64decode(secret["data"]["DB_PASSWORD"])


def test_refusals_and_invalid_scenarios_are_explained(tmp_path: Path) -> None:
    folder = write(tmp_path, DANGEROUS)
    refused = runner.invoke(app, ["render", str(folder), "--team", "red"])
    assert refused.exit_code == 1
    assert "refused: the range's security policy refuses this scenario" in refused.stderr
    assert "spec.hosts[0].security.privileged" in refused.stderr
    allowed = runner.invoke(app, ["render", str(folder), "--team", "red", "--allow-privileged"])
    assert allowed.exit_code == 0, allowed.output
    assert "pod-security.kubernetes.io/enforce: privileged" in allowed.stdout
    (folder / "scenario.yaml").write_text(
        WEB_BREACH.replace("segments: [dmz]\n      resources", "segments: [lan]\n      resources", 1)
    )
    invalid = runner.invoke(app, ["render", str(folder), "--team", "red"])
    assert invalid.exit_code == 1
    assert "spec.hosts[0].segments[0]: unknown segment 'lan'" in invalid.stderr
    missing = runner.invoke(app, ["render", str(tmp_path / "nowhere"), "--team", "red"])
    assert missing.exit_code == 2
    assert "no scenario file" in missing.output
    (folder / "scenario.yaml").write_text(WEB_BREACH)
    bad_id = runner.invoke(app, ["render", str(folder), "--team", "red", "--instance", "Red_1"])
    assert bad_id.exit_code == 1
    assert "instance id 'Red_1' is not a DNS label" in bad_id.stderr
