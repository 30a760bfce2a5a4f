"""`federange ranges ...`: the range catalogue over HTTP."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import typer
import yaml

from orchestrator.cli import bookings, documents, ids, output, range_access, timeline
from orchestrator.cli.client import client_of

app = typer.Typer(help="Register, inspect and change cyber ranges.", no_args_is_help=True)
maintenance_app = typer.Typer(help="Maintenance windows of a range.", no_args_is_help=True)
app.add_typer(maintenance_app, name="maintenance")
app.command("check-access")(range_access.check_access)


def health_text(r: dict[str, Any], *, limit: int | None = None) -> str:
    """`ok`, `FAILING: why`, or `not probed yet` (the scheduler probes every range periodically); in
    tables of many ranges (`limit`) the reason is cut and the version left out (`ranges show` has both)."""
    health = r.get("health")
    if not health:
        return "not probed yet"
    if health["healthy"]:
        return "ok" + (f" ({health['version']})" if health.get("version") and limit is None else "")
    reason = str(health["reason"])
    if limit is not None and len(reason) > limit:
        reason = reason[: limit - 1] + "…"
    return f"FAILING: {reason}"


@app.command("list")
def list_(
    ctx: typer.Context,
    country: str | None = typer.Option(None, help="Only ranges in this country"),
    capability: str | None = typer.Option(None, help="Only ranges with this capability tag"),
    status: str | None = typer.Option(None, help="active | maintenance | draining | decommissioned"),
    page: int = typer.Option(1, min=1),
    page_size: int = typer.Option(50, min=1, max=500),
) -> None:
    """List the ranges you may see."""
    data = client_of(ctx).request(
        "GET",
        "/api/v1/ranges",
        params={
            "country": country,
            "capability": capability,
            "status": status,
            "page": page,
            "page_size": page_size,
        },
    )
    if output.machine(data):
        return
    output.table(
        f"Ranges ({data['total']} in all)",
        ["slug", "name", "country", "status", "health", "capabilities", "capacity", "connector"],
        [
            [
                r["slug"],
                r["name"],
                r["country"],
                r["status"],
                health_text(r, limit=40),
                ",".join(r["capabilities"]),
                bookings.demand_text(r["capacity"]),
                r["connector"]["kind"],
            ]
            for r in data["items"]
        ],
    )


@app.command("show")
def show(
    ctx: typer.Context,
    ref: str = typer.Argument(..., help="Range slug or id"),
) -> None:
    """Show one range: capacity, sharing policy, connector (without secrets), maintenance."""
    r = client_of(ctx).request("GET", f"/api/v1/ranges/{ref}")
    if output.machine(r):
        return
    p = r["policy"]
    output.table(
        f"Range {r['slug']}",
        ["field", "value"],
        [
            ["name", r["name"]],
            ["id", r["id"]],
            ["country", r["country"]],
            ["status", r["status"]],
            ["health", health_text(r)],
            ["last probed", (r.get("health") or {}).get("probed_at", "")],
            ["capabilities", ", ".join(r["capabilities"])],
            ["capacity", bookings.demand_text(r["capacity"])],
            ["allowed countries", ", ".join(p["allowed_countries"]) or "all"],
            ["allowed organisations", ", ".join(p["allowed_organisations"]) or "all"],
            ["max foreign share", f"{p['max_foreign_share']:.0%}"],
            ["approval required", "yes" if p["approval_required"] else "no"],
            ["max booking", f"{p['max_booking_minutes']} min" if p["max_booking_minutes"] else "unlimited"],
            ["min lead time", f"{p['min_lead_minutes']} min" if p["min_lead_minutes"] else "none"],
            ["connector", r["connector"]["kind"]],
            ["connector secrets", ", ".join(r["connector"]["secret_fields"]) or "none"],
        ],
    )
    if r["maintenance"]:
        columns = ["maintenance id", "start", "end", "reason"]
        output.records("Maintenance", columns, r["maintenance"], keys=["id", "start", "end", "reason"])


def _config_pairs(pairs: list[str]) -> dict[str, Any]:
    config: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise typer.BadParameter(f"'{pair}' is not KEY=VALUE", param_hint="--config")
        try:
            config[key] = yaml.safe_load(value) if value else ""
        except yaml.YAMLError as exc:
            raise typer.BadParameter(
                f"'{pair}': the value is not valid YAML: {exc}", param_hint="--config"
            ) from None
    return config


@app.command("register")
def register(
    ctx: typer.Context,
    file: Path | None = typer.Option(None, "--file", "-f", exists=True, help="YAML/JSON range document"),
    slug: str | None = typer.Option(None),
    name: str | None = typer.Option(None),
    country: str | None = typer.Option(None, help="ISO 3166-1 alpha-2"),
    capability: list[str] = typer.Option([], "--capability", "-c", help="Repeatable capability tag"),
    cpu: int | None = typer.Option(None, help="Shared CPU in millicores"),
    memory: int | None = typer.Option(None, help="Shared memory in MiB"),
    slots: int | None = typer.Option(None, help="Instance slots"),
    gpus: int = typer.Option(0),
    connector: str | None = typer.Option(None, help="Connector kind: kubernetes, docker, ansible, fake"),
    config: list[str] = typer.Option([], "--config", help="Repeatable connector KEY=VALUE"),
    kubeconfig: Path | None = typer.Option(None, exists=True, help="Kubeconfig file (stored encrypted)"),
    description: str = typer.Option(""),
    allowed_country: list[str] = typer.Option([], help="Repeatable; empty means every country"),
    max_foreign_share: float | None = typer.Option(None, min=0.0, max=1.0),
    approval_required: bool = typer.Option(False),
    check: bool = typer.Option(
        False,
        "--check",
        help="Probe the range's connector once registered; the result is stored as its health "
        "(exit 1 when the probe fails)",
    ),
) -> None:
    """Register a range from a file, flags, or both (flags override the file).

    The server checks the connector config against its kind's schema and refuses it naming the field;
    --check also asks the range itself (an engine or cluster that does not answer, wrong credentials)."""
    body: dict[str, Any] = documents.read_mapping(file) if file else {}
    overrides = {"slug": slug, "name": name, "country": country, "description": description or None}
    body.update({k: v for k, v in overrides.items() if v is not None})
    if capability:
        body["capabilities"] = capability
    capacity = body.setdefault("capacity", {})
    for key, value in (("cpu_millicores", cpu), ("memory_mib", memory), ("slots", slots)):
        if value is not None:
            capacity[key] = value
    capacity.setdefault("gpus", gpus)
    conn = body.setdefault("connector", {})
    if connector:
        conn["kind"] = connector
    conn.setdefault("config", {}).update(_config_pairs(config))
    if kubeconfig:
        conn["config"]["kubeconfig"] = kubeconfig.read_text()
    policy = body.setdefault("policy", {})
    if allowed_country:
        policy["allowed_countries"] = allowed_country
    if max_foreign_share is not None:
        policy["max_foreign_share"] = max_foreign_share
    if approval_required:
        policy["approval_required"] = True
    r = client_of(ctx).request("POST", "/api/v1/ranges", json=body, params={"check": check or None})
    failing = check and not (r.get("health") or {}).get("healthy", False)
    if not output.machine(r):
        output.console.print(f"[green]registered[/] range [bold]{r['slug']}[/] ({r['id']}) in {r['country']}")
        if check:
            output.console.print(f"health: {health_text(r)}", highlight=False)
    if failing:
        output.errors.print(
            f"[bold red]the range does not answer its probe[/]: fix its connector with "
            f"`federange ranges update {r['slug']} --config KEY=VALUE` (the scheduler probes it again)",
            highlight=False,
        )
        raise typer.Exit(1)


@app.command("update")
def update(
    ctx: typer.Context,
    ref: str = typer.Argument(..., help="Range slug or id"),
    file: Path | None = typer.Option(None, "--file", "-f", exists=True, help="YAML/JSON patch document"),
    name: str | None = typer.Option(None),
    status: str | None = typer.Option(None, help="active | maintenance | draining | decommissioned"),
    cpu: int | None = typer.Option(None),
    memory: int | None = typer.Option(None),
    slots: int | None = typer.Option(None),
    config: list[str] = typer.Option([], "--config", help="Repeatable connector KEY=VALUE"),
    kubeconfig: Path | None = typer.Option(None, exists=True),
) -> None:
    """Change a range; only the given fields change."""
    body: dict[str, Any] = documents.read_mapping(file) if file else {}
    if name:
        body["name"] = name
    if status:
        body["status"] = status
    client = client_of(ctx)
    if cpu is not None or memory is not None or slots is not None:
        current = client.request("GET", f"/api/v1/ranges/{ref}")["capacity"]
        body["capacity"] = {
            "cpu_millicores": current["cpu_millicores"] if cpu is None else cpu,
            "memory_mib": current["memory_mib"] if memory is None else memory,
            "slots": current["slots"] if slots is None else slots,
            "gpus": current["gpus"],
        }
    if config or kubeconfig:
        patch = _config_pairs(config)
        if kubeconfig:
            patch["kubeconfig"] = kubeconfig.read_text()
        body.setdefault("connector", {})["config"] = patch
    r = client.request("PATCH", f"/api/v1/ranges/{ref}", json=body)
    output.said(r, f"[green]updated[/] range [bold]{r['slug']}[/] (status {r['status']})")


@maintenance_app.command("list")
def maintenance_list(ctx: typer.Context, ref: str) -> None:
    """List a range's maintenance windows."""
    data = client_of(ctx).request("GET", f"/api/v1/ranges/{ref}/maintenance")
    output.listing(data, f"Maintenance of {ref}", ["id", "start", "end", "reason"])


