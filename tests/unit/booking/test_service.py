"""Booking use cases on the in-memory store: all or nothing, holds, approval, renew, idempotency, quotas,
transitions, who may do what; every refusal with its exact reason."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from connectors.base import Resources
from orchestrator.booking.occupancy import free_for_owner
from orchestrator.booking.ports import BookingQuery
from orchestrator.booking.selection import Selection
from orchestrator.domain.bookings import Booking, BookingStatus, Purpose, Quota
from orchestrator.domain.errors import Conflict, Forbidden, IllegalTransition, InvalidInput, NotFound, Refused
from orchestrator.domain.ranges import MaintenanceWindow, RangeStatus, SharingPolicy
from orchestrator.identity.principals import SYSTEM
from tests.unit.booking.world import (
    ADMIN,
    EE_OPERATOR,
    EE_OPS_TRAINER,
    FI_OPERATOR,
    FI_OPS_TRAINER,
    FOREIGN,
    TRAINER,
    World,
    at,
    request,
    rng,
)

S = BookingStatus


def test_two_ranges_all_or_nothing() -> None:
    w = World()
    with pytest.raises(Refused) as refused:
        w.service.create_request(
            TRAINER, request(("ee", Resources(8000, 0, 4)), ("fi", Resources(20000, 0, 1)))
        )
    assert refused.value.reasons == [
        "fi-range: free 16000 cpu millicores < 20000 needed at 2027-03-04T09:00:00+00:00"
    ]
    assert w.store.bookings == {} and w.store.audit == []  # nothing on ee-range either

    made = w.service.create_request(
        TRAINER, request(("fi", Resources(8000, 0, 4)), ("ee", Resources(8000, 0, 4)))
    )
    assert [b.range_id for b in made.bookings] == ["fi", "ee"]
    assert {b.status for b in made.bookings} == {S.HELD}
    assert {b.request_id for b in made.bookings} == {made.request_id}
    assert [e.action for e in w.store.audit] == ["booking.create", "booking.create"]
    assert w.store.locked[-1] == ["ee", "fi"]  # locked in id order, whatever the request's order


def test_every_reason_is_listed_with_range_dimension_instant_and_amounts() -> None:
    w = World()
    w.store.put_range(
        rng("ee", maintenance=(MaintenanceWindow(start=at(2), end=at(3), reason="kernel upgrade"),))
    )
    w.service.create_request(TRAINER, request(("ee", Resources(6000, 0, 2)), start=1, end=2, hold=False))
    with pytest.raises(Refused) as refused:
        w.service.create_request(
            TRAINER, request(("ee", Resources(12000, 0, 7)), ("fi", Resources(1000, 40000, 0)))
        )
    assert refused.value.reasons == [
        "ee-range: free 0 cpu millicores < 12000 needed at 2027-03-04T11:00:00+00:00 "
        "(maintenance 2027-03-04T11:00:00+00:00 to 2027-03-04T12:00:00+00:00: kernel upgrade)",
        "ee-range: free 0 instance slots < 7 needed at 2027-03-04T11:00:00+00:00 "
        "(maintenance 2027-03-04T11:00:00+00:00 to 2027-03-04T12:00:00+00:00: kernel upgrade)",
        "fi-range: free 32768 memory MiB < 40000 needed at 2027-03-04T09:00:00+00:00",
    ]


def test_sharing_policy_rules_name_the_rule_and_spare_the_operator() -> None:
    w = World()
    policy = SharingPolicy(
        allowed_countries=frozenset({"EE", "FI"}),
        max_booking_length=timedelta(hours=3),
        min_lead_time=timedelta(days=2),
    )
    w.store.put_range(rng("ee", policy=policy))
    with pytest.raises(Refused) as refused:
        w.service.create_request(FOREIGN, request(("ee", Resources(1000))))
    assert refused.value.reasons == [
        "ee-range: sharing policy allows countries EE, FI; organisation 'Berlin lab' is from DE",
        "ee-range: window lasts 4 h; sharing policy allows at most 3 h",
        "ee-range: window starts 1 day from now (2027-03-04T09:00:00+00:00); "
        "sharing policy needs at least 2 days notice",
    ]
    made = w.service.create_request(EE_OPS_TRAINER, request(("ee", Resources(1000))))
    assert made.bookings[0].status is S.HELD
    w.store.put_range(rng("ee", status=RangeStatus.DRAINING))
    with pytest.raises(Refused, match="ee-range: range is draining; it takes no new bookings"):
        w.service.create_request(EE_OPS_TRAINER, request(("ee", Resources(1000))))


def test_foreign_share_caps_other_countries() -> None:
    w = World()
    w.store.put_range(rng("ee", policy=SharingPolicy(max_foreign_share=0.25)))
    w.service.create_request(FI_OPS_TRAINER, request(("ee", Resources(3000, 0, 1))))
    with pytest.raises(Refused) as refused:
        w.service.create_request(FOREIGN, request(("ee", Resources(2000, 0, 1))))
    assert refused.value.reasons == [
        "ee-range: sharing policy lets organisations from outside EE hold at most 4000 cpu millicores "
        "at once (25% of 16000); free for 'Berlin lab' (DE) 1000 < 2000 needed at 2027-03-04T09:00:00+00:00"
    ]
    # Domestic organisations are not capped by the share.
    assert w.service.create_request(TRAINER, request(("ee", Resources(12000, 0, 1)))).bookings


def test_holds_expire_and_free_capacity_at_once() -> None:
    w = World()
    held = w.service.create_request(TRAINER, request(("ee", Resources(16000, 0, 1)))).bookings[0]
    with pytest.raises(Refused):
        w.service.create_request(FOREIGN, request(("ee", Resources(1000))))
    w.clock.advance(timedelta(minutes=10))
    # Not marked yet, but its hold ran out: admission ignores it.
    assert w.store.bookings[held.id].status is S.HELD
    w.service.create_request(FOREIGN, request(("ee", Resources(16000))))
    with pytest.raises(Conflict, match="its hold expired at 2027-03-03T09:10:00"):
        w.service.confirm(TRAINER, Selection.booking(held.id))
    assert w.service.expire_holds() == 2 - 1  # the foreign hold is still live
    expired = w.store.bookings[held.id]
    assert (expired.status, expired.status_reason) == (S.EXPIRED, "hold expired at 2027-03-03T09:10:00+00:00")
    assert w.store.audit[-1].action == "booking.expire" and w.store.audit[-1].actor_name == "system"


class SteppingClock:
    """Each reading later than the one before: a request that waits for its range lock reads the clock
    again once it holds it."""

    def __init__(self, *readings: datetime) -> None:
        self.readings = list(readings)

    def now(self) -> datetime:
        return self.readings.pop(0) if len(self.readings) > 1 else self.readings[0]


@pytest.mark.parametrize(("expires_after", "admitted"), [(30, True), (90, False)])
def test_a_hold_that_expires_while_the_request_waits_for_the_lock(expires_after: int, admitted: bool) -> None:
    """The calendar comes with the lock, read with a clock reading from before the lock; the decision uses
    the reading taken once the lock is held, so a hold that ran out in between no longer counts."""
    w = World()
    held = w.service.create_request(TRAINER, request(("ee", Resources(16000, 0, 1)))).bookings[0]
    before = w.clock.now()
    w.store.bookings[held.id] = replace(held, hold_expires_at=before + timedelta(minutes=expires_after))
    w.clock = SteppingClock(before, before + timedelta(hours=1))  # type: ignore[assignment]
    if admitted:
        w.service.create_request(FOREIGN, request(("ee", Resources(16000))))
    else:
        with pytest.raises(Refused, match="ee-range: free 0 cpu millicores < 16000 needed"):
            w.service.create_request(FOREIGN, request(("ee", Resources(16000))))


def test_approval_confirm_request_approve_and_decline() -> None:
    w = World()
    w.store.put_range(
        rng("fi", country="FI", operator="fi-ops", policy=SharingPolicy(approval_required=True))
    )
    made = w.service.create_request(TRAINER, request(("ee", Resources(1000)), ("fi", Resources(1000))))
    ee, fi = made.bookings
    assert (fi.status, fi.status_reason) == (S.PENDING_APPROVAL, "waits for approval by fi-range")
    confirmed = w.service.confirm(TRAINER, Selection.request(made.request_id))
    assert [b.status for b in confirmed] == [S.CONFIRMED, S.PENDING_APPROVAL]
    with pytest.raises(Conflict, match="waits for approval by the range's operators"):
        w.service.confirm(TRAINER, Selection.booking(fi.id))
    with pytest.raises(Forbidden, match="only the operators of range 'fi-range' or an admin"):
        w.service.approve(TRAINER, fi.id)
    with pytest.raises(NotFound):
        w.service.approve(EE_OPERATOR, fi.id)  # another range's operators do not see it
    held = w.service.create_request(TRAINER, request(("ee", Resources(1000)))).bookings[0]
    with pytest.raises(Conflict, match="is held; only bookings pending approval are approved or declined"):
        w.service.approve(ADMIN, held.id)
    assert w.service.approve(ADMIN, ee.id).status is S.CONFIRMED  # already confirmed: nothing to do
    approved = w.service.approve(FI_OPERATOR, fi.id)
    assert (approved.status, approved.status_reason) == (S.CONFIRMED, "approved by fi-ops-operator")
    assert w.service.approve(FI_OPERATOR, fi.id).status is S.CONFIRMED  # idempotent

    other = w.service.create_request(TRAINER, request(("fi", Resources(1000)))).bookings[0]
    declined = w.service.decline(FI_OPERATOR, other.id, reason="national exercise that week")
    assert declined.status_reason == "declined by fi-ops-operator: national exercise that week"
    assert declined.status is S.REJECTED


def test_renew_extends_only_into_free_capacity_and_shrinks_freely() -> None:
    w = World()
    mine = w.service.create_request(TRAINER, request(("ee", Resources(8000)), hold=False)).bookings[0]
    w.service.create_request(FOREIGN, request(("ee", Resources(10000)), start=4, end=8, hold=False))
    with pytest.raises(Refused) as refused:
        w.service.renew(TRAINER, Selection.booking(mine.id), end=at(6))
    assert refused.value.reasons == [
        "ee-range: free 6000 cpu millicores < 8000 needed at 2027-03-04T13:00:00+00:00"
    ]
    assert [b.end for b in w.service.renew(TRAINER, Selection.booking(mine.id), end=at(2))] == [at(2)]
    with pytest.raises(InvalidInput, match="end: must be after the booking's start"):
        w.service.renew(TRAINER, Selection.booking(mine.id), end=at(0))
    [renewed] = w.service.renew(TRAINER, Selection.booking(mine.id), end=at(4))
    assert renewed.end == at(4)
    assert [e.action for e in w.store.audit].count("booking.renew") == 2


def test_renew_request_moves_every_booking_or_none() -> None:
    w = World()
    made = w.service.create_request(TRAINER, request(("ee", Resources(1000)), ("fi", Resources(1000))))
    w.service.create_request(FOREIGN, request(("fi", Resources(16000)), start=4, end=6))
    with pytest.raises(Refused, match="fi-range: free 0 cpu millicores < 1000 needed"):
        w.service.renew(TRAINER, Selection.request(made.request_id), end=at(6))
    assert {b.end for b in w.store.bookings.values() if b.request_id == made.request_id} == {at(4)}
    renewed = w.service.renew(TRAINER, Selection.request(made.request_id), end=at(3))
    assert [b.end for b in renewed] == [at(3), at(3)]


def test_idempotent_requests() -> None:
    w = World()
    first = w.service.create_request(TRAINER, request(("ee", Resources(1000)), request_id="exercise-7"))
    again = w.service.create_request(TRAINER, request(("ee", Resources(1000)), request_id="exercise-7"))
    assert again.replayed and [b.id for b in again.bookings] == [b.id for b in first.bookings]
    assert len(w.store.bookings) == 1
    with pytest.raises(Conflict, match="request_id 'exercise-7' was already used for another request"):
        w.service.create_request(TRAINER, request(("ee", Resources(2000)), request_id="exercise-7"))
    with pytest.raises(InvalidInput, match="request_id: 1 to 64 characters"):
        w.service.create_request(TRAINER, request(("ee", Resources(2000)), request_id="no spaces"))


def test_capacity_already_in_use_is_booked_active_from_its_admission() -> None:
    w = World()  # now is at(-24)
    made = w.service.create_request(
        TRAINER, request(("ee", Resources(8000)), start=-24, end=4, hold=False, active=True)
    )
    assert [b.status for b in made.bookings] == [S.ACTIVE]
    assert [e.action for e in w.store.audit] == ["booking.create"]  # no activation after it
    with pytest.raises(Refused, match="free 8000 cpu millicores < 9000"):  # it occupies like any other
        w.service.create_request(TRAINER, request(("ee", Resources(9000)), start=-24, end=4, hold=False))
    assert [b.status for b in w.service.release(TRAINER, Selection.booking(made.bookings[0].id))] == [
        S.RELEASED
    ]
    with pytest.raises(InvalidInput, match="active: a hold is confirmed later"):
        w.service.create_request(TRAINER, request(("ee", Resources(1000)), hold=True, active=True))
    with pytest.raises(InvalidInput, match="start: an active booking starts by now"):
        w.service.create_request(TRAINER, request(("ee", Resources(1000)), start=0, hold=False, active=True))
    assert len(w.store.bookings) == 1


def test_quota_counts_every_range_at_once() -> None:
    w = World()
    w.store.put_quota(Quota(organisation_id="ee-school", limit=Resources(10000, 100000, 10)))
    w.service.create_request(TRAINER, request(("ee", Resources(6000)), start=0, end=2))
    w.service.create_request(TRAINER, request(("fi", Resources(3000)), start=1, end=4))
    with pytest.raises(Refused) as refused:
        w.service.create_request(TRAINER, request(("ee", Resources(2000)), start=0, end=4))
    assert refused.value.reasons == [
        "quota of organisation 'Tallinn school' allows 10000 cpu millicores held at once; "
        "free 1000 < 2000 needed at 2027-03-04T10:00:00+00:00"
    ]
    assert w.service.create_request(TRAINER, request(("ee", Resources(1000)), start=0, end=4)).bookings


def test_transitions_follow_the_table() -> None:
    w = World()
    b = w.service.create_request(TRAINER, request(("ee", Resources(1000)))).bookings[0]
    one = Selection.booking(b.id)

    def statuses(moved: list[Booking]) -> list[BookingStatus]:
        return [m.status for m in moved]

    with pytest.raises(
        IllegalTransition, match=f"booking {b.id} on ee-range cannot move from held to active"
    ):
        w.service.activate(TRAINER, one)
    w.service.confirm(TRAINER, one)
    assert statuses(w.service.confirm(TRAINER, one)) == [S.CONFIRMED]  # idempotent
    assert statuses(w.service.activate(TRAINER, one)) == [S.ACTIVE]
    with pytest.raises(IllegalTransition, match="cannot move from active to cancelled"):
        w.service.cancel(TRAINER, one)
    assert statuses(w.service.release(TRAINER, one)) == [S.RELEASED]
    assert statuses(w.service.release(TRAINER, one)) == [S.RELEASED]
    with pytest.raises(Conflict, match="is released; it cannot be renewed"):
        w.service.renew(TRAINER, one, end=at(5))
    c = w.service.create_request(TRAINER, request(("ee", Resources(1000)))).bookings[0]
    [cancelled] = w.service.cancel(TRAINER, Selection.booking(c.id), reason="plans changed")
    assert cancelled.status_reason == "plans changed"
    assert statuses(w.service.cancel(TRAINER, Selection.booking(c.id))) == [S.CANCELLED]
    with pytest.raises(Forbidden, match=r"is operator$"):
        w.service.cancel(EE_OPERATOR, Selection.booking(c.id))  # sees it (its range), may not change it


def test_who_books_for_whom_and_who_sees_what() -> None:
    w = World()
    with pytest.raises(Forbidden, match="booking for another organisation needs role admin"):
        w.service.create_request(TRAINER, request(("ee", Resources(1000))), owner_organisation_id="de-lab")
    with pytest.raises(InvalidInput, match="owner_organisation_id: 'system' books on behalf"):
        w.service.create_request(SYSTEM, request(("ee", Resources(1000))))
    planned = w.service.create_request(
        SYSTEM,
        replace(request(("ee", Resources(1000))), purpose=Purpose.EXERCISE, reference="exercise-1"),
        owner_organisation_id="ee-school",
    ).bookings[0]
    assert (planned.owner_organisation_id, planned.created_by, planned.reference) == (
        "ee-school",
        "",
        "exercise-1",
    )
    w.service.create_request(FOREIGN, request(("fi", Resources(1000))))

    def seen(actor: object) -> list[str]:
        return sorted(
            b.owner_organisation_id
            for b in w.service.list_bookings(actor, BookingQuery(), page=1, page_size=50).items
        )  # type: ignore[arg-type]

    assert seen(TRAINER) == ["ee-school"]
    assert seen(EE_OPERATOR) == ["ee-school"]  # bookings on its range
    assert seen(FI_OPERATOR) == ["de-lab"]
    assert seen(ADMIN) == ["de-lab", "ee-school"]
    with pytest.raises(NotFound):
        w.service.get(FOREIGN, Selection.booking(planned.id))
    with pytest.raises(NotFound, match="range 'nowhere' does not exist"):
        w.service.create_request(TRAINER, request(("nowhere", Resources(1))))


def test_occupancy_for_placement_and_free_capacity_for_an_owner() -> None:
    w = World()
    w.store.put_range(rng("ee", policy=SharingPolicy(max_foreign_share=0.5)))
    w.service.create_request(FOREIGN, request(("ee", Resources(5000, 1024, 2))))
    w.service.create_request(TRAINER, request(("ee", Resources(4000, 0, 1)), start=2, end=6))
    occupancy = w.service.occupancy(["ee", "fi", "nowhere"], start=at(0), end=at(8))
    assert set(occupancy) == {"ee", "fi"}
    assert len(occupancy["ee"].intervals) == 2 and len(occupancy["ee"].foreign) == 1
    snapshot = w.store.ranges["ee"]
    domestic = free_for_owner(
        snapshot, occupancy["ee"], organisation_id="ee-school", country="EE", start=at(0), end=at(8)
    )
    assert domestic.free == Resources(7000, 31744, 5, 0)
    assert domestic.at["cpu_millicores"] == at(2)
    foreign = free_for_owner(
        snapshot, occupancy["ee"], organisation_id="de-lab", country="DE", start=at(0), end=at(8)
    )
    assert foreign.free == Resources(3000, 15360, 2, 0)
    assert foreign.limited_by["cpu_millicores"] == "foreign share"


def test_a_request_passes_over_the_bookings_a_move_does_not_concern_a_booking_alone_does_not() -> None:
    """The same verbs on one booking and on a request: a request leaves its ended bookings as they are
    (which ones, each move says), a booking named on its own must make the move; all or nothing."""
    w = World()
    for r in ("lt", "lv"):
        w.store.put_range(rng(r))
    made = w.service.create_request(
        TRAINER, request(*((r, Resources(1000)) for r in ("ee", "fi", "lt", "lv")), hold=False)
    )
    ee, fi, lt, lv = made.bookings
    for b, status in ((fi, S.EXPIRED), (lt, S.REJECTED), (lv, S.CANCELLED)):
        w.store.update_booking(replace(b, status=status))
    whole = Selection.request(made.request_id)

    def statuses(moved: list[Booking]) -> list[BookingStatus]:
        return [m.status for m in moved]

    # Renewing a request moves its live bookings only (and returns only those).
    assert [(b.id, b.end) for b in w.service.renew(TRAINER, whole, end=at(5))] == [(ee.id, at(5))]
    with pytest.raises(Conflict, match=f"booking {fi.id} on fi-range is expired; it cannot be renewed"):
        w.service.renew(TRAINER, Selection.booking(fi.id), end=at(5))
    with pytest.raises(IllegalTransition, match="cannot move from expired to cancelled"):
        w.service.cancel(TRAINER, Selection.booking(fi.id))
    # Activation passes over nothing: the expired booking stops the whole request.
    with pytest.raises(IllegalTransition, match=f"booking {fi.id} on fi-range cannot move from expired"):
        w.service.activate(TRAINER, whole)
    assert w.store.bookings[ee.id].status is S.CONFIRMED
    # Release passes over the expired, rejected and cancelled ones; a cancelled booking alone cannot.
    released = [S.RELEASED, S.EXPIRED, S.REJECTED, S.CANCELLED]
    assert statuses(w.service.release(TRAINER, whole)) == released
    with pytest.raises(IllegalTransition, match="cannot move from cancelled to released"):
        w.service.release(TRAINER, Selection.booking(lv.id))
    # Cancelling passes over expired and rejected ones only: a released booking stops it.
    with pytest.raises(IllegalTransition, match=f"booking {ee.id} on ee-range cannot move from released"):
        w.service.cancel(TRAINER, whole)
    with pytest.raises(Conflict, match="nothing to renew: the request has no held, pending, confirmed"):
        w.service.renew(TRAINER, whole, end=at(6))
    assert [e.action for e in w.store.audit].count("booking.release") == 1

    held = w.service.create_request(TRAINER, request(("ee", Resources(1000)), ("fi", Resources(1000))))
    w.store.update_booking(replace(held.bookings[1], status=S.REJECTED))
    cancelled = w.service.cancel(TRAINER, Selection.request(held.request_id), reason="moved")
    assert [(b.status, b.status_reason) for b in cancelled] == [(S.CANCELLED, "moved"), (S.REJECTED, "")]


def test_confirming_a_booking_that_waits_for_approval_alone_is_a_conflict_either_way() -> None:
    """A request of one booking is that booking: waiting for approval, there is nothing to confirm."""
    w = World()
    w.store.put_range(
        rng("fi", country="FI", operator="fi-ops", policy=SharingPolicy(approval_required=True))
    )
    made = w.service.create_request(TRAINER, request(("fi", Resources(1000))))
    for selection in (Selection.request(made.request_id), Selection.booking(made.bookings[0].id)):
        with pytest.raises(Conflict, match="on fi-range waits for approval by the range's operators"):
            w.service.confirm(TRAINER, selection)


def test_what_a_selection_is_called_in_refusals() -> None:
    w = World()
    made = w.service.create_request(TRAINER, request(("ee", Resources(1000))))
    (booking,) = made.bookings
    with pytest.raises(NotFound, match=r"^booking 'nope' does not exist or is not visible to you$"):
        w.service.confirm(TRAINER, Selection.booking("nope"))
    with pytest.raises(NotFound, match=r"^booking request 'nope' does not exist or is not visible to you$"):
        w.service.get(TRAINER, Selection.request("nope"))
    with pytest.raises(NotFound, match=f"^booking request '{made.request_id}' does not exist"):
        w.service.cancel(FOREIGN, Selection.request(made.request_id))
    with pytest.raises(Forbidden, match=r"^renewing a request: changing a booking .* is operator$"):
        w.service.renew(EE_OPERATOR, Selection.request(made.request_id), end=at(5))
    with pytest.raises(Forbidden, match=r"^releasing a booking: changing a booking .* is operator$"):
        w.service.release(EE_OPERATOR, Selection.booking(booking.id))
    assert w.service.get(EE_OPERATOR, Selection.request(made.request_id)) == [booking]
