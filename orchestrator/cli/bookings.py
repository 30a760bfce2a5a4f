"""`federange bookings ...`: book capacity across ranges over HTTP, and follow the bookings' lifecycle."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import typer

from orchestrator.cli import documents, ids, output
from orchestrator.cli.client import client_of

app = typer.Typer(
    help="Book capacity on ranges for a window; confirm, renew, cancel, approve.", no_args_is_help=True
)
quota_app = typer.Typer(help="Per-organisation quotas (admins set them).", no_args_is_help=True)
app.add_typer(quota_app, name="quota")

_DURATION = re.compile(r"^(\d+)([smhd])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def parse_duration(text: str, *, option: str) -> timedelta:
    """'90m', '4h', '2d', '30s' -> timedelta."""
    match = _DURATION.fullmatch(text.strip())
    if not match:
        raise typer.BadParameter(f"'{text}' is not a duration like 30m, 4h or 2d", param_hint=option)
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


def parse_instant(text: str, *, option: str) -> datetime:
    """An RFC 3339 instant with a timezone ('2027-03-04T09:00:00Z')."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise typer.BadParameter(f"'{text}' is not an RFC 3339 instant", param_hint=option) from None
    if value.tzinfo is None:
        raise typer.BadParameter(f"'{text}' has no timezone: add Z or an offset", param_hint=option)
    return value


def demand_text(d: dict[str, int]) -> str:
    parts = [f"{d['cpu_millicores'] / 1000:g} cpu", f"{d['memory_mib'] / 1024:g} GiB", f"{d['slots']} slots"]
    if d.get("gpus"):
        parts.append(f"{d['gpus']} GPU")
    return ", ".join(parts)


def print_bookings(title: str, bookings: list[dict[str, Any]]) -> None:
    """A table of bookings: ids shortened to a prefix the commands accept (in full with -o wide / --ids)."""
    output.records(
        title,
        ["id", "range", "status", "start", "end", "demand", "owner id", "request"],
        [{**b, "demand": demand_text(b["demand"])} for b in bookings],
        keys=["id", "range", "status", "start", "end", "demand", "owner_organisation_id", "request_id"],
    )


def _print_request(data: dict[str, Any], *, verb: str) -> None:
    again = " (repeat of an earlier request: nothing new booked)" if data.get("replayed") else ""
    output.console.print(f"[green]{verb}[/] request {data['request_id']}{again}")
    for b in data["bookings"]:
        extra = f", hold until {b['hold_expires_at']}" if b.get("hold_expires_at") else ""
        reason = f" ({b['status_reason']})" if b.get("status_reason") else ""
        output.console.print(f"  {b['range']}: booking {b['id']} is [bold]{b['status']}[/]{reason}{extra}")


@app.command("create")
def create(
    ctx: typer.Context,
    file: Path | None = typer.Option(None, "--file", "-f", exists=True, help="YAML/JSON request document"),
    range_: list[str] = typer.Option([], "--range", "-r", help="Range slug or id; repeat for several"),
    cpu: int = typer.Option(0, help="CPU millicores on each range"),
    memory: int = typer.Option(0, help="Memory MiB on each range"),
    slots: int = typer.Option(0, help="Instance slots on each range"),
    gpus: int = typer.Option(0, help="GPUs on each range"),
    start: str | None = typer.Option(None, help="RFC 3339 start, e.g. 2027-03-04T09:00:00Z"),
    end: str | None = typer.Option(None, help="RFC 3339 end"),
    duration: str | None = typer.Option(None, help="Instead of --end: 4h, 2d, ..."),
    purpose: str | None = typer.Option(None, help="exercise | environment | manual"),
    reference: str | None = typer.Option(None, help="What it is for (an exercise id)"),
    confirm: bool = typer.Option(False, "--confirm", help="Confirm at once instead of holding"),
    request_id: str | None = typer.Option(None, help="Idempotency key: repeating it books nothing twice"),
    organisation: str | None = typer.Option(None, "--org", help="Book for this organisation (admins)"),
) -> None:
    """Book one or several ranges for a window: every range or none (flags override the file)."""
    if organisation:
        organisation = ids.resolve(client_of(ctx), "organisation", organisation)
    body: dict[str, Any] = documents.read_mapping(file) if file else {}
    if range_:
        demand = {"cpu_millicores": cpu, "memory_mib": memory, "slots": slots, "gpus": gpus}
        body["items"] = [{"range": r, "demand": demand} for r in range_]
    if start:
        body["start"] = start
    if end:
        body["end"] = end
    if duration:
        if "start" not in body:
            raise typer.BadParameter("--duration needs --start", param_hint="--duration")
        begin = parse_instant(str(body["start"]), option="--start")
        body["end"] = (begin + parse_duration(duration, option="--duration")).isoformat()
    overrides = {"purpose": purpose, "reference": reference, "request_id": request_id}
    body.update({k: v for k, v in overrides.items() if v is not None})
    if organisation:
        body["owner_organisation_id"] = organisation
    if confirm:
        body["hold"] = False
    data = client_of(ctx).request("POST", "/api/v1/bookings", json=body)
    if output.machine(data):
        return
    _print_request(data, verb="booked")


