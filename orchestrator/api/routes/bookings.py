"""Bookings: reserve capacity on one or several ranges for a window, all or nothing; and quotas.

Each route opens one unit of work, calls one use case and commits once. Refusals are 409 problem
documents whose `reasons` list says which range, which dimension, when, needed vs free, or which rule.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Response, status

from orchestrator.api.deps import PrincipalDep, ServicesDep
from orchestrator.api.schemas.bookings import (
    BookingCreateIn,
    BookingOut,
    DemandIn,
    QuotaOut,
    ReasonIn,
    RenewIn,
    RequestOut,
)
from orchestrator.api.schemas.common import PageOut, UtcDateTime
from orchestrator.booking.ports import BookingQuery
from orchestrator.domain.bookings import BookingStatus

router = APIRouter(prefix="/api/v1/bookings", tags=["bookings"])
requests_router = APIRouter(prefix="/api/v1/booking-requests", tags=["bookings"])
quotas_router = APIRouter(prefix="/api/v1/organisations", tags=["quotas"])

_REFUSED: dict[int | str, dict[str, Any]] = {
    409: {"description": "Refused (reasons list every range, dimension, instant and rule) or conflict"}
}


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Book one or several ranges for a window, all or nothing",
    responses={200: {"description": "An idempotent repeat: the earlier bookings"}, **_REFUSED},
)
def create(
    body: BookingCreateIn,
    principal: PrincipalDep,
    services: ServicesDep,
    response: Response,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=64)] = None,
) -> RequestOut:
    with services.uow() as uow:
        result = services.booking(uow.bookings).create_request(
            principal,
            body.to_domain(idempotency_key=idempotency_key),
            owner_organisation_id=body.owner_organisation_id,
        )
    if result.replayed:
        response.status_code = status.HTTP_200_OK
    return RequestOut.from_domain(result)


@router.get("", summary="List bookings (admins: all; operators: on their ranges and their own; others: own)")
def list_(
    principal: PrincipalDep,
    services: ServicesDep,
    range_ref: Annotated[str | None, Query(alias="range", description="Range id or slug")] = None,
    organisation_id: str | None = None,
    booking_status: Annotated[list[BookingStatus] | None, Query(alias="status")] = None,
    request_id: str | None = None,
    reference: str | None = None,
    start: Annotated[UtcDateTime | None, Query(description="Only bookings ending after this")] = None,
    end: Annotated[UtcDateTime | None, Query(description="Only bookings starting before this")] = None,
    page: Annotated[int, Query(ge=1)] = 1,
    page_size: Annotated[int, Query(ge=1, le=500)] = 50,
) -> PageOut[BookingOut]:
    with services.uow() as uow:
        query = BookingQuery(
            range_id=range_ref,
            owner_organisation_id=organisation_id,
            statuses=frozenset(booking_status or ()),
            request_id=request_id,
            reference=reference,
            start=start,
            end=end,
        )
        result = services.booking(uow.bookings).list_bookings(
            principal, query, page=page, page_size=page_size
        )
    return PageOut[BookingOut](
        items=[BookingOut.from_domain(b) for b in result.items],
        total=result.total,
        page=result.page,
        page_size=result.page_size,
    )


@router.get("/{booking_id}", summary="Get a booking")
def get(booking_id: str, principal: PrincipalDep, services: ServicesDep) -> BookingOut:
    with services.uow() as uow:
        booking = services.booking(uow.bookings).get(principal, booking_id)
    return BookingOut.from_domain(booking)


@router.post(
    "/{booking_id}/confirm", summary="Confirm a held booking before its hold expires", responses=_REFUSED
)
def confirm(booking_id: str, principal: PrincipalDep, services: ServicesDep) -> BookingOut:
    with services.uow() as uow:
        booking = services.booking(uow.bookings).confirm(principal, booking_id)
    return BookingOut.from_domain(booking)


@router.post(
    "/{booking_id}/renew", summary="Move the end: extend (if capacity allows) or shrink", responses=_REFUSED
)
def renew(booking_id: str, body: RenewIn, principal: PrincipalDep, services: ServicesDep) -> BookingOut:
    with services.uow() as uow:
        booking = services.booking(uow.bookings).renew(principal, booking_id, end=body.end)
    return BookingOut.from_domain(booking)


@router.post(
    "/{booking_id}/cancel", summary="Cancel a held, pending or confirmed booking", responses=_REFUSED
)
def cancel(
    booking_id: str, principal: PrincipalDep, services: ServicesDep, body: ReasonIn | None = None
) -> BookingOut:
    with services.uow() as uow:
        booking = services.booking(uow.bookings).cancel(
            principal, booking_id, reason=body.reason if body else ""
        )
    return BookingOut.from_domain(booking)


@router.post("/{booking_id}/activate", summary="Mark a confirmed booking active (in use)", responses=_REFUSED)
def activate(booking_id: str, principal: PrincipalDep, services: ServicesDep) -> BookingOut:
    with services.uow() as uow:
        booking = services.booking(uow.bookings).activate(principal, booking_id)
    return BookingOut.from_domain(booking)


@router.post(
    "/{booking_id}/release", summary="Give a confirmed or active booking's capacity back", responses=_REFUSED
)
def release(booking_id: str, principal: PrincipalDep, services: ServicesDep) -> BookingOut:
    with services.uow() as uow:
        booking = services.booking(uow.bookings).release(principal, booking_id)
    return BookingOut.from_domain(booking)


@router.post(
    "/{booking_id}/approve", summary="Approve a pending booking (the range's operators)", responses=_REFUSED
)
def approve(booking_id: str, principal: PrincipalDep, services: ServicesDep) -> BookingOut:
    with services.uow() as uow:
        booking = services.booking(uow.bookings).approve(principal, booking_id)
    return BookingOut.from_domain(booking)


@router.post(
    "/{booking_id}/decline", summary="Decline a pending booking (the range's operators)", responses=_REFUSED
)
def decline(booking_id: str, body: ReasonIn, principal: PrincipalDep, services: ServicesDep) -> BookingOut:
    with services.uow() as uow:
        booking = services.booking(uow.bookings).decline(principal, booking_id, reason=body.reason)
    return BookingOut.from_domain(booking)


# -- a whole request at once (the exercise planner's view) --------------------------------------------
@requests_router.get("/{request_id}", summary="The bookings of one request")
def get_request(request_id: str, principal: PrincipalDep, services: ServicesDep) -> RequestOut:
    with services.uow() as uow:
        bookings = services.booking(uow.bookings).get_request(principal, request_id)
    return RequestOut.of(request_id, bookings)


@requests_router.post(
    "/{request_id}/confirm", summary="Confirm every held booking of a request", responses=_REFUSED
)
def confirm_request(request_id: str, principal: PrincipalDep, services: ServicesDep) -> RequestOut:
    with services.uow() as uow:
        bookings = services.booking(uow.bookings).confirm_request(principal, request_id)
    return RequestOut.of(request_id, bookings)


@requests_router.post(
    "/{request_id}/renew", summary="Move the end of every live booking of a request", responses=_REFUSED
)
def renew_request(
    request_id: str, body: RenewIn, principal: PrincipalDep, services: ServicesDep
) -> RequestOut:
    with services.uow() as uow:
        bookings = services.booking(uow.bookings).renew_request(principal, request_id, end=body.end)
    return RequestOut.of(request_id, bookings)


@requests_router.post("/{request_id}/cancel", summary="Cancel every booking of a request", responses=_REFUSED)
def cancel_request(
    request_id: str, principal: PrincipalDep, services: ServicesDep, body: ReasonIn | None = None
) -> RequestOut:
    with services.uow() as uow:
        bookings = services.booking(uow.bookings).cancel_request(
            principal, request_id, reason=body.reason if body else ""
        )
    return RequestOut.of(request_id, bookings)


@requests_router.post(
    "/{request_id}/release", summary="Release every booking of a request", responses=_REFUSED
)
def release_request(request_id: str, principal: PrincipalDep, services: ServicesDep) -> RequestOut:
    with services.uow() as uow:
        bookings = services.booking(uow.bookings).release_request(principal, request_id)
    return RequestOut.of(request_id, bookings)


@requests_router.post(
    "/{request_id}/activate", summary="Mark every confirmed booking of a request active", responses=_REFUSED
)
def activate_request(request_id: str, principal: PrincipalDep, services: ServicesDep) -> RequestOut:
    with services.uow() as uow:
        bookings = services.booking(uow.bookings).activate_request(principal, request_id)
    return RequestOut.of(request_id, bookings)


# -- quotas ------------------------------------------------------------------------------------------
@quotas_router.get("/{organisation_id}/quota", summary="An organisation's quota (limit null: none)")
def get_quota(organisation_id: str, principal: PrincipalDep, services: ServicesDep) -> QuotaOut:
    with services.uow() as uow:
        quota = services.booking(uow.bookings).quotas.get(principal, organisation_id)
    return QuotaOut.from_domain(organisation_id, quota)


@quotas_router.put(
    "/{organisation_id}/quota",
    summary="Set an organisation's quota: capacity held at once, all ranges (admin)",
)
def put_quota(
    organisation_id: str, body: DemandIn, principal: PrincipalDep, services: ServicesDep
) -> QuotaOut:
    with services.uow() as uow:
        quota = services.booking(uow.bookings).quotas.set(principal, organisation_id, body.to_domain())
    return QuotaOut.from_domain(organisation_id, quota)


@quotas_router.delete(
    "/{organisation_id}/quota", status_code=status.HTTP_204_NO_CONTENT, summary="Remove a quota (admin)"
)
def delete_quota(organisation_id: str, principal: PrincipalDep, services: ServicesDep) -> Response:
    with services.uow() as uow:
        services.booking(uow.bookings).quotas.remove(principal, organisation_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