@maintenance_app.command("add")
def maintenance_add(
    ctx: typer.Context,
    ref: str,
    start: str = typer.Option(..., help="RFC 3339 with timezone, e.g. 2027-03-01T08:00:00Z"),
    end: str = typer.Option(..., help="RFC 3339 with timezone"),
    reason: str = typer.Option(""),
) -> None:
    """Schedule a maintenance window (no capacity is offered during it)."""
    m = client_of(ctx).request(
        "POST", f"/api/v1/ranges/{ref}/maintenance", json={"start": start, "end": end, "reason": reason}
    )
    output.said(m, f"[green]maintenance scheduled[/] {m['id']}: {m['start']} -> {m['end']}")


@maintenance_app.command("remove")
def maintenance_remove(ctx: typer.Context, ref: str, maintenance_id: str) -> None:
    """Remove a maintenance window (its id, or a unique prefix of it as `maintenance list` shows it)."""
    if ids.is_prefix(maintenance_id):
        windows = client_of(ctx).request("GET", f"/api/v1/ranges/{ref}/maintenance")
        maintenance_id = ids.pick("maintenance window", maintenance_id, [m["id"] for m in windows])
    client_of(ctx).request("DELETE", f"/api/v1/ranges/{ref}/maintenance/{maintenance_id}")
    output.said(
        {"range": ref, "id": maintenance_id, "removed": True},
        f"[green]removed[/] maintenance {maintenance_id}",
    )