@app.command("list")
def list_(
    ctx: typer.Context,
    range_: str | None = typer.Option(None, "--range", "-r", help="Only this range"),
    organisation: str | None = typer.Option(None, "--org", help="Only this owner organisation"),
    status: list[str] = typer.Option([], "--status", help="Repeatable: held, confirmed, active, ..."),
    request_id: str | None = typer.Option(None),
    reference: str | None = typer.Option(None),
    start: str | None = typer.Option(None, help="Only bookings ending after this"),
    end: str | None = typer.Option(None, help="Only bookings starting before this"),
    page: int = typer.Option(1, min=1),
    page_size: int = typer.Option(50, min=1, max=500),
) -> None:
    """List the bookings you may see."""
    if organisation:
        organisation = ids.resolve(client_of(ctx), "organisation", organisation)
    params: dict[str, Any] = {
        "range": range_,
        "organisation_id": organisation,
        "status": status or None,
        "request_id": request_id,
        "reference": reference,
        "start": start,
        "end": end,
        "page": page,
        "page_size": page_size,
    }
    data = client_of(ctx).request("GET", "/api/v1/bookings", params=params)
    if output.machine(data):
        return
    print_bookings(f"Bookings ({data['total']} in all)", data["items"])


@app.command("show")
def show(ctx: typer.Context, booking_id: str) -> None:
    """Show one booking."""
    booking_id = ids.resolve(client_of(ctx), "booking", booking_id)
    b = client_of(ctx).request("GET", f"/api/v1/bookings/{booking_id}")
    if output.machine(b):
        return
    output.table(
        f"Booking {b['id']}",
        ["field", "value"],
        [
            ["range", f"{b['range']} ({b['range_id']})"],
            ["status", b["status"] + (f" ({b['status_reason']})" if b["status_reason"] else "")],
            ["window", f"{b['start']} -> {b['end']}"],
            ["demand", demand_text(b["demand"])],
            ["owner", f"{b['owner_organisation_id']} ({b['owner_country']})"],
            ["purpose", b["purpose"]],
            ["reference", b["reference"] or ""],
            ["request", b["request_id"]],
            ["hold expires", b["hold_expires_at"] or ""],
        ],
    )


def _path(ref: str, *, request: bool) -> str:
    """A booking's path, or a whole request's (`--request`)."""
    return f"/api/v1/booking-requests/{ref}" if request else f"/api/v1/bookings/{ref}"


def _ref(ctx: typer.Context, ref: str, *, request: bool) -> str:
    """A booking id (or a unique prefix of one), or a request id as given (`--request`)."""
    return ref if request else ids.resolve(client_of(ctx), "booking", ref)


def _act(ctx: typer.Context, ref: str, action: str, *, request: bool = False, body: Any = None) -> None:
    ref = _ref(ctx, ref, request=request)
    data = client_of(ctx).request("POST", f"{_path(ref, request=request)}/{action}", json=body)
    if output.machine(data):
        return
    if request:
        _print_request(data, verb=f"{action}:")
    else:
        output.console.print(f"booking {data['id']} on {data['range']} is [bold]{data['status']}[/]")


