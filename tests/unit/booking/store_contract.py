"""The BookingStore contract, run over the in-memory fake (unit) and the SQL store on SQLite and
PostgreSQL (integration): every implementation must answer the same way.

Each run builds the same calendars (one seed) and reads them through every variant the store has
(`orchestrator.db.calendar_sql`: SQLite's portable statements, PostgreSQL's LATERAL statements and its
admission function in both its one-range and several-range forms; the in-memory index), comparing each
with the same expectation worked out from the bookings."""

from __future__ import annotations

import random
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import replace
from datetime import datetime, timedelta

from connectors.base import Resources
from orchestrator.booking.ports import BookingQuery, BookingStore, CalendarRead
from orchestrator.domain.bookings import Booking, BookingStatus, Occupant, Purpose, Quota
from orchestrator.identity.audit import AuditEvent
from tests.unit.booking.scenario import ORGS, T0

OpenStore = Callable[[], AbstractContextManager[BookingStore]]
S = BookingStatus
NOW = T0 + timedelta(days=10)


def booking(n: int, rnd: random.Random) -> Booking:
    start = T0 + timedelta(minutes=rnd.randrange(0, 60 * 24 * 40))
    length = timedelta(minutes=rnd.choice([5, 30, 60, 61, 180, 60 * 24, 60 * 24 * 9, 60 * 24 * 30]))
    status = rnd.choice(list(S))
    expires = NOW + timedelta(minutes=rnd.choice([-5, 0, 5])) if status is S.HELD else None
    org = rnd.choice(sorted(ORGS))
    return Booking(
        id=f"00000000-0000-0000-0000-{n:012d}",
        request_id=f"req-{n // 2}",
        range_id=["ee", "fi"][n % 2],
        range_slug=["ee-range", "fi-range"][n % 2],
        owner_organisation_id=org,
        owner_country=ORGS[org],
        created_by="",
        purpose=Purpose.EXERCISE,
        reference=f"ex-{n % 7}",
        start=start,
        end=start + length,
        demand=Resources(n, 2 * n, 1, 0),
        status=status,
        status_reason="",
        hold_expires_at=expires,
        created_at=T0,
        updated_at=T0,
    )


def event(b: Booking) -> AuditEvent:
    return AuditEvent(
        id=f"10000000-0000-0000-0000-{b.id[-12:]}",
        at=T0,
        actor_principal_id=None,
        actor_name="test",
        actor_organisation_id=None,
        action="booking.create",
        object_kind="booking",
        object_id=b.id,
        range_id=b.range_id,
        organisation_id=b.owner_organisation_id,
        after={"status": b.status.value},
    )


def occupying(b: Booking, start: object, end: object) -> bool:
    return b.start < end and b.end > start and b.occupies(NOW)  # type: ignore[operator]


def calendar_reads(store: BookingStore, start: datetime, end: datetime) -> dict[str, list[Occupant]]:
    """Every way the store reads a calendar over [start, end) (at NOW), by name."""
    window = CalendarRead(start=start, end=end, not_before=NOW)
    reads: dict[str, list[Occupant]] = {}
    for range_id in ("ee", "fi"):
        reads[f"occupants of {range_id}"] = store.occupants(range_id, start, end, now=NOW)
        alone = store.lock_ranges([range_id], calendar=window).calendars
        assert list(alone) == [range_id]
        reads[f"locked alone {range_id}"] = alone[range_id]
    together = store.lock_ranges(["fi", "ee-range"], calendar=window).calendars
    assert list(together) == ["ee", "fi"]
    reads.update({f"locked together {range_id}": c for range_id, c in together.items()})
    for org in sorted(ORGS):
        reads[f"owned by {org}"] = store.occupants_owned(org, start, end, now=NOW)
        # Read with the locks where the store does (PostgreSQL: the admission call, for an owner with a
        # quota), otherwise by the caller as above.
        owned = store.lock_ranges(["ee"], owner_organisation_id=org, calendar=window).owned
        reads[f"owned with the locks by {org}"] = (
            store.occupants_owned(org, start, end, now=NOW) if owned is None else owned
        )
    return reads


def expected_reads(made: list[Booking], start: datetime, end: datetime) -> dict[str, list[Occupant]]:
    """What `calendar_reads` must return, worked out from the bookings themselves."""

    def calendar(key: str, value: str) -> list[Occupant]:
        found = (b for b in made if getattr(b, key) == value and occupying(b, start, end))
        return [b.occupant() for b in sorted(found, key=lambda b: (b.start, b.id))]

    reads: dict[str, list[Occupant]] = {}
    for range_id in ("ee", "fi"):
        for name in ("occupants of", "locked alone", "locked together"):
            reads[f"{name} {range_id}"] = calendar("range_id", range_id)
    for org in sorted(ORGS):
        reads[f"owned by {org}"] = calendar("owner_organisation_id", org)
        reads[f"owned with the locks by {org}"] = calendar("owner_organisation_id", org)
    return reads


