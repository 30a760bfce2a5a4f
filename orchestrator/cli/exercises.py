"""`federange exercise ...` and `federange env ...`: federated exercises and researcher environments over
HTTP."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import typer

from orchestrator.cli import documents, ids, output, progress
from orchestrator.cli.client import client_of

app = typer.Typer(help="Schedule and follow federated exercises.", no_args_is_help=True)
env_app = typer.Typer(help="Researcher environments: one instance, now, with a TTL.", no_args_is_help=True)


def parse_team(text: str) -> dict[str, str]:
    """`name[:organisation[:country]]`."""
    parts = text.split(":")
    if not parts[0] or len(parts) > 3:
        raise typer.BadParameter(f"'{text}' is not NAME[:ORGANISATION[:COUNTRY]]", param_hint="--team")
    team = {"name": parts[0]}
    if len(parts) > 1 and parts[1]:
        team["organisation"] = parts[1]
    if len(parts) > 2 and parts[2]:
        team["country"] = parts[2].upper()
    return team


def _when(text: str | None, default: datetime) -> str:
    """RFC 3339, or `+30m` / `+2h` / `+1d` relative to now."""
    if text is None:
        return default.isoformat()
    if text.startswith("+"):
        units = {"m": "minutes", "h": "hours", "d": "days", "s": "seconds"}
        amount, unit = text[1:-1], text[-1]
        if unit not in units or not amount.isdigit():
            raise typer.BadParameter(f"'{text}': use +NNm, +NNh, +NNd or an RFC 3339 time")
        return (datetime.now(UTC) + timedelta(**{units[unit]: int(amount)})).isoformat()
    return text


#: Constraint fields of an exercise document and the flags of `plan` and `create` that set them.
_CONSTRAINT_FLAGS = {
    "capabilities": "capability",
    "allowed_countries": "country",
    "include_ranges": "include",
    "exclude_ranges": "exclude",
    "min_ranges": "min_ranges",
    "max_ranges": "max_ranges",
    "max_teams_per_range": "max_per_range",
    "strategy": "strategy",
}


def exercise_body(flags: Mapping[str, Any]) -> dict[str, Any]:
    """The exercise document of `plan` and `create`: the `--file`, with the flags given (`ctx.params`)
    over it."""
    body: dict[str, Any] = documents.read_mapping(flags["file"]) if flags["file"] else {}
    now = datetime.now(UTC)
    if flags["name"]:
        body["name"] = flags["name"]
    if flags["scenario"]:
        body["scenario"] = flags["scenario"]
    if flags["team"]:
        body["teams"] = [parse_team(t) for t in flags["team"]]
    start, end = flags["start"], flags["end"]
    if start or "start" not in body:
        body["start"] = _when(start, now + timedelta(minutes=30))
    if end or "end" not in body:
        try:
            started = datetime.fromisoformat(str(body["start"]).replace("Z", "+00:00"))
        except ValueError:
            raise typer.BadParameter(
                f"'{body['start']}' is not RFC 3339 or +NNm", param_hint="--start"
            ) from None
        body["end"] = _when(end, started + timedelta(hours=2))
    if flags["lead"] is not None:
        body["lead_minutes"] = flags["lead"]
    constraints = body.setdefault("constraints", {})
    for key, flag in _CONSTRAINT_FLAGS.items():
        value = [c.upper() for c in flags[flag]] if flag == "country" else flags[flag]
        if value is not None and value != []:
            constraints[key] = value
    body.setdefault("name", f"{body.get('scenario', 'exercise')} exercise")
    return body


FileOption = typer.Option(None, "--file", "-f", exists=True, help="YAML exercise document (flags override)")
NameOption = typer.Option(None, "--name")
ScenarioOption = typer.Option(None, "--scenario", "-s", help="name or name@version")
TeamOption = typer.Option([], "--team", "-t", help="Repeatable NAME[:ORGANISATION[:COUNTRY]]")
StartOption = typer.Option(None, help="RFC 3339 or +30m (default: in 30 minutes)")
EndOption = typer.Option(None, help="RFC 3339 or +2h (default: start + 2h)")
LeadOption = typer.Option(None, "--lead", help="Deploy this many minutes before the start (default 15)")
CapabilityOption = typer.Option([], "--capability", "-c", help="Repeatable required range capability")
CountryOption = typer.Option([], "--country", help="Repeatable allowed range country (data residency)")
IncludeOption = typer.Option([], "--include", help="Repeatable: only these ranges")
ExcludeOption = typer.Option([], "--exclude", help="Repeatable: never these ranges")
MinRangesOption = typer.Option(None, "--min-ranges")
MaxRangesOption = typer.Option(None, "--max-ranges")
MaxPerRangeOption = typer.Option(None, "--max-per-range")
StrategyOption = typer.Option(None, "--strategy", help="spread | pack | weighted")


def _placement_table(placement: dict[str, Any]) -> None:
    output.table(
        f"Placement ({'feasible' if placement['feasible'] else 'INFEASIBLE'})",
        ["team", "range", "why"],
        [[a["team"], a["range"], a.get("reason", "")] for a in placement["assignments"]],
    )
    if placement["rejected"]:
        output.table(
            "Ranges not used",
            ["range", "reasons"],
            [[k, "; ".join(v)] for k, v in placement["rejected"].items()],
        )
    for reason in placement["reasons"]:
        output.errors.print(f"  - {reason}")
    if placement.get("summary"):
        output.console.print(placement["summary"])


@app.command("plan")
def plan(
    ctx: typer.Context,
    file: Path | None = FileOption,
    name: str | None = NameOption,
    scenario: str | None = ScenarioOption,
    team: list[str] = TeamOption,
    start: str | None = StartOption,
    end: str | None = EndOption,
    lead: int | None = LeadOption,
    capability: list[str] = CapabilityOption,
    country: list[str] = CountryOption,
    include: list[str] = IncludeOption,
    exclude: list[str] = ExcludeOption,
    min_ranges: int | None = MinRangesOption,
    max_ranges: int | None = MaxRangesOption,
    max_per_range: int | None = MaxPerRangeOption,
    strategy: str | None = StrategyOption,
) -> None:
    """Show where the teams would go, without booking anything."""
    body = exercise_body(ctx.params)  # the flags above, by name
    result = client_of(ctx).request("POST", "/api/v1/exercises/plan", json=body)
    if not output.machine(result):
        _placement_table(result)
    if not result["feasible"]:
        raise typer.Exit(1)


@app.command("create")
def create(
    ctx: typer.Context,
    file: Path | None = FileOption,
    name: str | None = NameOption,
    scenario: str | None = ScenarioOption,
    team: list[str] = TeamOption,
    start: str | None = StartOption,
    end: str | None = EndOption,
    lead: int | None = LeadOption,
    capability: list[str] = CapabilityOption,
    country: list[str] = CountryOption,
    include: list[str] = IncludeOption,
    exclude: list[str] = ExcludeOption,
    min_ranges: int | None = MinRangesOption,
    max_ranges: int | None = MaxRangesOption,
    max_per_range: int | None = MaxPerRangeOption,
    strategy: str | None = StrategyOption,
    watch: bool = typer.Option(False, "--watch", "-w", help="Follow the deployment live"),
) -> None:
    """Schedule an exercise: place the teams, book every range (all or nothing), deploy on time."""
    body = exercise_body(ctx.params)  # the flags above, by name
    client = client_of(ctx)
    created = client.request("POST", "/api/v1/exercises", json=body)
    if output.machine(created):
        return
    output.console.print(
        f"[green]scheduled[/] exercise [bold]{created['name']}[/] ({created['id']}): deploys at "
        f"{created['deploy_at']}, runs {created['start']} -> {created['end']}"
    )
    _placement_table(created["placement"])
    if watch:
        progress.watch(progress.fetcher(client, f"/api/v1/exercises/{created['id']}"), until=progress.up)


@app.command("list")
def list_(
    ctx: typer.Context,
    active: bool = typer.Option(False, "--active", help="Only exercises not yet over"),
) -> None:
    """List your organisation's exercises."""
    found = client_of(ctx).request("GET", "/api/v1/exercises", params={"active": active})
    output.listing(found, "Exercises", ["id", "name", "scenario", "status", "start", "end"])


