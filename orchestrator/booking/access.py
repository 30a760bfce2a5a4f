"""Who may book, see, change and decide on bookings: the permission table (identity.permissions) applied
to bookings, and the two rules that belong to bookings themselves. Pure; every refusal says why.

- A booking made for an exercise or an environment changes only through it (cancel, extend the exercise):
  a member of the owner organisation releasing it directly would leave the exercise's teams without a
  range at deploy time.
- A researcher books a range directly only where the range's policy allows it; otherwise through an
  environment.
"""

from __future__ import annotations

from dataclasses import replace

from orchestrator.booking.ports import BookingQuery
from orchestrator.domain.bookings import Booking, Purpose
from orchestrator.domain.errors import FieldProblem, Forbidden, InvalidInput
from orchestrator.domain.ranges import RangeSnapshot, RangeStatus
from orchestrator.identity import permissions
from orchestrator.identity.permissions import Action, Scope
from orchestrator.identity.principals import Principal, Role
from orchestrator.identity.visibility import policy_admits


def owner_for(actor: Principal, owner_organisation_id: str | None) -> str:
    """The organisation a new booking belongs to: the actor's own, or the one named (admins only)."""
    if owner_organisation_id is None or owner_organisation_id == actor.organisation_id:
        permissions.require(actor, Action.BOOKING_CREATE)
        if not actor.organisation_id:
            raise InvalidInput(
                FieldProblem(
                    "owner_organisation_id", f"'{actor.name}' books on behalf of an organisation: name it"
                )
            )
        return actor.organisation_id
    permissions.require(actor, Action.BOOKING_CREATE)
    if Scope.ANY not in permissions.scopes(actor.role, Action.BOOKING_CREATE):
        raise Forbidden(
            f"booking for another organisation needs role admin; '{actor.name}' is {actor.role.value} "
            f"and books only for its own organisation"
        )
    return owner_organisation_id


def can_see(actor: Principal, booking: Booking, snapshot: RangeSnapshot | None) -> bool:
    reach = permissions.scopes(actor.role, Action.BOOKING_READ)
    return (
        Scope.ANY in reach
        or (Scope.OWN in reach and actor.organisation_id == booking.owner_organisation_id)
        or (
            Scope.OPERATED in reach
            and snapshot is not None
            and snapshot.operator_organisation == actor.organisation_id
        )
    )


def require_change(actor: Principal, booking: Booking, *, doing: str) -> None:
    """The actor may confirm, renew, cancel, activate or release this booking."""
    try:
        permissions.require(actor, Action.BOOKING_CHANGE, owner=booking.owner_organisation_id)
    except Forbidden as exc:
        raise Forbidden(f"{doing}: {exc.reason}") from None
    if booking.purpose is not Purpose.MANUAL and not actor.is_system and actor.via != booking.reference:
        raise Forbidden(
            f"{doing}: booking {booking.id} on {booking.range_slug} belongs to {booking.purpose.value} "
            f"'{booking.reference}'; change it through the {booking.purpose.value} (cancel or extend it), "
            "not directly"
        )


def require_range_decider(actor: Principal, snapshot: RangeSnapshot, *, action: str) -> None:
    try:
        permissions.require(actor, Action.BOOKING_DECIDE, operator=snapshot.operator_organisation)
    except Forbidden:
        raise Forbidden(
            f"{action}: only the operators of range '{snapshot.slug}' or an admin may decide"
        ) from None


def require_purpose(actor: Principal, purpose: Purpose, reference: str) -> None:
    """Bookings for an exercise or an environment are made by scheduling or launching it."""
    if purpose is Purpose.MANUAL or actor.is_system or actor.via == reference:
        return
    raise Forbidden(
        f"bookings for an {purpose.value} are made by scheduling it (POST /api/v1/{purpose.value}s), "
        "not directly; book with purpose 'manual'"
    )


def researcher_problem(actor: Principal, snapshot: RangeSnapshot, purpose: Purpose) -> str | None:
    """Why a researcher may not book this range directly, or None."""
    if (
        actor.role is not Role.RESEARCHER
        or purpose is not Purpose.MANUAL
        or snapshot.policy.researcher_bookings
    ):
        return None
    return (
        f"{snapshot.slug}: its policy lets researchers book only through environments "
        "(launch one with POST /api/v1/environments)"
    )


def scope(actor: Principal, query: BookingQuery) -> BookingQuery:
    """Narrow a listing to what the actor may see."""
    reach = permissions.scopes(actor.role, Action.BOOKING_READ)
    if Scope.ANY in reach:
        return query
    return replace(query, visible_to=actor.organisation_id, include_operated=Scope.OPERATED in reach)


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
