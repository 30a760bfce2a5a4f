"""Ranges: the national cyber ranges of the federation and the capacity they share."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from orchestrator.api.deps import PrincipalDep, ServicesDep
from orchestrator.api.schemas.catalogue import (
    AccessOut,
    MaintenanceIn,
    MaintenanceOut,
    RangeIn,
    RangeOut,
    RangeUpdate,
)
from orchestrator.api.schemas.common import MAX_PAGE, PageOut, answer
from orchestrator.catalogue.access import check_range_access
from orchestrator.catalogue.health import probe
from orchestrator.domain.ranges import RangeStatus

router = APIRouter(prefix="/api/v1/ranges", tags=["ranges"])


@router.post(
    "", status_code=status.HTTP_201_CREATED, summary="Register a range (operator of its organisation)"
)
def register(
    body: RangeIn,
    principal: PrincipalDep,
    services: ServicesDep,
    check: Annotated[
        bool,
        Query(
            description="Probe the range's connector once it is registered (outside the transaction) and "
            "store the result as the range's health, returned in `health`"
        ),
    ] = False,
) -> RangeOut:
    with services.uow() as uow:
        record = services.catalogue(uow.catalogue).register_range(principal, body.to_domain())
    if not check:
        return RangeOut.from_domain(record)
    with services.uow() as uow:  # the stored record: its secrets as the connector gets them
        stored = services.catalogue(uow.catalogue).get_range(principal, record.id)
    health = probe(stored, services.connectors, clock=services.clock)
    with services.uow() as uow:
        uow.catalogue.put_health(health)
    return RangeOut.from_domain(stored, health)


@router.get(
    "",
    summary="List the ranges the caller may see (filtered by sharing policy)",
    response_model=PageOut[RangeOut],
)
def list_(
    principal: PrincipalDep,
    services: ServicesDep,
    country: Annotated[str | None, Query(min_length=2, max_length=2)] = None,
    capability: Annotated[str | None, Query(max_length=63)] = None,
    range_status: Annotated[RangeStatus | None, Query(alias="status")] = None,
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
    page_size: Annotated[int, Query(ge=1, le=500)] = 50,
) -> Response:
    with services.uow() as uow:
        result = services.catalogue(uow.catalogue).list_ranges(
            principal,
            country=country,
            capability=capability,
            status=None if range_status is None else range_status.value,
            page=page,
            page_size=page_size,
        )
        health = uow.catalogue.health_of([r.id for r in result.items])
    return answer(
        PageOut[RangeOut].read(
            result, items=[RangeOut.from_domain(r, health.get(r.id)) for r in result.items]
        )
    )


@router.get("/{range_ref}", summary="Get a range by id or slug", response_model=RangeOut)
def get(range_ref: str, principal: PrincipalDep, services: ServicesDep) -> Response:
    with services.uow() as uow:
        record = services.catalogue(uow.catalogue).get_range(principal, range_ref)
        health = uow.catalogue.health_of([record.id]).get(record.id)
    return answer(RangeOut.from_domain(record, health))


@router.get(
    "/{range_ref}/access",
    summary="Which permissions the range's connector credentials lack (its operators or an admin)",
)
def check_access(range_ref: str, principal: PrincipalDep, services: ServicesDep) -> AccessOut:
    with services.uow() as uow:
        record = services.catalogue(uow.catalogue).get_range(principal, range_ref)
    return AccessOut.from_domain(check_range_access(principal, record, services.connectors))


@router.patch("/{range_ref}", summary="Change a range (its operators or an admin)")
def update(range_ref: str, body: RangeUpdate, principal: PrincipalDep, services: ServicesDep) -> RangeOut:
    with services.uow() as uow:
        record = services.catalogue(uow.catalogue).update_range(principal, range_ref, body.to_domain())
    return RangeOut.from_domain(record)


@router.get("/{range_ref}/maintenance", summary="List a range's maintenance windows")
def list_maintenance(range_ref: str, principal: PrincipalDep, services: ServicesDep) -> list[MaintenanceOut]:
    with services.uow() as uow:
        record = services.catalogue(uow.catalogue).get_range(principal, range_ref)
    return [MaintenanceOut.read(m.window, id=m.id) for m in record.maintenance]


@router.post(
    "/{range_ref}/maintenance", status_code=status.HTTP_201_CREATED, summary="Schedule a maintenance window"
)
def add_maintenance(
    range_ref: str, body: MaintenanceIn, principal: PrincipalDep, services: ServicesDep
) -> MaintenanceOut:
    with services.uow() as uow:
        m = services.catalogue(uow.catalogue).add_maintenance(principal, range_ref, body.to_domain())
    return MaintenanceOut.read(m.window, id=m.id)


@router.delete(
    "/{range_ref}/maintenance/{maintenance_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Remove a maintenance window",
)
def remove_maintenance(
    range_ref: str, maintenance_id: str, principal: PrincipalDep, services: ServicesDep
) -> Response:
    with services.uow() as uow:
        services.catalogue(uow.catalogue).remove_maintenance(principal, range_ref, maintenance_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