def check_contract(open_store: OpenStore, audit_actions: Callable[[], list[str]]) -> None:
    rnd = random.Random(5)
    made = [booking(n, rnd) for n in range(240)]
    with open_store() as store:
        store.add_bookings(made[:2], audit=[event(b) for b in made[:2]])
        store.add_bookings(made[2:])
    assert audit_actions() == ["booking.create", "booking.create"]

    with open_store() as store:
        # Every calendar read (occupants; the calendars read with the locks, one range alone and two
        # together: on PostgreSQL the admission function's two forms; an owner's) gives exactly the
        # occupying bookings overlapping the window, by start, each hold with its expiry.
        for org in ORGS:  # an owner's calendar comes with the locks only when it has a quota
            store.put_quota(Quota(organisation_id=org, limit=Resources(1, 1, 1, 1)))
        seen = 0
        for _ in range(40):
            start = T0 + timedelta(minutes=rnd.randrange(0, 60 * 24 * 45))
            end = start + timedelta(minutes=rnd.choice([1, 60, 600, 60 * 24 * 3]))
            expected = expected_reads(made, start, end)
            assert calendar_reads(store, start, end) == expected
            seen += sum(len(calendar) for calendar in expected.values())

        assert seen > 100  # the windows did hit bookings
        for org in ORGS:
            store.delete_quota(org)

        # Ranges by id or slug, locked in id order; the owner and its quota in the same read.
        store.put_quota(Quota(organisation_id="ee-school", limit=Resources(9, 9, 9, 9)))
        locked = store.lock_ranges(["fi-range", "ee", "nowhere"], owner_organisation_id="ee-school")
        assert [s.id for s in locked.ranges] == ["ee", "fi"]
        assert locked.ranges[0].maintenance[0].reason == "patching"
        assert locked.owner is not None and locked.owner.country == "EE"
        assert locked.quota == Quota(organisation_id="ee-school", limit=Resources(9, 9, 9, 9))
        bare = store.lock_ranges(["fi"], owner_organisation_id="de-lab")
        assert bare.owner is not None and bare.quota is None
        assert store.lock_ranges(["fi"]).owner is None
        assert store.lock_ranges(["fi"]).calendars == {}
        assert [s.slug for s in store.all_range_snapshots()] == ["ee-range", "fi-range"]

        # Reads and updates.
        first = made[0]
        assert store.get_booking(first.id, for_update=True) == first
        assert [b.id for b in store.bookings_of_request("req-3")] == [made[6].id, made[7].id]
        live = next(b for b in made if b.status is S.CONFIRMED)
        store.update_booking(replace(live, status=S.CANCELLED, status_reason="gone"))
        assert live.id not in {
            o.booking_id for o in store.occupants(live.range_id, live.start, live.end, now=NOW)
        }
        longer = replace(live, status=S.ACTIVE, end=live.end + timedelta(days=60))
        store.update_booking(longer)
        late = longer.end - timedelta(minutes=1)
        assert live.id in {o.booking_id for o in store.occupants(live.range_id, late, longer.end, now=NOW)}
        assert store.get_booking(live.id) == longer

        expired = store.expired_holds(now=NOW, limit=1000)
        want_expired = [
            b
            for b in made
            if b.status is S.HELD and b.hold_expires_at is not None and b.hold_expires_at <= NOW
        ]
        assert {b.id for b in expired} == {b.id for b in want_expired}
        assert [b.hold_expires_at for b in expired] == sorted(b.hold_expires_at for b in expired)  # type: ignore[type-var]
        assert len(store.expired_holds(now=NOW, limit=3)) == 3

        # Listing: who sees what, filters, pages, totals.
        def listed(query: BookingQuery, limit: int = 1000, offset: int = 0) -> tuple[list[str], int]:
            items, total = store.list_bookings(query, limit=limit, offset=offset)
            return [b.id for b in items], total

        everyone, total = listed(BookingQuery())
        assert total == len(made) and len(everyone) == len(made)
        current = {b.id: store.get_booking(b.id) for b in made}
        ordered = sorted(current.values(), key=lambda b: (b.start, b.id))  # type: ignore[union-attr]
        assert everyone == [b.id for b in ordered]  # type: ignore[union-attr]
        page, total = listed(BookingQuery(), limit=10, offset=20)
        assert page == everyone[20:30] and total == len(made)
        own, _ = listed(BookingQuery(visible_to="fi-ops"))
        assert set(own) == {b.id for b in made if b.owner_organisation_id == "fi-ops"}
        operated, _ = listed(BookingQuery(visible_to="fi-ops", include_operated=True))
        assert set(operated) == {
            b.id for b in made if b.owner_organisation_id == "fi-ops" or b.range_id == "fi"
        }
        window = (T0 + timedelta(days=3), T0 + timedelta(days=4))
        filtered, total = listed(
            BookingQuery(
                range_id="ee",
                statuses=frozenset({S.HELD, S.PENDING_APPROVAL}),
                reference="ex-3",
                start=window[0],
                end=window[1],
            )
        )
        expected = [
            b.id
            for b in ordered
            if b is not None
            and b.range_id == "ee"
            and b.status in {S.HELD, S.PENDING_APPROVAL}
            and b.reference == "ex-3"
            and b.start < window[1]
            and b.end > window[0]
        ]
        assert filtered == expected and total == len(expected)
        assert set(listed(BookingQuery(request_id="req-5"))[0]) == {made[10].id, made[11].id}

        # Quotas.
        store.put_quota(Quota(organisation_id="ee-school", limit=Resources(1, 2, 3, 4)))
        assert store.get_quota("ee-school", for_update=True) == Quota(
            organisation_id="ee-school", limit=Resources(1, 2, 3, 4)
        )
        assert store.delete_quota("ee-school") and not store.delete_quota("ee-school")
        assert store.get_quota("ee-school") is None
        assert store.organisation("de-lab") is not None and store.organisation("nobody") is None
