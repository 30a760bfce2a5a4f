"""Who may book, see, change and decide on bookings. Pure rules; every refusal says why.

- Anyone with a token books for their own organisation; admins (and the system, acting for the exercise
  planner) book on behalf of any organisation.
- The owner organisation's members and admins confirm, renew, cancel, activate and release its bookings.
- A range's operators and admins approve or decline bookings that wait for approval on that range.
- Admins see every booking; operators the bookings on their ranges and their own; others their
  organisation's.
"""

from __future__ import annotations

from dataclasses import replace

from orchestrator.booking.ports import BookingQuery
from orchestrator.domain.bookings import Booking
from orchestrator.domain.errors import FieldProblem, Forbidden, InvalidInput
from orchestrator.domain.ranges import RangeSnapshot, RangeStatus
from orchestrator.identity.authz import policy_admits
from orchestrator.identity.principals import Principal, Role


def owner_for(actor: Principal, owner_organisation_id: str | None) -> str:
    """The organisation a new booking belongs to: the actor's own, or the one named (admins only)."""
    if owner_organisation_id is None or owner_organisation_id == actor.organisation_id:
        if not actor.organisation_id:
            raise InvalidInput(
                FieldProblem(
                    "owner_organisation_id", f"'{actor.name}' books on behalf of an organisation: name it"
                )
            )
        return actor.organisation_id
    if actor.role is not Role.ADMIN:
        raise Forbidden(
            f"booking for another organisation needs role admin; '{actor.name}' is {actor.role.value} "
            f"and books only for its own organisation"
        )
    return owner_organisation_id


def can_see(actor: Principal, booking: Booking, snapshot: RangeSnapshot | None) -> bool:
    if actor.role is Role.ADMIN or actor.organisation_id == booking.owner_organisation_id:
        return True
    return (
        actor.role is Role.OPERATOR
        and snapshot is not None
        and snapshot.operator_organisation == actor.organisation_id
    )


def require_owner(actor: Principal, booking: Booking, *, action: str) -> None:
    if actor.role is Role.ADMIN or actor.organisation_id == booking.owner_organisation_id:
        return
    raise Forbidden(
        f"{action}: booking {booking.id} on {booking.range_slug} belongs to another organisation; "
        "only its members or an admin may change it"
    )


def require_range_decider(actor: Principal, snapshot: RangeSnapshot, *, action: str) -> None:
    if actor.role is Role.ADMIN:
        return
    if actor.role is Role.OPERATOR and actor.organisation_id == snapshot.operator_organisation:
        return
    raise Forbidden(f"{action}: only the operators of range '{snapshot.slug}' or an admin may decide")


def scope(actor: Principal, query: BookingQuery) -> BookingQuery:
    """Narrow a listing to what the actor may see."""
    if actor.role is Role.ADMIN:
        return query
    return replace(query, visible_to=actor.organisation_id, include_operated=actor.role is Role.OPERATOR)


def can_see_range(actor: Principal, snapshot: RangeSnapshot) -> bool:
    """The catalogue's visibility rule on a snapshot: admins and the operators' organisation see every
    range; others see the ranges they could book (not decommissioned, admitted by the allow-lists)."""
    if actor.role is Role.ADMIN or actor.organisation_id == snapshot.operator_organisation:
        return True
    if snapshot.status is RangeStatus.DECOMMISSIONED:
        return False
    return policy_admits(
        snapshot.policy, organisation_id=actor.organisation_id, country=actor.organisation_country
    )
