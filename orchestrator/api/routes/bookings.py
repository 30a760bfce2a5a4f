"""Bookings: reserve capacity on one or several ranges for a window, all or nothing; and quotas.

Each route opens one unit of work, calls one use case and commits once. Refusals are 409 problem
documents whose `reasons` list says which range, which dimension, when, needed vs free, or which rule.

(No `from __future__ import annotations` here: the transitions' routes are built by `_serve`, and FastAPI
must read their annotations in its scope.)
"""

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Response, status
from pydantic import BaseModel

from orchestrator.api.deps import PrincipalDep, ServicesDep, in_thread
from orchestrator.api.lean import LeanRoute
from orchestrator.api.schemas.bookings import (
    BookingCreateIn,
    BookingOut,
    DemandIn,
    QuotaOut,
    ReasonIn,
    RenewIn,
    RequestOut,
)
from orchestrator.api.schemas.common import MAX_PAGE, PageOut, UtcDateTime, answer
from orchestrator.booking.ports import BookingQuery
from orchestrator.booking.requests import RequestResult
from orchestrator.booking.selection import Selection
from orchestrator.booking.service import BookingService
from orchestrator.domain.bookings import Booking, BookingStatus
from orchestrator.identity.principals import Principal

#: LeanRoute: the booking creation, the busiest write, skips FastAPI's generic dependency solving.
router = APIRouter(prefix="/api/v1/bookings", tags=["bookings"], route_class=LeanRoute)
requests_router = APIRouter(prefix="/api/v1/booking-requests", tags=["bookings"])
quotas_router = APIRouter(prefix="/api/v1/organisations", tags=["quotas"])

_REFUSED: dict[int | str, dict[str, Any]] = {
    409: {"description": "Refused (reasons list every range, dimension, instant and rule) or conflict"}
}


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=RequestOut,
    summary="Book one or several ranges for a window, all or nothing",
    responses={200: {"description": "An idempotent repeat: the earlier bookings"}, **_REFUSED},
)
async def create(
    body: BookingCreateIn,
    principal: PrincipalDep,
    services: ServicesDep,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=64)] = None,
) -> Response:
    def admit() -> RequestResult:
        return services.create_booking_request(
            principal,
            body.to_domain(idempotency_key=idempotency_key),
            owner_organisation_id=body.owner_organisation_id,
        )

    result = await in_thread(services, admit)  # the busiest write: a cheaper hop than a sync route's
    created = status.HTTP_200_OK if result.replayed else status.HTTP_201_CREATED
    return answer(RequestOut.from_domain(result), status_code=created)


@router.get("", summary="List bookings (admins: all; operators: on their ranges and their own; others: own)")
def list_(
    principal: PrincipalDep,
    services: ServicesDep,
    range_ref: Annotated[str | None, Query(alias="range", description="Range id or slug")] = None,
    organisation_id: Annotated[str | None, Query(max_length=64)] = None,
    booking_status: Annotated[list[BookingStatus] | None, Query(alias="status")] = None,
    request_id: Annotated[str | None, Query(max_length=64)] = None,
    reference: Annotated[str | None, Query(max_length=64)] = None,
    start: Annotated[UtcDateTime | None, Query(description="Only bookings ending after this")] = None,
    end: Annotated[UtcDateTime | None, Query(description="Only bookings starting before this")] = None,
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
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
    return PageOut[BookingOut].read(result, items=[BookingOut.from_domain(b) for b in result.items])


# -- the read and the transitions, on one booking or on a whole request (the exercise planner's view) --
Endpoint = Callable[..., BaseModel]


def one_booking(booking_id: str) -> Selection:
    return Selection.booking(booking_id)


def whole_request(request_id: str) -> Selection:
    return Selection.request(request_id)


def _serve(
    router: APIRouter, select: Callable[[str], Selection], *, request: bool, summaries: dict[str, str]
) -> None:
    """Serve the read and each transition on one family of paths (a booking's, answered with the
    booking; a request's, answered with its bookings). Called once per family, so each verb is one
    function; the route names keep the operation ids of the per-path routes (`confirm_request`)."""
    path = "/{request_id}" if request else "/{booking_id}"
    SelectionDep = Annotated[Selection, Depends(select)]  # noqa: N806 (an alias, like PrincipalDep)

    def answer(selection: Selection, bookings: list[Booking]) -> BaseModel:
        return RequestOut.of(selection.id, bookings) if request else BookingOut.from_domain(bookings[0])

    def route(verb: str) -> Callable[[Endpoint], Endpoint]:
        return router.api_route(
            path if verb == "get" else f"{path}/{verb}",
            methods=["GET" if verb == "get" else "POST"],
            name=f"{verb}_request" if request else verb,
            summary=summaries[verb],
            response_model=RequestOut if request else BookingOut,
            responses=None if verb == "get" else _REFUSED,
        )

    def simple(act: Callable[[BookingService, Principal, Selection], list[Booking]]) -> Endpoint:
        """The route of a verb whose only input is the selection."""

        def endpoint(selection: SelectionDep, principal: PrincipalDep, services: ServicesDep) -> BaseModel:
            with services.uow() as uow:
                return answer(selection, act(services.booking(uow.bookings), principal, selection))

        return endpoint

    def renew(
        selection: SelectionDep, body: RenewIn, principal: PrincipalDep, services: ServicesDep
    ) -> BaseModel:
        with services.uow() as uow:
            return answer(selection, services.booking(uow.bookings).renew(principal, selection, end=body.end))

    def cancel(
        selection: SelectionDep, principal: PrincipalDep, services: ServicesDep, body: ReasonIn | None = None
    ) -> BaseModel:
        reason = body.reason if body else ""
        with services.uow() as uow:
            return answer(
                selection, services.booking(uow.bookings).cancel(principal, selection, reason=reason)
            )

    served: dict[str, Endpoint] = {
        "get": simple(BookingService.get),
        "confirm": simple(BookingService.confirm),
        "renew": renew,
        "cancel": cancel,
        "activate": simple(BookingService.activate),
        "release": simple(BookingService.release),
    }
    for verb in summaries:  # registered in the order of the per-path routes these replaced
        route(verb)(served[verb])


_serve(
    router,
    one_booking,
    request=False,
    summaries={
        "get": "Get a booking",
        "confirm": "Confirm a held booking before its hold expires",
        "renew": "Move the end: extend (if capacity allows) or shrink",
        "cancel": "Cancel a held, pending or confirmed booking",
        "activate": "Mark a confirmed booking active (in use)",
        "release": "Give a confirmed or active booking's capacity back",
    },
)


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


_serve(
    requests_router,
    whole_request,
    request=True,
    summaries={
        "get": "The bookings of one request",
        "confirm": "Confirm every held booking of a request",
        "renew": "Move the end of every live booking of a request",
        "cancel": "Cancel every booking of a request",
        "release": "Release every booking of a request",
        "activate": "Mark every confirmed booking of a request active",
    },
)


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
