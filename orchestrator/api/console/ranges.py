"""Console pages on ranges: the catalogue (everyone, as the sharing policies let them see it), a range's
calendar, and the operators' pages: register a range, maintenance windows, the approval queue, the audit
log. Each handler calls the use case its API route calls, with the signed-in principal."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from connectors import registry
from orchestrator.api.console import config_form
from orchestrator.api.console.render import (
    ConsolePrincipal,
    ConsoleRoute,
    FormDep,
    page,
    see_other,
    utc,
    validated,
)
from orchestrator.api.deps import ServicesDep
from orchestrator.api.schemas.catalogue import MaintenanceIn, RangeIn, RangeUpdate
from orchestrator.booking.ports import BookingQuery
from orchestrator.catalogue.views import range_view
from orchestrator.domain.bookings import Booking, BookingStatus

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)
#: Bookings drawn on a calendar (released, cancelled, expired and rejected ones are gone).
LIVE = frozenset(
    {BookingStatus.HELD, BookingStatus.PENDING_APPROVAL, BookingStatus.CONFIRMED, BookingStatus.ACTIVE}
)
DIMENSIONS = ("cpu_millicores", "memory_mib", "slots", "gpus")


@router.get("/")
def home(request: Request, principal: ConsolePrincipal, services: ServicesDep) -> Response:
    return page(request, services, "home.html", principal=principal)


@router.get("/ranges")
def catalogue(request: Request, principal: ConsolePrincipal, services: ServicesDep) -> Response:
    with services.uow() as uow:
        found = services.catalogue(uow.catalogue).list_ranges(
            principal, country=None, capability=None, status=None, page=1, page_size=500
        )
        health = uow.catalogue.health_of([r.id for r in found.items])
    return page(request, services, "ranges.html", principal=principal, ranges=found.items, health=health)


def _window(view: str, start: str, now: datetime) -> tuple[datetime, datetime, timedelta]:
    try:
        day = datetime.fromisoformat(start).replace(tzinfo=UTC) if start else now
    except ValueError:
        day = now
    day = day.replace(hour=0, minute=0, second=0, microsecond=0)
    if view == "month":
        first = day.replace(day=1)
        following = (first + timedelta(days=32)).replace(day=1)
        return first, following, timedelta(days=1)
    monday = day - timedelta(days=day.weekday())
    return monday, monday + timedelta(days=7), timedelta(hours=6)


@router.get("/ranges/{range_ref}")
def calendar(
    request: Request,
    range_ref: str,
    principal: ConsolePrincipal,
    services: ServicesDep,
    view: str = "week",
    start: str = "",
) -> Response:
    view = "month" if view == "month" else "week"
    begin, end, step = _window(view, start, services.clock.now())
    with services.uow() as uow:
        record = services.catalogue(uow.catalogue).get_range(principal, range_ref)
        booking = services.booking(uow.bookings)
        timeline = booking.availability.timeline(principal, record.id, start=begin, end=end, step=step)
        bookings: list[Booking] = [
            b
            for b in booking.list_bookings(
                principal, BookingQuery(range_id=record.id, start=begin, end=end), page=1, page_size=500
            ).items
            if b.status in LIVE
        ]
        health = uow.catalogue.health_of([record.id]).get(record.id)
    slots = list(timeline.slots)
    rows: list[dict[str, Any]] = [
        {
            "label": f"{b.status.value.replace('_', ' ')}: {b.reference or b.purpose.value}",
            "kind": "hold" if b.status is BookingStatus.HELD else "booking",
            "cells": [b.start < s.end and s.start < b.end for s in slots],
            "detail": b,
        }
        for b in sorted(bookings, key=lambda b: b.start)
    ]
    rows += [
        {
            "label": f"maintenance: {m.window.reason or 'no reason given'}",
            "kind": "maintenance",
            "cells": [m.window.start < s.end and s.start < m.window.end for s in slots],
            "detail": m,
        }
        for m in record.maintenance
        if m.window.start < end and begin < m.window.end
    ]
    span = end - begin
    return page(
        request,
        services,
        "calendar.html",
        principal=principal,
        range=record,
        health=health,
        view=view,
        begin=begin,
        end=end,
        slots=slots,
        rows=rows,
        dimensions=DIMENSIONS,
        previous=(begin - (span if view == "week" else timedelta(days=1))).date().isoformat(),
        following=end.date().isoformat(),
        manages=principal.organisation_id == record.operator_organisation_id
        or principal.role.value == "admin",
    )


@router.get("/operator/ranges/new")
def register_form(
    request: Request, principal: ConsolePrincipal, services: ServicesDep, kind: str = "fake"
) -> Response:
    kinds = sorted(registry.known_kinds())
    kind = kind if kind in kinds else kinds[0]
    return page(
        request,
        services,
        "register.html",
        principal=principal,
        kinds=kinds,
        kind=kind,
        fields=config_form.fields(kind),
        action="/operator/ranges",
        values={"max_foreign_share": 0.5, "max_booking_minutes": 14 * 24 * 60, "gpus": 0},
        editing=None,
    )


def _range_fields(form: Any) -> dict[str, Any]:
    """The range's own fields of the register and edit forms, as the API's schemas take them."""
    share = str(form.get("max_foreign_share") or "0.5")
    minutes = str(form.get("max_booking_minutes") or "")
    return {
        "name": form.get("name"),
        "description": form.get("description") or "",
        "country": str(form.get("country") or "").upper(),
        "capabilities": _listed(form.get("capabilities")),
        "capacity": {
            "cpu_millicores": form.get("cpu_millicores") or 0,
            "memory_mib": form.get("memory_mib") or 0,
            "slots": form.get("slots") or 0,
            "gpus": form.get("gpus") or 0,
        },
        "policy": {
            "allowed_countries": [c.upper() for c in _listed(form.get("allowed_countries"))],
            "max_foreign_share": share,
            "approval_required": form.get("approval_required") is not None,
            "max_booking_minutes": minutes or None,
        },
    }


@router.get("/ranges/{range_ref}/edit")
def edit_form(
    request: Request, range_ref: str, principal: ConsolePrincipal, services: ServicesDep
) -> Response:
    with services.uow() as uow:
        record = services.catalogue(uow.catalogue).get_range(principal, range_ref)
    view = range_view(record)
    policy = view["policy"]
    return page(
        request,
        services,
        "register.html",
        principal=principal,
        kinds=[record.connector.kind],
        kind=record.connector.kind,
        fields=config_form.fields(record.connector.kind, view["connector"]["config"]),
        action=f"/ranges/{record.slug}/edit",
        values={
            "slug": record.slug,
            "name": record.name,
            "country": record.country,
            "capabilities": ", ".join(view["capabilities"]),
            "description": record.description,
            **view["capacity"],
            "max_foreign_share": policy["max_foreign_share"],
            "max_booking_minutes": policy["max_booking_minutes"] or "",
            "allowed_countries": ", ".join(policy["allowed_countries"]),
            "approval_required": policy["approval_required"],
        },
        editing=record,
    )


@router.post("/ranges/{range_ref}/edit")
def edit(range_ref: str, principal: ConsolePrincipal, services: ServicesDep, form: FormDep) -> Response:
    """The changes as the API's PATCH takes them: the connector settings as a merge patch, so a secret
    left empty keeps its stored value."""
    with services.uow() as uow:
        record = services.catalogue(uow.catalogue).get_range(principal, range_ref)
    kind = record.connector.kind
    body = validated(
        RangeUpdate, {**_range_fields(form), "connector": {"config": config_form.parse(kind, form)}}
    )
    with services.uow() as uow:
        updated = services.catalogue(uow.catalogue).update_range(principal, range_ref, body.to_domain())
    return see_other(f"/ranges/{updated.slug}")


def _listed(text: object) -> list[str]:
    return [v.strip() for v in str(text or "").split(",") if v.strip()]


@router.post("/operator/ranges")
def register(request: Request, principal: ConsolePrincipal, services: ServicesDep, form: FormDep) -> Response:
    kind = str(form.get("kind", ""))
    config = config_form.parse(kind, form) if kind in registry.known_kinds() else {}
    body = validated(
        RangeIn,
        {"slug": form.get("slug"), **_range_fields(form), "connector": {"kind": kind, "config": config}},
    )
    with services.uow() as uow:
        record = services.catalogue(uow.catalogue).register_range(principal, body.to_domain())
    return see_other(f"/ranges/{record.slug}")


@router.post("/ranges/{range_ref}/maintenance")
def add_maintenance(
    range_ref: str, principal: ConsolePrincipal, services: ServicesDep, form: FormDep
) -> Response:
    body = validated(
        MaintenanceIn,
        {"start": utc(form.get("start")), "end": utc(form.get("end")), "reason": form.get("reason") or ""},
    )
    with services.uow() as uow:
        services.catalogue(uow.catalogue).add_maintenance(principal, range_ref, body.to_domain())
    return see_other(f"/ranges/{range_ref}?start={str(form.get('start'))[:10]}")


@router.post("/ranges/{range_ref}/maintenance/{maintenance_id}/remove")
def remove_maintenance(
    range_ref: str, maintenance_id: str, principal: ConsolePrincipal, services: ServicesDep, form: FormDep
) -> Response:
    del form
    with services.uow() as uow:
        services.catalogue(uow.catalogue).remove_maintenance(principal, range_ref, maintenance_id)
    return see_other(f"/ranges/{range_ref}")


@router.get("/operator/approvals")
def approvals(request: Request, principal: ConsolePrincipal, services: ServicesDep) -> Response:
    with services.uow() as uow:
        pending = services.booking(uow.bookings).list_bookings(
            principal,
            BookingQuery(statuses=frozenset({BookingStatus.PENDING_APPROVAL})),
            page=1,
            page_size=500,
        )
    return page(request, services, "approvals.html", principal=principal, bookings=pending.items)


@router.post("/operator/approvals/{booking_id}")
def decide(booking_id: str, principal: ConsolePrincipal, services: ServicesDep, form: FormDep) -> Response:
    with services.uow() as uow:
        booking = services.booking(uow.bookings)
        if form.get("decision") == "approve":
            booking.approve(principal, booking_id)
        else:
            booking.decline(principal, booking_id, reason=str(form.get("reason") or ""))
    return see_other("/operator/approvals")


@router.get("/audit")
def audit(request: Request, principal: ConsolePrincipal, services: ServicesDep, page_no: int = 1) -> Response:
    with services.uow() as uow:
        events = services.identity(uow.catalogue).list_audit(
            principal, object_id=None, action=None, page=max(1, page_no), page_size=100
        )
    return page(request, services, "audit.html", principal=principal, events=events)
