"""`federange exercise ...` and `federange env ...` as a trainer and a researcher run them, against a live
API over HTTP (simulated ranges; the scheduler is driven by the test)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import httpx
from typer.testing import CliRunner

from orchestrator.cli import app
from orchestrator.wiring import Services
from tests.integration.exercises.helpers import Driver, federation

runner = CliRunner()


def test_trainer_plans_creates_follows_and_cancels_from_the_cli(
    api_url: str, http: httpx.Client, admin_token: str, services: Services
) -> None:
    fed = federation(http, admin_token)
    env = {"FEDERANGE_URL": api_url, "FEDERANGE_TOKEN": fed.trainer}
    teams = ["-t", "red:CERT-EE:EE", "-t", "blue:CERT.LV:LV", "-t", "green:NCSC-FI:FI"]
    plan = runner.invoke(app, ["exercise", "plan", "-s", "ctf-starter", *teams, "--min-ranges", "3"], env=env)
    assert plan.exit_code == 0, plan.output
    assert "feasible" in plan.output and "ee-range" in plan.output and "fi-range" in plan.output

    infeasible = runner.invoke(
        app, ["exercise", "plan", "-s", "ctf-starter", *teams, "-c", "ics", "--json"], env=env
    )
    assert infeasible.exit_code == 1
    assert "capability 'ics' missing" in infeasible.output

    created = runner.invoke(
        app,
        [
            "exercise",
            "create",
            "-s",
            "ctf-starter",
            *teams,
            "--start",
            "+20m",
            "--end",
            "+2h",
            "--lead",
            "20",
            "--name",
            "Baltic Shield",
            "--json",
        ],
        env=env,
    )
    assert created.exit_code == 0, created.output
    exercise = json.loads(created.stdout)
    assert exercise["name"] == "Baltic Shield" and len(exercise["teams"]) == 3

    driver = Driver(services, services.clock)  # deploy is due now (start - lead <= now)
    try:
        driver.run_due()
    finally:
        driver.close()
    status = runner.invoke(app, ["exercise", "status", exercise["id"]], env=env)
    assert status.exit_code == 0, status.output
    assert "running" in status.output and status.output.count("ready") >= 3
    access = runner.invoke(app, ["exercise", "access", exercise["id"], "--json"], env=env)
    assert access.exit_code == 0
    assert {a["team"] for a in json.loads(access.stdout)} == {"red", "blue", "green"}
    listed = runner.invoke(app, ["exercise", "list", "--active", "--json"], env=env)
    assert [e["name"] for e in json.loads(listed.stdout)] == ["Baltic Shield"]

    # The real command, as a separate process: the same problem+json reasons reach the terminal.
    other = subprocess.run(
        [sys.executable, "-m", "orchestrator.cli", "exercise", "cancel", exercise["id"]],
        env={**os.environ, "FEDERANGE_URL": api_url, "FEDERANGE_TOKEN": fed.other_trainer},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert other.returncode == 1 and "belongs to another organisation" in other.stderr
    cancelled = runner.invoke(app, ["exercise", "cancel", exercise["id"]], env=env)
    assert cancelled.exit_code == 0, cancelled.output


def test_researcher_environment_from_the_cli(api_url: str, http: httpx.Client, admin_token: str) -> None:
    fed = federation(http, admin_token, ranges={"ee-range": ("EE", 2)})
    env = {"FEDERANGE_URL": api_url, "FEDERANGE_TOKEN": fed.researcher}
    launched = runner.invoke(
        app, ["env", "launch", "-s", "ctf-starter", "--ttl", "45", "--no-wait", "--json"], env=env
    )
    assert launched.exit_code == 0, launched.output
    env_id = json.loads(launched.stdout)["id"]
    listed = runner.invoke(app, ["env", "list", "--json"], env=env)
    assert [e["id"] for e in json.loads(listed.stdout)] == [env_id]
    renewed = runner.invoke(app, ["env", "renew", env_id, "--minutes", "30"], env=env)
    assert renewed.exit_code == 0 and "now ends" in renewed.output
    destroyed = runner.invoke(app, ["env", "destroy", env_id], env=env)
    assert destroyed.exit_code == 0, destroyed.output
    bad = runner.invoke(app, ["env", "renew", "no-such-env", "--minutes", "30"], env=env)
    assert bad.exit_code == 1 and "does not exist" in bad.output
