"""Finding 4: every command takes --url, --token and --json (or -o), before or after the subcommand."""

from __future__ import annotations

import json
from typing import Any

import typer
import yaml

from orchestrator.cli import app
from scenarios import library
from tests.integration.cli.helpers import invoke

COMMON = {"--url", "--token", "--json", "--ids"}


def _walk(command: Any, ctx: Any, path: tuple[str, ...]) -> list[tuple[tuple[str, ...], Any]]:
    found = [(path, command)]
    if hasattr(command, "list_commands"):
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            found += _walk(sub, ctx, (*path, name))
    return found


def every_command() -> list[tuple[tuple[str, ...], Any]]:
    root = typer.main.get_command(app)
    ctx = root.make_context("federange", ["--help"], resilient_parsing=True)
    return _walk(root, ctx, ())


def test_every_command_and_group_takes_the_common_options() -> None:
    commands = every_command()
    leaves = [(path, c) for path, c in commands if not hasattr(c, "list_commands")]
    assert len(leaves) >= 45, [" ".join(p) for p, _ in leaves]  # every group loaded, none forgotten
    missing = {}
    for path, command in commands:
        names = {opt for param in command.params for opt in getattr(param, "opts", [])}
        if not names >= COMMON:
            missing[" ".join(path) or "(root)"] = sorted(COMMON - names)
        if "-o" not in names and "--output" not in names:
            missing.setdefault(" ".join(path) or "(root)", []).append("-o")
    assert not missing, missing


def test_the_options_work_before_or_after_the_subcommand(api_url: str, admin_token: str) -> None:
    placements = [
        ["--url", api_url, "--token", admin_token, "--json", "orgs", "list"],
        ["orgs", "--url", api_url, "--token", admin_token, "--json", "list"],
        ["orgs", "list", "--url", api_url, "--token", admin_token, "--json"],
        ["--url", api_url, "orgs", "--token", admin_token, "list", "-o", "json"],
    ]
    answers = []
    for args in placements:
        result = invoke(*args)
        assert result.exit_code == 0, (args, result.output)
        answers.append(json.loads(result.stdout))
    assert all(a == answers[0] for a in answers)
    assert [o["name"] for o in answers[0]] == ["Federation admin"]

    as_yaml = invoke("orgs", "list", "-o", "yaml", "--url", api_url, "--token", admin_token)
    assert yaml.safe_load(as_yaml.stdout) == answers[0]
    only_ids = invoke("orgs", "list", "-o", "id", "--url", api_url, "--token", admin_token)
    assert only_ids.stdout.split() == [answers[0][0]["id"]]
    # the innermost wins: a wrong URL before the subcommand, the right one after it
    inner = invoke("--url", "http://127.0.0.1:9", "orgs", "list", "--url", api_url, "--token", admin_token)
    assert inner.exit_code == 0, inner.output


def test_commands_that_printed_nothing_for_scripts_now_answer_json(api_url: str, admin_token: str) -> None:
    env = {"FEDERANGE_URL": api_url, "FEDERANGE_TOKEN": admin_token}
    issued = invoke(
        "tokens", "issue", "--name", "t", "--org", _admin_org(env), "--role", "admin", "--json", env=env
    )
    token_id = json.loads(issued.stdout)["id"]
    revoked = invoke("tokens", "revoke", token_id, "--json", env=env)
    assert revoked.exit_code == 0, revoked.output
    assert json.loads(revoked.stdout) == {"id": token_id, "revoked": True}
    listed = invoke("scenario", "validate", str(library.scenario_dir("ctf-starter")), "--json")
    assert listed.exit_code == 0, listed.output
    assert json.loads(listed.stdout)[0]["ok"] is True


def _admin_org(env: dict[str, str]) -> str:
    orgs = json.loads(invoke("orgs", "list", "--json", env=env).stdout)
    return str(orgs[0]["id"])


def test_each_command_prints_at_the_terminal_width_of_its_own_invocation() -> None:
    """Rich reads COLUMNS when a console is made: each invocation makes its own (several run in one
    process under a test runner, or a program that calls the CLI twice)."""
    widths = []
    for columns in ("90", "250", "90"):
        shown = invoke("scenario", "list", env={"COLUMNS": columns})
        assert shown.exit_code == 0, shown.output
        widths.append(max(len(line) for line in shown.stdout.splitlines()))
    assert widths[0] <= 90 and widths[1] > 90 and widths[2] <= 90, widths
