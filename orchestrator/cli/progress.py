"""Live per-team progress of an exercise or environment: one Rich progress bar per team instance.

The bar advances through the stages (booked -> deploying -> provisioning -> ready; then tearing down ->
done); a failed stage turns the bar red with its reason, an unknown one (its range does not answer)
magenta with the range's reason. Used by `exercise status --watch`, `env launch
--wait` and the demo.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from rich.console import Group
from rich.live import Live
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from orchestrator.cli import output
from orchestrator.cli.client import ApiClient

UP = ["booked", "deploying", "provisioning", "ready"]
DOWN = ["tearing_down", "done"]
FINAL_EXERCISE = {"running", "done", "cancelled"}


def stage_fraction(stage: str, failed_stage: str | None) -> tuple[int, int]:
    """(completed, total) steps for a team's bar."""
    if stage in UP:
        return UP.index(stage), len(UP) - 1
    if stage in DOWN:
        return DOWN.index(stage) + 1, len(DOWN)
    if stage == "unknown":  # was ready; its range cannot say how it is now
        return len(UP) - 1, len(UP) - 1
    if stage == "failed" and failed_stage in UP:
        return UP.index(failed_stage), len(UP) - 1
    return 0, len(UP) - 1


def _label(team: dict[str, Any]) -> str:
    stage = team["stage"]
    colour = {
        "ready": "green",
        "failed": "red",
        "done": "dim",
        "tearing_down": "yellow",
        "unknown": "magenta",
    }.get(stage, "cyan")
    reason = team.get("stage_reason") or ""
    if stage == "failed":
        reason = f"{team.get('failed_stage')}: {reason}"
    text = f"[{colour}]{stage}[/]"
    return text + (f" [dim]{reason[:80]}[/]" if reason else "")


class TeamBars:
    def __init__(self) -> None:
        self.progress = Progress(
            TextColumn("{task.fields[team]:<14}"),
            TextColumn("[dim]{task.fields[range]:<12}[/]"),
            BarColumn(bar_width=24),
            TextColumn("{task.fields[label]}"),
            TimeElapsedColumn(),
            console=output.console,
        )
        self.tasks: dict[str, TaskID] = {}

    def update(self, exercise: dict[str, Any]) -> None:
        for team in exercise["teams"]:
            done, total = stage_fraction(team["stage"], team.get("failed_stage"))
            fields = {"team": team["team"], "range": team["range"], "label": _label(team)}
            if team["team"] not in self.tasks:
                self.tasks[team["team"]] = self.progress.add_task("", total=total, completed=done, **fields)
            else:
                self.progress.update(self.tasks[team["team"]], total=total, completed=done, **fields)


def header(exercise: dict[str, Any]) -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_row(
        f"[bold]{exercise['name']}[/]",
        f"scenario {exercise['scenario']}",
        f"status [bold]{exercise['status']}[/]",
        f"{exercise['start']} -> {exercise['end']}",
    )
    return table


def up(exercise: dict[str, Any]) -> bool:
    """Every team is up (or failed), or the exercise is over."""
    if exercise["status"] in FINAL_EXERCISE:
        return True
    settled = all(t["stage"] in ("ready", "failed", "done") for t in exercise["teams"])
    return settled and exercise["status"] != "scheduled"


def fetcher(client: ApiClient, path: str) -> Callable[[], dict[str, Any]]:
    """What `watch` polls: the exercise or environment at `path`, as the server has it now."""
    return lambda: client.request("GET", path)


def watch(
    fetch: Callable[[], dict[str, Any]],
    *,
    until: Callable[[dict[str, Any]], bool],
    interval: float = 1.0,
    timeout: float | None = None,
    stop_on_interrupt: bool = True,
) -> dict[str, Any]:
    """Poll `fetch` and redraw until `until(exercise)` (or the timeout); returns the last state. Ctrl-C
    stops the watching quietly, or propagates when `stop_on_interrupt` is false (the caller acts on it)."""
    bars = TeamBars()
    current = fetch()
    bars.update(current)
    deadline = None if timeout is None else time.monotonic() + timeout
    view = Group(header(current), bars.progress)
    try:
        with Live(view, console=output.console, refresh_per_second=4) as live:
            try:
                while not until(current):
                    if deadline is not None and time.monotonic() > deadline:
                        break
                    time.sleep(interval)
                    current = fetch()
                    bars.update(current)
                    live.update(Group(header(current), bars.progress))
            except KeyboardInterrupt:
                if not stop_on_interrupt:
                    raise
    finally:
        if not output.console.is_terminal:  # a terminal moves on by itself; a pipe or a file does not
            output.console.line()
    return current


def events_table(exercise: dict[str, Any], *, last: int = 10) -> None:
    events = exercise.get("events", [])[-last:]
    if events:
        output.records("Events", ["at", "level", "message"], events)


def access_table(teams: list[dict[str, Any]]) -> None:
    rows = []
    for team in teams:
        endpoints = ", ".join(
            e.get("url") or f"{e['address']}:{e['port']}" if e.get("address") else f"{e['host']}:{e['port']}"
            for e in team["endpoints"]
        )
        credentials = ", ".join(f"{k}={v}" for k, v in sorted(team["credentials"].items()))
        rows.append([team["team"], team["range"], team["stage"], endpoints or "-", credentials or "-"])
    output.table("Access", ["team", "range", "stage", "endpoints", "credentials"], rows)