@app.command("calendar")
def calendar(
    ctx: typer.Context,
    ref: str = typer.Argument(..., help="Range slug or id"),
    start: str | None = typer.Option(None, help="RFC 3339 start (default: this hour)"),
    end: str | None = typer.Option(None, help="RFC 3339 end (default: start + 1 day)"),
    step: str = typer.Option("1h", help="Slot length: 30m, 1h, 1d, ..."),
) -> None:
    """A timeline of the range's free capacity per dimension, and the bookings you may see on it."""
    begin = bookings.parse_instant(start, option="--start") if start else bookings.default_start()
    finish = bookings.parse_instant(end, option="--end") if end else begin + timedelta(days=1)
    seconds = int(bookings.parse_duration(step, option="--step").total_seconds())
    client = client_of(ctx)
    free = client.request(
        "GET",
        f"/api/v1/ranges/{ref}/availability",
        params={"start": begin.isoformat(), "end": finish.isoformat(), "step": seconds},
    )
    listed = client.request(
        "GET",
        "/api/v1/bookings",
        params={
            "range": ref,
            "start": begin.isoformat(),
            "end": finish.isoformat(),
            "status": ["held", "pending_approval", "confirmed", "active"],
            "page_size": 500,
        },
    )
    if output.machine({"availability": free, "bookings": listed["items"]}):
        return
    timeline.render(free)
    if listed["items"]:
        bookings.print_bookings(f"Bookings on {free['range']} in the window", listed["items"])
    else:
        output.console.print("no bookings you may see in the window")
