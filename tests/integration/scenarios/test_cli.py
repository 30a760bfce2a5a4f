"""`federange scenario ...` as a user runs it: a real `federange` process for the main offline commands
(`federange` starts in seconds, so the rest run in-process through Typer's runner), and `upload` over
HTTP against a live server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import yaml
from typer.testing import CliRunner

from orchestrator.cli import app
from scenarios import library
from scenarios.footprint import footprint
from tests.integration.catalogue.helpers import create_org, issue

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
CTF = library.scenario_dir("ctf-starter") / "scenario.yaml"
runner = CliRunner()


def federange(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "orchestrator.cli", "scenario", *args],
        env={**os.environ, "COLUMNS": "200"},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


class Ran:
    """The parts of a finished command the tests read (a process or an in-process run)."""

    def __init__(self, returncode: int, stdout: str, stderr: str) -> None:
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


def run(*args: str) -> Ran:
    result = runner.invoke(app, ["scenario", *args], env={"COLUMNS": "200"})
    return Ran(result.exit_code, result.stdout, result.stderr)


def test_list_and_show(tmp_path: Path) -> None:
    listed = federange("list", "--json")
    assert listed.returncode == 0, listed.stderr
    assert {s["name"] for s in json.loads(listed.stdout)} == set(library.names())
    shown = run("show", "ctf-starter", "--json")
    assert shown.returncode == 0, shown.stderr
    facts = json.loads(shown.stdout)
    assert (
        facts["footprint"]["cpu_millicores"] == footprint(library.load_library("ctf-starter")).cpu_millicores
    )
    assert [v["name"] for v in facts["variables"]][:2] == ["flag_source", "flag_robots"]
    table = run("show", "samba-enterprise@2.0.0")
    assert table.returncode == 0, table.stderr
    for text in (
        "Footprint per team instance",
        "Segments",
        "Hosts",
        "Flows",
        "Variables",
        "svc_backup_password",
    ):
        assert text in table.stdout
    assert "FLAG{" not in table.stdout
    samba = json.loads(run("show", "samba-enterprise", "--json").stdout)
    hosts = {h["name"]: h for h in samba["hosts"]}
    assert (hosts["files"]["build"], hosts["files"]["image"]) == ("images/files", "")
    assert hosts["ws01"]["image"] == "federange/samba-enterprise/office"
    from_file = run("show", str(CTF), "--json")
    assert json.loads(from_file.stdout)["name"] == "ctf-starter"
    missing = run("show", "nope")
    assert missing.returncode == 1
    assert "no library scenario 'nope' (the library has: ctf-starter" in missing.stderr
    wrong = run("show", "ctf-starter@2.0.0")
    assert "is at version 1.0.0, not 2.0.0" in wrong.stderr


def test_validate_prints_document_paths_and_fails(tmp_path: Path) -> None:
    ok = run("validate", str(library.LIBRARY_DIR))
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.count("ok ") == len(library.names())

    data = yaml.safe_load(CTF.read_text())
    data["spec"]["hosts"][2]["segments"] = ["dmz2"]
    data["spec"]["provisioning"] = []
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump(data))
    bad = federange("validate", str(tmp_path / "bad.yaml"))
    assert bad.returncode == 1
    assert "spec.hosts[2].segments[0]: unknown segment 'dmz2'" in bad.stderr

    data["spec"]["hosts"][2]["segments"] = ["internal"]
    data["spec"]["hosts"][0]["security"] = {"privileged": True}
    (tmp_path / "privileged.yaml").write_text(yaml.safe_dump(data))
    refused = run("validate", str(tmp_path / "privileged.yaml"))
    assert refused.returncode == 1
    assert (
        "spec.hosts[0].security.privileged: privileged containers are not allowed on this range"
        in refused.stderr
    )
    allowed = run("validate", "--allow-privileged", str(tmp_path / "privileged.yaml"))
    assert allowed.returncode == 0, allowed.stderr

    both = run("validate", str(tmp_path))  # a directory: every scenario file in it
    assert both.returncode == 1
    assert "2 of 2 scenario file(s) invalid" in both.stderr
    assert run("validate", str(tmp_path / "nothing.yaml")).returncode == 1


def test_import_kypo_and_cyris_write_valid_scenarios(tmp_path: Path) -> None:
    kypo = FIXTURES / "corpus" / "kypo"
    done = federange(
        "import", "kypo", str(kypo / "library-secret-laboratory__topology.yml"),
        "--variables", str(kypo / "library-secret-laboratory__variables.yml"), "-o", str(tmp_path / "lab"),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "routing becomes segment flows" in done.stdout
    assert f"wrote {tmp_path / 'lab' / 'scenario.yaml'}" in done.stdout
    assert run("validate", str(tmp_path / "lab")).returncode == 0

    again = run(
        "import", "kypo", str(kypo / "library-secret-laboratory__topology.yml"), "-o", str(tmp_path / "lab")
    )
    assert again.returncode == 1 and "pass --force" in again.stderr

    cyris = federange(
        "import", "cyris", str(FIXTURES / "corpus/cyris/cyris__examples_full.yml"), cwd=tmp_path
    )
    assert cyris.returncode == 0, cyris.stderr
    out = tmp_path / "cyris-examples-full"
    assert sorted(p.name for p in (out / "playbooks").iterdir()) == [
        "desktop.yml",
        "firewall.yml",
        "webserver.yml",
    ]
    checked = run("validate", str(out))
    assert checked.returncode == 0, checked.stderr

    lookalike = run(
        "import", "kypo", str(FIXTURES / "lookalikes/docker-compose.yml"), "-o", str(tmp_path / "x")
    )
    assert lookalike.returncode == 1
    assert "this looks like a Docker Compose file" in lookalike.stderr
    (tmp_path / "map.yaml").write_text("images: {kali: {}}\n")
    broken_map = run(
        "import",
        "kypo",
        str(kypo / "library-junior-hacker__topology.yml"),
        "--image-map",
        str(tmp_path / "map.yaml"),
    )
    assert broken_map.returncode == 1
    assert "images.kali" in broken_map.stderr


def test_import_a_kypo_training_directory_and_a_kctf_challenge(tmp_path: Path) -> None:
    """A sandbox definition directory brings its provisioning and training; a kCTF challenge directory
    imports too; both write bundles that validate."""
    done = run("import", "kypo", str(FIXTURES / "kypo-sandbox"), "-o", str(tmp_path / "heist"))
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "heist" / "provisioning" / "roles" / "vault" / "tasks" / "main.yml").is_file()
    assert (tmp_path / "heist" / "training" / "training.json").is_file()
    # (the report table follows the terminal's width: the tests read single words of it only)
    assert "unsupported" not in done.stdout and "dropped" in done.stdout
    assert run("validate", str(tmp_path / "heist")).returncode == 0

    kctf = run("import", "kctf", str(FIXTURES / "kctf" / "echo-pwn"), "-o", str(tmp_path / "pwn"))
    assert kctf.returncode == 0, kctf.stderr
    assert "unsupported" in kctf.stdout  # proof-of-work
    checked = run("validate", str(tmp_path / "pwn"), "--allow-capability", "SYS_ADMIN")
    assert checked.returncode == 0, checked.stderr
    refused = run("validate", str(tmp_path / "pwn"))
    assert refused.returncode == 1 and "adding capability SYS_ADMIN" in refused.stderr


def test_schema_command_prints_the_shipped_schema() -> None:
    printed = run("schema")
    assert printed.returncode == 0
    assert printed.stdout == (library.LIBRARY_DIR.parent / "schema" / "scenario.schema.json").read_text()


def test_upload_over_http(api_url: str, admin_token: str, tmp_path: Path) -> None:
    with httpx.Client(base_url=api_url) as http:
        org = create_org(http, admin_token, "CERT-FI", "FI", kind="training_provider")
        trainer = issue(http, admin_token, org, "trainer", "fi-trainer")
    data = yaml.safe_load(CTF.read_text())
    data["metadata"]["name"] = "fi-ctf"
    (tmp_path / "playbooks").mkdir()
    (tmp_path / "playbooks" / "plant-proof.yml").write_text(
        (library.scenario_dir("ctf-starter") / "playbooks" / "plant-proof.yml").read_text()
    )
    (tmp_path / "scenario.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    env = {"FEDERANGE_URL": api_url, "FEDERANGE_TOKEN": trainer}
    result = runner.invoke(app, ["scenario", "upload", str(tmp_path / "scenario.yaml"), "--json"], env=env)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["name"] == "fi-ctf"
    forked = runner.invoke(app, ["scenario", "upload", str(CTF)], env=env)
    assert forked.exit_code == 0, forked.output
    assert "warning: the library has a scenario named 'ctf-starter'" in forked.output
