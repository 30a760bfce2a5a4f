"""Finding 6: the demo does what its docs and --help say (a test compares them), places as many teams as
it allows, ends with the next commands to try, says why it simulates without a raw exception, and two
demos at once under one account leave each other alone."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from orchestrator.cli import demo
from tests.integration.cli.helpers import flat, invoke

README = Path(__file__).resolve().parents[3] / "README.md"
NUMBERS = {"two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8}


def run_demo(data_dir: Path, *args: str) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "KUBECONFIG": "",
        "FEDERANGE_DATA_DIR": str(data_dir),
        "FEDERANGE_DATABASE_URL": "",
        "COLUMNS": "200",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "orchestrator.cli", "demo", "--start-in", "2", "--minutes", "0.1", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_the_readme_and_help_say_what_the_demo_does() -> None:
    readme = " ".join(README.read_text().split())
    teams = re.search(r"federated exercise for (\w+) teams", readme)
    most = re.search(r"`--teams` takes up to (\w+)", readme)
    assert teams and most, "the README no longer says how many teams the demo runs"
    assert NUMBERS[teams.group(1)] == demo.DEFAULT_TEAMS
    assert NUMBERS[most.group(1)] == demo.CAPACITY == sum(slots for *_, slots in demo.RANGES)
    assert len(demo.TEAMS) == demo.CAPACITY  # a team for every slot, no more

    shown = invoke("demo", "--help", env={"COLUMNS": "250"})
    assert shown.exit_code == 0
    text = flat(shown.output)
    assert f"[2<=x<={demo.CAPACITY}]" in text and f"[default: {demo.DEFAULT_TEAMS}]" in text
    refused = invoke("demo", "--teams", str(demo.CAPACITY + 1))
    assert refused.exit_code == 2  # refused before anything starts, by the bound the help shows
    for command, _ in demo.NEXT_COMMANDS:  # every suggested command exists with those options
        words = command.split()[1:]
        assert invoke(*words, "--help").exit_code == 0, command


def test_the_most_teams_it_allows_run_and_it_ends_with_next_steps(tmp_path: Path) -> None:
    process = run_demo(
        tmp_path, "--teams", str(demo.CAPACITY), "--docker-url", f"unix://{tmp_path}/no-engine.sock", "--json"
    )
    out, err = process.communicate(timeout=400)
    assert process.returncode == 0, out + err
    summary = json.loads(out)  # --json: the summary alone on stdout, the story on stderr
    assert summary["status"] == "done" and summary["ranges"] == "fake"
    assert summary["bookings"] == {"ee-range": "released", "lv-range": "released"}
    assert summary["next"] == [c for c, _ in demo.NEXT_COMMANDS]
    notice = next(line for line in err.splitlines() if "SIMULATED ranges" in line)
    assert "no Docker engine answers at unix://" in notice and "--docker-url" in notice
    for python in ("Error(", "Errno", "Traceback", "('"):
        assert python not in notice, notice
        assert python not in err  # nor a connector's retry warning beside it
    assert err.rstrip().splitlines()[-len(demo.NEXT_COMMANDS) - 1].strip() == "Next, try:"
    assert f"federange demo --teams {demo.CAPACITY}" in err.splitlines()[-1]


def test_two_demos_at_once_leave_each_other_alone(tmp_path: Path) -> None:
    mine = tmp_path / "demo" / "run-someone-else"
    mine.mkdir(parents=True)
    (mine / "federange.db").write_text("another demo's database")
    first = run_demo(tmp_path, "--ranges", "simulated", "--teams", "2")
    second = run_demo(tmp_path, "--ranges", "simulated", "--teams", "2")
    results = [p.communicate(timeout=400) for p in (first, second)]
    for process, (out, err) in zip((first, second), results, strict=True):
        assert process.returncode == 0, out + err
        assert "exercise done; bookings: ee-range released, lv-range released" in out
    databases = {
        line.split("database: ", 1)[1].split()[0]
        for out, _ in results
        for line in out.splitlines()
        if "database: " in line
    }
    assert len(databases) == 2  # each its own
    assert [p.name for p in (tmp_path / "demo").iterdir()] == ["run-someone-else"]
    assert (mine / "federange.db").read_text() == "another demo's database"
