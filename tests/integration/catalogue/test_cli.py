"""The CLI as a user runs it: `federange` processes for server-side commands, client commands over HTTP."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from orchestrator.cli import app
from tests.integration.catalogue.helpers import KUBECONFIG, SECRET_MARKER

runner = CliRunner()


def federange(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "orchestrator.cli", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_db_upgrade_then_bootstrap_from_the_command_line(database_url: str, tmp_path: Path) -> None:
    env = {
        "FEDERANGE_DATABASE_URL": database_url,
        "FEDERANGE_DATA_DIR": str(tmp_path),
        "FEDERANGE_SECRET_KEY": "cli-test-secret-key-0123456789",
    }
    refused = federange("admin", "bootstrap", "--country", "BE", env=env)
    assert refused.returncode == 1
    assert "run `federange db upgrade`" in refused.stderr.replace("\n", " ")
    upgraded = federange("db", "upgrade", env=env)
    assert upgraded.returncode == 0, upgraded.stderr
    assert "is at revision" in upgraded.stdout
    first = federange("admin", "bootstrap", "--country", "BE", env=env)
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip().startswith("frt_")
    again = federange("admin", "bootstrap", "--country", "BE", env=env)
    assert again.returncode == 1
    assert "an admin already exists" in again.stderr
    bad_country = federange("admin", "bootstrap", "--country", "EU", "--force", env=env)
    assert bad_country.returncode == 1
    assert "not an ISO 3166-1 country code" in bad_country.stderr


def test_ranges_commands_over_http(api_url: str, admin_token: str, tmp_path: Path) -> None:
    admin = {"FEDERANGE_URL": api_url, "FEDERANGE_TOKEN": admin_token}
    org = runner.invoke(app, ["orgs", "create", "--name", "CERT.LV", "--country", "LV", "--json"], env=admin)
    assert org.exit_code == 0, org.output
    org_id = json.loads(org.stdout)["id"]
    issued = runner.invoke(
        app,
        ["tokens", "issue", "--name", "lv-ops", "--org", org_id, "--role", "operator", "--json"],
        env=admin,
    )
    assert issued.exit_code == 0, issued.output
    operator = {"FEDERANGE_URL": api_url, "FEDERANGE_TOKEN": json.loads(issued.stdout)["token"]}

    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(KUBECONFIG)
    register = [
        "ranges",
        "register",
        "--slug",
        "lv-range",
        "--name",
        "Latvian range",
        "--country",
        "LV",
        "-c",
        "k8s",
        "--cpu",
        "32000",
        "--memory",
        "65536",
        "--slots",
        "8",
        "--connector",
        "kubernetes",
        "--config",
        "namespace_prefix=fr",
        "--kubeconfig",
        str(kubeconfig),
        "--allowed-country",
        "LV",
    ]
    registered = runner.invoke(app, register, env=operator)
    assert registered.exit_code == 0, registered.output
    assert "registered range lv-range" in registered.stdout

    listed = runner.invoke(app, ["ranges", "list", "--json"], env=operator)
    assert listed.exit_code == 0
    assert [r["slug"] for r in json.loads(listed.stdout)["items"]] == ["lv-range"]
    shown = runner.invoke(app, ["ranges", "show", "lv-range"], env=operator)
    assert shown.exit_code == 0
    assert "kubeconfig" in shown.stdout
    assert SECRET_MARKER not in shown.stdout

    updated = runner.invoke(app, ["ranges", "update", "lv-range", "--slots", "4", "--json"], env=operator)
    assert updated.exit_code == 0, updated.output
    assert json.loads(updated.stdout)["capacity"]["slots"] == 4

    added = runner.invoke(
        app,
        [
            "ranges",
            "maintenance",
            "add",
            "lv-range",
            "--start",
            "2027-01-01T00:00:00Z",
            "--end",
            "2027-01-01T06:00:00Z",
        ],
        env=operator,
    )
    assert added.exit_code == 0, added.output
    windows = runner.invoke(app, ["ranges", "maintenance", "list", "lv-range", "--json"], env=operator)
    assert len(json.loads(windows.stdout)) == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["ranges", "show", "nope"], "does not exist"),
        (
            [
                "ranges",
                "register",
                "--slug",
                "Bad_Slug",
                "--name",
                "x",
                "--country",
                "LV",
                "--cpu",
                "1",
                "--memory",
                "1",
                "--slots",
                "1",
                "--connector",
                "fake",
            ],
            "slug",
        ),
        (
            [
                "ranges",
                "maintenance",
                "add",
                "x",
                "--start",
                "2027-01-02T00:00:00Z",
                "--end",
                "2027-01-01T00:00:00Z",
            ],
            "end: maintenance window must end after it starts",
        ),
    ],
)
def test_cli_errors_name_the_problem(api_url: str, admin_token: str, args: list[str], message: str) -> None:
    result = runner.invoke(app, args, env={"FEDERANGE_URL": api_url, "FEDERANGE_TOKEN": admin_token})
    assert result.exit_code == 1
    assert message in result.output


def test_cli_reports_an_unreachable_server() -> None:
    result = runner.invoke(
        app, ["ranges", "list"], env={"FEDERANGE_URL": "http://127.0.0.1:9", "FEDERANGE_TOKEN": "x"}
    )
    assert result.exit_code == 3  # not 2, the usage-error code
    assert "Cannot reach Federange" in result.output
    assert "federange server" in result.output  # how to start one