def show_exercise(exercise: dict[str, Any]) -> None:
    output.console.print(progress.header(exercise))
    output.table(
        "Teams",
        ["team", "country", "range", "stage", "reason", "ready at"],
        [
            [t["team"], t["country"], t["range"], t["stage"], t["stage_reason"], t["ready_at"] or ""]
            for t in exercise["teams"]
        ],
    )
    progress.events_table(exercise)


@app.command("status")
def status(
    ctx: typer.Context,
    exercise_id: str,
    watch: bool = typer.Option(False, "--watch", "-w", help="Live per-team progress until all are up"),
    timeout: float = typer.Option(1800, "--timeout", min=1, help="Seconds --watch waits at most"),
) -> None:
    """An exercise's placement, per-team stages and events.

    With --watch: follows it until every team is up, then exits 0; 1 when a team failed or the timeout
    passed first (like `kubectl rollout status`)."""
    exercise_id = ids.resolve(client_of(ctx), "exercise", exercise_id)
    client = client_of(ctx)
    path = f"/api/v1/exercises/{exercise_id}"
    if watch:
        final = progress.watch(progress.fetcher(client, path), until=progress.up, timeout=timeout)
        if not output.machine(final):
            progress.events_table(final)
        failed = [t for t in final["teams"] if t["stage"] == "failed"]
        for team in failed:
            where = f"{team.get('failed_stage')}: {team.get('stage_reason')}"
            output.errors.print(f"[red]team {team['team']} failed[/] at {where}")
        if not progress.up(final):
            output.errors.print(
                f"[red]not every team is up after {timeout:g} s[/] (status {final['status']})"
            )
        if failed or not progress.up(final):
            raise typer.Exit(1)
        return
    exercise = client.request("GET", path)
    if output.machine(exercise):
        return
    show_exercise(exercise)