RequestFlag = typer.Option(False, "--request", help="The argument is a request id: act on all its bookings")


@app.command("confirm")
def confirm(ctx: typer.Context, booking_id: str, request: bool = RequestFlag) -> None:
    """Confirm a held booking (or every held booking of a request) before the hold expires."""
    _act(ctx, booking_id, "confirm", request=request)


@app.command("renew")
def renew(
    ctx: typer.Context,
    booking_id: str,
    end: str | None = typer.Option(None, help="The new end (RFC 3339): later extends, earlier shrinks"),
    extend: str | None = typer.Option(None, help="Instead of --end: move the end by 2h, 1d, ..."),
    request: bool = RequestFlag,
) -> None:
    """Move the end of a booking: extending is refused (with the reason) when capacity does not allow it."""
    booking_id = _ref(ctx, booking_id, request=request)
    if (end is None) == (extend is None):
        raise typer.BadParameter("give exactly one of --end and --extend", param_hint="--end")
    if extend is not None:
        current = client_of(ctx).request("GET", _path(booking_id, request=request))
        ends = [b["end"] for b in current["bookings"]] if request else [current["end"]]
        latest = max(datetime.fromisoformat(e) for e in ends)
        end = (latest + parse_duration(extend, option="--extend")).isoformat()
    _act(ctx, booking_id, "renew", request=request, body={"end": end})


@app.command("cancel")
def cancel(
    ctx: typer.Context,
    booking_id: str,
    reason: str = typer.Option("", help="Why (kept with the booking)"),
    request: bool = RequestFlag,
) -> None:
    """Cancel a booking (or every booking of a request)."""
    _act(ctx, booking_id, "cancel", request=request, body={"reason": reason})


@app.command("release")
def release(ctx: typer.Context, booking_id: str, request: bool = RequestFlag) -> None:
    """Give the capacity of a confirmed or active booking back."""
    _act(ctx, booking_id, "release", request=request)


@app.command("approve")
def approve(ctx: typer.Context, booking_id: str) -> None:
    """Approve a booking waiting for approval on your range."""
    _act(ctx, booking_id, "approve")


@app.command("decline")
def decline(
    ctx: typer.Context,
    booking_id: str,
    reason: str = typer.Option(..., help="Why (the requester sees it)"),
) -> None:
    """Decline a booking waiting for approval on your range."""
    _act(ctx, booking_id, "decline", body={"reason": reason})


@quota_app.command("show")
def quota_show(ctx: typer.Context, organisation: str) -> None:
    """Show an organisation's quota."""
    organisation = ids.resolve(client_of(ctx), "organisation", organisation)
    q = client_of(ctx).request("GET", f"/api/v1/organisations/{organisation}/quota")
    limit = "none" if q["limit"] is None else demand_text(q["limit"])
    output.said(q, f"quota of {q['organisation_id']}: {limit}")


@quota_app.command("set")
def quota_set(
    ctx: typer.Context,
    organisation: str,
    cpu: int = typer.Option(..., help="CPU millicores held at once, all ranges together"),
    memory: int = typer.Option(..., help="Memory MiB"),
    slots: int = typer.Option(..., help="Instance slots"),
    gpus: int = typer.Option(0),
) -> None:
    """Set an organisation's quota (admins)."""
    organisation = ids.resolve(client_of(ctx), "organisation", organisation)
    body = {"cpu_millicores": cpu, "memory_mib": memory, "slots": slots, "gpus": gpus}
    q = client_of(ctx).request("PUT", f"/api/v1/organisations/{organisation}/quota", json=body)
    output.said(q, f"[green]quota set[/] for {q['organisation_id']}: {demand_text(q['limit'])}")


@quota_app.command("remove")
def quota_remove(ctx: typer.Context, organisation: str) -> None:
    """Remove an organisation's quota (admins)."""
    organisation = ids.resolve(client_of(ctx), "organisation", organisation)
    client_of(ctx).request("DELETE", f"/api/v1/organisations/{organisation}/quota")
    output.said(
        {"organisation_id": organisation, "limit": None}, f"[green]quota removed[/] for {organisation}"
    )


def default_start() -> datetime:
    return datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
