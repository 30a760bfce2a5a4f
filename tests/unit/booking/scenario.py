"""Random sequences of booking operations, run against the engine and the brute-force oracle side by side.

Shared by the unit property test (in-memory store) and the integration one (SQLite and PostgreSQL).
Times are slots of 30 minutes from T0; the engine sees datetimes, the oracle slot numbers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from hypothesis import strategies as st

from connectors.base import Resources
from orchestrator.booking.requests import BookingItem, BookingRequest
from orchestrator.booking.selection import Selection
from orchestrator.booking.service import BookingService
from orchestrator.domain.catalogue import Organisation
from orchestrator.domain.clock import FrozenClock
from orchestrator.domain.errors import Conflict, InvalidInput, Refused
from orchestrator.domain.ranges import MaintenanceWindow, OrganisationKind, RangeSnapshot, SharingPolicy
from orchestrator.identity.principals import Principal, Role
from tests.unit.booking.oracle import OBooking, Oracle, ORange, Vector

T0 = datetime(2027, 3, 1, tzinfo=UTC)
SLOT = timedelta(minutes=30)
HORIZON = 64


def at(slot: int) -> datetime:
    return T0 + SLOT * slot


ORGS = {"ee-ops": "EE", "fi-ops": "FI", "ee-school": "EE", "de-lab": "DE"}
RANGES = [
    ORange(
        id="ee",
        country="EE",
        operator="ee-ops",
        capacity=(8000, 16384, 4, 1),
        share="0.5",
        maintenance=[(30, 34)],
    ),
    ORange(
        id="fi",
        country="FI",
        operator="fi-ops",
        capacity=(4000, 8192, 2, 0),
        approval=True,
        allowed_countries=frozenset({"FI", "EE"}),
        max_length=16,
    ),
]
QUOTAS: dict[str, Vector] = {"ee-school": (6000, 100000, 5, 1)}


def snapshot(r: ORange) -> RangeSnapshot:
    return RangeSnapshot(
        id=r.id,
        slug=f"{r.id}-range",
        country=r.country,
        operator_organisation=r.operator,
        capabilities=frozenset({"k8s"}),
        capacity=Resources(*r.capacity),
        policy=SharingPolicy(
            allowed_countries=r.allowed_countries,
            max_foreign_share=float(r.share),
            approval_required=r.approval,
            max_booking_length=None if r.max_length is None else SLOT * r.max_length,
        ),
        maintenance=tuple(
            MaintenanceWindow(start=at(a), end=at(b), reason="patching") for a, b in r.maintenance
        ),
    )


def organisations() -> list[Organisation]:
    return [
        Organisation(
            id=o,
            name=o,
            handle=o,
            country=c,
            kind=OrganisationKind.RANGE_OPERATOR
            if o.endswith("-ops")
            else OrganisationKind.TRAINING_PROVIDER,
            created_at=T0,
        )
        for o, c in ORGS.items()
    ]


def principal(org: str, role: Role = Role.TRAINER) -> Principal:
    """A trainer of `org` books and changes its bookings (a range operator's organisation books its own
    ranges through its trainers: operators decide, they do not book)."""
    return Principal(
        id=f"p-{org}-{role.value}", name=org, organisation_id=org, organisation_country=ORGS[org], role=role
    )


# -- operations ------------------------------------------------------------------------------------
demands = st.tuples(
    st.sampled_from([0, 1000, 2000, 3000]),
    st.sampled_from([0, 2048, 4096]),
    st.sampled_from([0, 1, 2]),
    st.sampled_from([0, 0, 1]),
).filter(any)


@dataclass(frozen=True)
class Book:
    org: str
    items: tuple[tuple[str, Vector], ...]
    start: int
    length: int
    hold: bool


@dataclass(frozen=True)
class OnBooking:
    kind: str  # renew | confirm | cancel | approve
    pick: int
    new_end: int = 0


@dataclass(frozen=True)
class Advance:
    slots: int


@dataclass(frozen=True)
class Expire:
    pass


books = st.builds(
    Book,
    org=st.sampled_from(sorted(ORGS)),
    items=st.lists(
        st.tuples(st.sampled_from(["ee", "fi"]), demands), min_size=1, max_size=2, unique_by=lambda i: i[0]
    ).map(tuple),
    start=st.integers(0, 44),
    length=st.integers(1, 18),
    hold=st.booleans(),
)
on_bookings = st.builds(
    OnBooking,
    kind=st.sampled_from(["renew", "renew", "confirm", "cancel", "approve"]),
    pick=st.integers(0, 1000),
    new_end=st.integers(1, HORIZON - 2),
)
one_operation = st.one_of(
    books, books, on_bookings, st.builds(Advance, slots=st.integers(1, 6)), st.just(Expire())
)
operations = st.lists(one_operation, max_size=25)
long_operations = st.lists(one_operation, min_size=15, max_size=30)


# -- running both ------------------------------------------------------------------------------------
@dataclass
class Run:
    """Drives a BookingService (through `transaction`, which yields a service in a fresh unit of work)
    and the oracle with the same operations, and compares every decision."""

    transaction: Callable[[], AbstractContextManager[BookingService]]
    clock: FrozenClock
    oracle: Oracle = field(
        default_factory=lambda: Oracle(
            ranges={r.id: r for r in RANGES}, countries=dict(ORGS), quotas=dict(QUOTAS), hold_ttl=2
        )
    )
    ids: dict[str, str] = field(default_factory=dict)  # oracle key -> engine booking id
    now: int = 0
    admitted: int = 0

    def call(self, fn: Callable[[BookingService], object]) -> tuple[str, str]:
        """Run one use case in its own transaction: ('ok' | error kind, the refusal text)."""
        try:
            with self.transaction() as service:
                fn(service)
        except Refused as exc:
            return "refused", "\n".join(exc.reasons)
        except InvalidInput as exc:
            return "invalid", exc.reason
        except Conflict as exc:
            return "conflict", exc.reason
        return "ok", ""

    def apply(self, op: object, n: int) -> None:
        if isinstance(op, Advance):
            self.now += op.slots
            self.clock.set(at(self.now))
        elif isinstance(op, Expire):
            expected = self.oracle.expire(self.now)
            counted: list[int] = []
            outcome, _ = self.call(lambda s: counted.append(s.expire_holds()))
            assert outcome == "ok" and counted == [expected]
        elif isinstance(op, Book):
            self._book(op, n)
        elif isinstance(op, OnBooking) and self.ids:
            self._on_booking(op)

    def _book(self, op: Book, n: int) -> None:
        end = op.start + op.length
        expected, failing = self.oracle.book(
            str(n), op.org, list(op.items), op.start, end, hold=op.hold, now=self.now
        )
        request = BookingRequest(
            items=[BookingItem(range_ref=f"{r}-range", demand=Resources(*d)) for r, d in op.items],
            start=at(op.start),
            end=at(end),
            hold=op.hold,
        )
        made: list[list[str]] = []
        outcome, text = self.call(
            lambda s: made.append([b.id for b in s.create_request(principal(op.org), request).bookings])
        )
        self._compare(expected, failing, outcome, text, op)
        if outcome == "ok":
            self.admitted += 1
            for i, booking_id in enumerate(made[0]):
                self.ids[f"{n}/{i}"] = booking_id

    def _on_booking(self, op: OnBooking) -> None:
        keys = sorted(self.ids)
        key = keys[op.pick % len(keys)]
        booking_id = self.ids[key]
        owner = self.oracle.bookings[key].owner
        if op.kind == "renew":
            expected, failing = self.oracle.renew(key, op.new_end, now=self.now)
            one = Selection.booking(booking_id)
            outcome, text = self.call(lambda s: s.renew(principal(owner), one, end=at(op.new_end)))
            self._compare(expected, failing, outcome, text, op)
            return
        moves: dict[str, Callable[[BookingService], object]] = {
            "confirm": lambda s: s.confirm(principal(owner), Selection.booking(booking_id)),
            "cancel": lambda s: s.cancel(principal(owner), Selection.booking(booking_id)),
            "approve": lambda s: s.approve(principal("fi-ops", Role.OPERATOR), booking_id),
        }
        if op.kind == "approve" and self.oracle.bookings[key].range_id != "fi":
            return
        expected_move = getattr(self.oracle, op.kind)(
            key, **({"now": self.now} if op.kind == "confirm" else {})
        )
        outcome, text = self.call(moves[op.kind])
        assert (outcome == "conflict") == (expected_move == "conflict"), (op, outcome, text, expected_move)

    def _compare(self, expected: str, failing: set[str], outcome: str, text: str, op: object) -> None:
        got = {"ok": "admitted", "refused": "refused", "invalid": "invalid", "conflict": "conflict"}[outcome]
        assert got == expected, (
            f"{op} at slot {self.now}: engine {outcome} ({text}), oracle {expected} {failing}"
        )
        if outcome == "refused":
            named = {line.split("-range:")[0] for line in text.splitlines() if "-range:" in line}
            if any(line.startswith("quota of") for line in text.splitlines()):
                named.add("quota")
            assert named == failing, f"{op}: engine blames {named}, oracle {failing}:\n{text}"

    def check_state(self, engine_bookings: Iterator[tuple[str, str, datetime]]) -> None:
        """The engine's bookings match the oracle's (status and end), and nothing is overbooked."""
        seen = {booking_id: (status, end) for booking_id, status, end in engine_bookings}
        for key, booking_id in self.ids.items():
            b: OBooking = self.oracle.bookings[key]
            status, end = seen[booking_id]
            assert (status, end) == (b.status, at(b.end)), (key, status, end, b)
        assert self.oracle.overbooked(self.now, HORIZON) == []