@app.command("access")
def access(ctx: typer.Context, exercise_id: str) -> None:
    """Per team: entry endpoints and the credentials handed out (your organisation only)."""
    exercise_id = ids.resolve(client_of(ctx), "exercise", exercise_id)
    teams = client_of(ctx).request("GET", f"/api/v1/exercises/{exercise_id}/access")
    if output.machine(teams):
        return
    progress.access_table(teams)


@app.command("cancel")
def cancel(ctx: typer.Context, exercise_id: str) -> None:
    """Cancel: release the bookings; tear down whatever was deployed."""
    exercise_id = ids.resolve(client_of(ctx), "exercise", exercise_id)
    exercise = client_of(ctx).request("POST", f"/api/v1/exercises/{exercise_id}/cancel")
    output.said(
        exercise,
        f"[yellow]cancel requested[/] for {exercise['name']} (status {exercise['status']}): its bookings are "
        "released and whatever was deployed is torn down",
    )


@app.command("extend")
def extend(
    ctx: typer.Context,
    exercise_id: str,
    end: str = typer.Option(..., "--to", "--end", help="RFC 3339 or +NNm"),
) -> None:
    """Renew to T: every booking of the exercise, local and on every peer, ends at exactly T, or nothing
    changes and the refusal says, per range, the latest end it could grant."""
    exercise_id = ids.resolve(client_of(ctx), "exercise", exercise_id)
    exercise = client_of(ctx).request(
        "POST", f"/api/v1/exercises/{exercise_id}/extend", json={"end": _when(end, datetime.now(UTC))}
    )
    output.said(exercise, f"[green]extended[/] {exercise['name']} to {exercise['end']}")


@app.command("retry")
def retry(ctx: typer.Context, exercise_id: str, team: str = typer.Option(..., "--team", "-t")) -> None:
    """Retry a team's failed stage."""
    exercise_id = ids.resolve(client_of(ctx), "exercise", exercise_id)
    retried = client_of(ctx).request("POST", f"/api/v1/exercises/{exercise_id}/teams/{team}/retry")
    output.said(
        retried if retried is not None else {"exercise": exercise_id, "team": team},
        f"[green]retrying[/] team {team}",
    )


# -- environments ------------------------------------------------------------------------------------
@env_app.command("launch")
def env_launch(
    ctx: typer.Context,
    scenario: str = typer.Option(..., "--scenario", "-s"),
    ttl: int = typer.Option(120, "--ttl", help="Minutes"),
    name: str = typer.Option(""),
    capability: list[str] = CapabilityOption,
    country: list[str] = CountryOption,
    wait: bool = typer.Option(
        True, "--wait/--no-wait", help="Follow until ready and print the access details"
    ),
) -> None:
    """Launch an environment now."""
    client = client_of(ctx)
    body: dict[str, Any] = {"scenario": scenario, "ttl_minutes": ttl, "name": name, "constraints": {}}
    if capability:
        body["constraints"]["capabilities"] = capability
    if country:
        body["constraints"]["allowed_countries"] = [c.upper() for c in country]
    env = client.request("POST", "/api/v1/environments", json=body)
    if output.machine(env):
        return
    output.console.print(
        f"[green]launched[/] environment {env['id']} on {env['teams'][0]['range']}, ends {env['end']}"
    )
    if wait:
        final = progress.watch(
            progress.fetcher(client, f"/api/v1/environments/{env['id']}"), until=progress.up, timeout=1800
        )
        progress.events_table(final, last=3)
        progress.access_table(client.request("GET", f"/api/v1/environments/{env['id']}/access"))


@env_app.command("list")
def env_list(
    ctx: typer.Context,
    all_: bool = typer.Option(False, "--all", help="Include ended environments"),
) -> None:
    """List your organisation's environments."""
    found = client_of(ctx).request("GET", "/api/v1/environments", params={"active": not all_})
    columns = ["id", "name", "scenario", "status", "ends"]
    output.listing(found, "Environments", columns, keys=["id", "name", "scenario", "status", "end"])


@env_app.command("renew")
def env_renew(ctx: typer.Context, environment_id: str, minutes: int = typer.Option(60, "--minutes")) -> None:
    """Push an environment's end out."""
    environment_id = ids.resolve(client_of(ctx), "environment", environment_id)
    env = client_of(ctx).request(
        "POST", f"/api/v1/environments/{environment_id}/renew", json={"minutes": minutes}
    )
    output.said(env, f"[green]renewed[/] {env['id']}: now ends {env['end']}")


@env_app.command("destroy")
def env_destroy(ctx: typer.Context, environment_id: str) -> None:
    """Tear an environment down now."""
    environment_id = ids.resolve(client_of(ctx), "environment", environment_id)
    env = client_of(ctx).request("DELETE", f"/api/v1/environments/{environment_id}")
    output.said(env, f"[yellow]destroying[/] {env['id']}: {env['status']}")


@env_app.command("access")
def env_access(ctx: typer.Context, environment_id: str) -> None:
    """Endpoints and credentials of an environment."""
    environment_id = ids.resolve(client_of(ctx), "environment", environment_id)
    teams = client_of(ctx).request("GET", f"/api/v1/environments/{environment_id}/access")
    if output.machine(teams):
        return
    progress.access_table(teams)
