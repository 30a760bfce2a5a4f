"""Availability: free capacity of a range over time, and the search for ranges that can host a demand.

Both advise without reserving anything: book the window you found with POST /api/v1/bookings.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Response

from orchestrator.api.deps import PrincipalDep, ServicesDep
from orchestrator.api.schemas.bookings import AvailabilityOut, HitOut, MissOut, SearchIn, SearchOut
from orchestrator.api.schemas.common import UtcDateTime, answer
from orchestrator.booking.availability import MAX_SLOTS

router = APIRouter(tags=["availability"])


@router.get(
    "/api/v1/ranges/{range_ref}/availability",
    summary="Free capacity per dimension over time (the least free in each step)",
    response_model=AvailabilityOut,
)
def availability(
    range_ref: str,
    principal: PrincipalDep,
    services: ServicesDep,
    start: UtcDateTime,
    end: UtcDateTime,
    step: Annotated[
        int, Query(ge=60, description=f"Seconds per slot (at least 60; at most {MAX_SLOTS} slots)")
    ] = 3600,
    organisation_id: Annotated[
        str | None, Query(description="Whose foreign share applies (default: yours)")
    ] = None,
) -> Response:
    with services.uow() as uow:
        timeline = services.booking(uow.bookings).availability.timeline(
            principal,
            range_ref,
            start=start,
            end=end,
            step=timedelta(seconds=step),
            organisation_id=organisation_id,
        )
    return answer(AvailabilityOut.from_domain(timeline))


@router.post(
    "/api/v1/availability/search",
    summary="Ranges (and their earliest windows) that can host a demand, and why the others cannot",
)
def search(body: SearchIn, principal: PrincipalDep, services: ServicesDep) -> SearchOut:
    with services.uow() as uow:
        result = services.booking(uow.bookings).availability.search(
            principal, body.to_domain(), organisation_id=body.organisation_id
        )
    return SearchOut(
        hits=[HitOut.from_domain(h) for h in result.hits],
        misses=[MissOut.from_domain(m) for m in result.misses],
    )
