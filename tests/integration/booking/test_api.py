"""The booking story over HTTP, on SQLite and PostgreSQL: book across ranges all or nothing, refusals
with their exact reasons, holds that expire, approval, renew, quotas, idempotency, who sees what."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from orchestrator.domain.clock import FrozenClock
from orchestrator.scheduler.ticks import action_runner, all_ticks, expire_holds
from orchestrator.wiring import Services
from tests.integration.booking.helpers import book, demand, federation
from tests.integration.catalogue.helpers import auth

NOW = datetime(2030, 3, 1, 8, 0, tzinfo=UTC)
START = "2030-03-04T09:00:00+00:00"
END = "2030-03-04T17:00:00+00:00"


@pytest.fixture
def clock(services: Services) -> FrozenClock:
    frozen = FrozenClock(NOW)
    services.clock = frozen
    return frozen


def window(**extra: object) -> dict[str, object]:
    return {"start": START, "end": END, "purpose": "manual", **extra}


def test_multi_range_booking_all_or_nothing_with_reasons(
    http: httpx.Client, admin_token: str, clock: FrozenClock
) -> None:
    fed = federation(http, admin_token)
    items = [
        {"range": "ee-range", "demand": demand(cpu=32000, memory=65536, slots=10)},
        {"range": "fi-range", "demand": demand(cpu=8000, memory=16384, slots=4)},
    ]
    created = book(http, fed.trainer, window(items=items, reference="exercise-1"))
    assert created.status_code == 201, created.text
    body = created.json()
    assert [b["range"] for b in body["bookings"]] == ["ee-range", "fi-range"]
    assert {b["status"] for b in body["bookings"]} == {"held"}
    assert body["bookings"][0]["hold_expires_at"] == "2030-03-01T08:10:00Z"
    assert len({b["request_id"] for b in body["bookings"]}) == 1

    # The second range lacks capacity: nothing is booked on the first either.
    items = [
        {"range": "ee-range", "demand": demand(cpu=16000, slots=2)},
        {"range": "fi-range", "demand": demand(cpu=12000, slots=2)},
    ]
    refused = book(http, fed.trainer, window(items=items))
    assert refused.status_code == 409
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.json()["reasons"] == [
        "fi-range: free 8000 cpu millicores < 12000 needed at 2030-03-04T09:00:00+00:00"
    ]
    listed = http.get("/api/v1/bookings", params={"range": "ee-range"}, headers=auth(fed.trainer)).json()
    assert listed["total"] == 1

    # A German lab is not in ee-range's allow-list; the refusal names the rule and both sides.
    german = book(http, fed.de_trainer, window(range="ee-range", demand=demand(cpu=1000)))
    assert german.status_code == 409
    assert german.json()["reasons"] == [
        "ee-range: sharing policy allows countries EE, FI; organisation 'Berlin lab' is from DE"
    ]

    # The hold expires: its capacity is free for admission at once, and the tick marks it EXPIRED.
    clock.advance(timedelta(minutes=11))
    late = http.post(f"/api/v1/booking-requests/{body['request_id']}/confirm", headers=auth(fed.trainer))
    assert late.status_code == 409
    assert "its hold expired at 2030-03-01T08:10:00+00:00" in late.json()["detail"]
    again = book(http, fed.trainer, window(items=items))
    assert again.status_code == 201, again.text


def test_lifecycle_confirm_renew_cancel_release_and_illegal_moves(
    http: httpx.Client, admin_token: str, clock: FrozenClock, services: Services
) -> None:
    fed = federation(http, admin_token)
    created = book(http, fed.trainer, window(range="fi-range", demand=demand(cpu=8000, slots=4)))
    booking = created.json()["bookings"][0]
    bid = booking["id"]
    confirmed = http.post(f"/api/v1/bookings/{bid}/confirm", headers=auth(fed.trainer))
    assert confirmed.status_code == 200
    assert confirmed.json()["status"] == "confirmed"
    assert confirmed.json()["hold_expires_at"] is None

    # Another booking takes the evening; extending into it is refused with the instant and amounts.
    evening = book(
        http,
        fed.trainer,
        {"range": "fi-range", "demand": demand(cpu=10000), "start": END, "end": "2030-03-04T21:00:00Z"},
    )
    assert evening.status_code == 201
    longer = http.post(
        f"/api/v1/bookings/{bid}/renew", json={"end": "2030-03-04T19:00:00Z"}, headers=auth(fed.trainer)
    )
    assert longer.status_code == 409
    assert longer.json()["reasons"] == [
        "fi-range: free 6000 cpu millicores < 8000 needed at 2030-03-04T17:00:00+00:00"
    ]
    shorter = http.post(
        f"/api/v1/bookings/{bid}/renew", json={"end": "2030-03-04T15:00:00Z"}, headers=auth(fed.trainer)
    )
    assert shorter.status_code == 200
    assert shorter.json()["end"] == "2030-03-04T15:00:00Z"

    # Someone else's booking: hidden from another organisation, but its range's operator sees it.
    assert http.get(f"/api/v1/bookings/{bid}", headers=auth(fed.de_trainer)).status_code == 404
    assert http.get(f"/api/v1/bookings/{bid}", headers=auth(fed.fi_ops)).status_code == 200
    assert http.get(f"/api/v1/bookings/{bid}", headers=auth(fed.ee_ops)).status_code == 404
    denied = http.post(f"/api/v1/bookings/{bid}/cancel", headers=auth(fed.fi_ops))
    assert denied.status_code == 403

    activated = http.post(f"/api/v1/bookings/{bid}/activate", headers=auth(fed.trainer))
    assert activated.json()["status"] == "active"
    illegal = http.post(f"/api/v1/bookings/{bid}/cancel", headers=auth(fed.trainer))
    assert illegal.status_code == 409
    assert illegal.json()["title"] == "Illegal state transition"
    assert illegal.json()["detail"] == f"booking {bid} on fi-range cannot move from active to cancelled"
    released = http.post(f"/api/v1/bookings/{bid}/release", headers=auth(fed.trainer))
    assert released.json()["status"] == "released"

    audit = http.get("/api/v1/audit", params={"object_id": bid}, headers=auth(admin_token)).json()
    actions = sorted(e["action"] for e in audit["items"])  # all at the same frozen instant
    assert actions == [
        "booking.activate",
        "booking.confirm",
        "booking.create",
        "booking.release",
        "booking.renew",
    ]

    # Holds that nobody confirms: the expire-holds tick marks them EXPIRED with an audit event.
    held = book(http, fed.trainer, window(range="ee-range", demand=demand(slots=1))).json()["bookings"][0]
    clock.advance(timedelta(hours=1))
    assert "expire-holds" in [t.name for t in all_ticks(services, action_runner(services))]
    assert expire_holds(services) == 2  # this one and the evening booking
    expired = http.get(f"/api/v1/bookings/{held['id']}", headers=auth(fed.trainer)).json()
    assert expired["status"] == "expired"
    assert expired["status_reason"] == "hold expired at 2030-03-01T08:10:00+00:00"
    assert expire_holds(services) == 0


def test_approval_foreign_share_idempotency_and_quota(
    http: httpx.Client, admin_token: str, clock: FrozenClock
) -> None:
    fed = federation(http, admin_token, fi_policy={"approval_required": True})
    pending = book(http, fed.trainer, window(range="fi-range", demand=demand(cpu=4000, slots=2)))
    booking = pending.json()["bookings"][0]
    assert booking["status"] == "pending_approval"
    hidden = http.post(f"/api/v1/bookings/{booking['id']}/approve", headers=auth(fed.ee_ops))
    assert hidden.status_code == 404  # another range's operators do not even see it
    not_theirs = http.post(f"/api/v1/bookings/{booking['id']}/approve", headers=auth(fed.trainer))
    assert not_theirs.status_code == 403
    assert "only the operators of range 'fi-range' or an admin" in not_theirs.json()["detail"]
    early = http.post(f"/api/v1/bookings/{booking['id']}/confirm", headers=auth(fed.trainer))
    assert early.status_code == 409
    approved = http.post(f"/api/v1/bookings/{booking['id']}/approve", headers=auth(fed.fi_ops))
    assert approved.status_code == 200
    assert approved.json()["status"] == "confirmed"

    other = book(http, fed.trainer, window(range="fi-range", demand=demand(cpu=1000, slots=1)))
    declined = http.post(
        f"/api/v1/bookings/{other.json()['bookings'][0]['id']}/decline",
        json={"reason": "range reserved for national exercise"},
        headers=auth(fed.fi_ops),
    )
    assert declined.json()["status"] == "rejected"
    assert declined.json()["status_reason"] == "declined by fi-ops: range reserved for national exercise"

    # The FI operator's organisation is foreign to ee-range, which shares at most half of each dimension.
    fi_trainer_org = fed.fi_org
    first = book(http, fed.fi_staff, window(range="ee-range", demand=demand(cpu=30000, slots=2)))
    assert first.status_code == 201, first.text
    over = book(http, fed.fi_staff, window(range="ee-range", demand=demand(cpu=4000)))
    assert over.status_code == 409
    assert over.json()["reasons"] == [
        "ee-range: sharing policy lets organisations from outside EE hold at most 32000 cpu millicores "
        "at once (50% of 64000); free for 'JYVSECTEC' (FI) 2000 < 4000 needed at 2030-03-04T09:00:00+00:00"
    ]

    # The same Idempotency-Key twice books once; reused for another request it is a conflict.
    key = {"Idempotency-Key": "exercise-42-attempt-1"}
    one = book(http, fed.trainer, window(range="ee-range", demand=demand(cpu=1000)), **key)
    two = book(http, fed.trainer, window(range="ee-range", demand=demand(cpu=1000)), **key)
    assert (one.status_code, two.status_code) == (201, 200)
    assert two.json()["replayed"] is True
    assert one.json()["bookings"][0]["id"] == two.json()["bookings"][0]["id"]
    clash = book(http, fed.trainer, window(range="ee-range", demand=demand(cpu=2000)), **key)
    assert clash.status_code == 409
    assert "request_id 'exercise-42-attempt-1' was already used" in clash.json()["detail"]

    # Quotas: admins set them; members read theirs; admission enforces them across ranges.
    assert (
        http.put(
            f"/api/v1/organisations/{fed.school_org}/quota", json=demand(cpu=10000), headers=auth(fed.trainer)
        ).status_code
        == 403
    )
    put = http.put(
        f"/api/v1/organisations/{fed.school_org}/quota",
        json=demand(cpu=10000, memory=65536, slots=10),
        headers=auth(admin_token),
    )
    assert put.status_code == 200, put.text
    mine = http.get(f"/api/v1/organisations/{fed.school_org}/quota", headers=auth(fed.trainer)).json()
    assert mine["limit"]["cpu_millicores"] == 10000
    # Held now: 4000 (fi, confirmed) + 1000 (ee, idempotent one) = 5000 cpu.
    quota = book(http, fed.trainer, window(range="ee-range", demand=demand(cpu=6000)))
    assert quota.status_code == 409
    assert quota.json()["reasons"] == [
        "quota of organisation 'Tallinn school' allows 10000 cpu millicores held at once; "
        "free 5000 < 6000 needed at 2030-03-04T09:00:00+00:00"
    ]
    assert book(http, fed.trainer, window(range="ee-range", demand=demand(cpu=5000))).status_code == 201
    removed = http.delete(f"/api/v1/organisations/{fed.school_org}/quota", headers=auth(admin_token))
    assert removed.status_code == 204
    assert fi_trainer_org


def test_listing_scopes_availability_and_search(
    http: httpx.Client, admin_token: str, clock: FrozenClock
) -> None:
    fed = federation(http, admin_token)
    book(http, fed.trainer, window(range="ee-range", demand=demand(cpu=16000, slots=4), hold=False))
    book(http, fed.fi_staff, window(range="fi-range", demand=demand(cpu=16000, slots=8)))
    book(http, fed.fi_staff, window(range="ee-range", demand=demand(cpu=8000, slots=1)))

    def ranges_seen(token: str) -> list[str]:
        items = http.get("/api/v1/bookings", headers=auth(token)).json()["items"]
        return sorted(f"{b['range']}:{b['owner_organisation_id'][:4]}" for b in items)

    assert len(http.get("/api/v1/bookings", headers=auth(admin_token)).json()["items"]) == 3
    assert ranges_seen(fed.trainer) == [f"ee-range:{fed.school_org[:4]}"]
    # The EE operator sees the bookings on its range (both owners), not the FI range's.
    assert ranges_seen(fed.ee_ops) == sorted([f"ee-range:{fed.school_org[:4]}", f"ee-range:{fed.fi_org[:4]}"])
    # The FI operator sees its range's bookings and its own organisation's booking on ee-range.
    assert ranges_seen(fed.fi_ops) == sorted([f"ee-range:{fed.fi_org[:4]}", f"fi-range:{fed.fi_org[:4]}"])
    confirmed = http.get(
        "/api/v1/bookings", params={"status": ["confirmed"]}, headers=auth(admin_token)
    ).json()
    assert [b["status"] for b in confirmed["items"]] == ["confirmed"]

    free = http.get(
        "/api/v1/ranges/ee-range/availability",
        params={"start": "2030-03-04T08:00:00Z", "end": "2030-03-04T18:00:00Z", "step": 3600 * 5},
        headers=auth(fed.fi_ops),
    )
    assert free.status_code == 200, free.text
    slots = free.json()["slots"]
    assert [s["free"]["cpu_millicores"] for s in slots] == [40000, 40000]
    # For the FI organisation (foreign, 50% share): 32000 minus its own 8000.
    assert [s["free_for_organisation"]["cpu_millicores"] for s in slots] == [24000, 24000]
    too_fine = http.get(
        "/api/v1/ranges/ee-range/availability",
        params={"start": "2030-03-01T00:00:00Z", "end": "2031-03-01T00:00:00Z", "step": 60},
        headers=auth(fed.fi_ops),
    )
    assert too_fine.status_code == 422
    assert too_fine.json()["errors"][0]["field"] == "step"

    search = http.post(
        "/api/v1/availability/search",
        json={
            "demand": demand(cpu=16000, slots=4),
            "duration_minutes": 240,
            "earliest_start": "2030-03-04T10:00:00Z",
            "latest_end": "2030-03-05T12:00:00Z",
        },
        headers=auth(fed.trainer),
    )
    assert search.status_code == 200, search.text
    result = search.json()
    hits = {h["range"]: h["start"] for h in result["hits"]}
    # ee-range has 40000 free; fi-range is full until the held window ends at 17:00.
    assert hits == {"ee-range": "2030-03-04T10:00:00Z", "fi-range": "2030-03-04T17:00:00Z"}
    assert result["misses"] == []


def test_bad_booking_input_names_the_field(http: httpx.Client, admin_token: str, clock: FrozenClock) -> None:
    fed = federation(http, admin_token)
    cases = [
        ({"range": "ee-range", "demand": demand(cpu=1), "start": END, "end": START}, "end"),
        ({"range": "ee-range", "demand": demand(), "start": START, "end": END}, "items[0].demand"),
        ({"range": "ee-range", "start": START, "end": END}, "body"),
        (
            {"range": "ee-range", "demand": demand(cpu=-1), "start": START, "end": END},
            "demand.cpu_millicores",
        ),
        ({"range": "ee-range", "demand": demand(cpu=1), "start": "2030-03-04T09:00:00", "end": END}, "start"),
        (
            {
                "items": [
                    {"range": "ee-range", "demand": demand(cpu=1)},
                    {"range": "ee-range", "demand": demand(cpu=1)},
                ],
                "start": START,
                "end": END,
            },
            "items[1].range",
        ),
    ]
    for body, field in cases:
        r = book(http, fed.trainer, body)
        assert r.status_code == 422, (body, r.text)
        assert field in [e["field"] for e in r.json()["errors"]], r.json()
    unknown = book(http, fed.trainer, window(range="xx-range", demand=demand(cpu=1)))
    assert unknown.status_code == 404
    assert unknown.json()["detail"] == "range 'xx-range' does not exist"
    for_other = book(
        http, fed.trainer, window(range="ee-range", demand=demand(cpu=1), owner_organisation_id=fed.de_org)
    )
    assert for_other.status_code == 403
    past = book(
        http,
        fed.trainer,
        {
            "range": "ee-range",
            "demand": demand(cpu=1),
            "start": "2020-01-01T00:00:00Z",
            "end": "2020-01-02T00:00:00Z",
        },
    )
    assert past.status_code == 422
    assert past.json()["errors"] == [
        {"field": "end", "reason": "is in the past (now is 2030-03-01T08:00:00+00:00)"}
    ]


def test_a_whole_request_moves_together(http: httpx.Client, admin_token: str, clock: FrozenClock) -> None:
    fed = federation(http, admin_token)
    items = [
        {"range": "ee-range", "demand": demand(cpu=1000, slots=1)},
        {"range": "fi-range", "demand": demand(cpu=1000, slots=1)},
    ]
    made = book(http, fed.trainer, window(items=items)).json()
    path = f"/api/v1/booking-requests/{made['request_id']}"
    for action, status in (("confirm", "confirmed"), ("activate", "active"), ("release", "released")):
        moved = http.post(f"{path}/{action}", headers=auth(fed.trainer))
        assert moved.status_code == 200, moved.text
        assert [b["status"] for b in moved.json()["bookings"]] == [status, status]
    again = http.post(f"{path}/cancel", headers=auth(fed.trainer))
    assert again.status_code == 409  # released bookings cannot be cancelled
    assert http.get(path, headers=auth(fed.de_trainer)).status_code == 404
    shown = http.get(path, headers=auth(fed.trainer)).json()["bookings"]
    assert sorted(b["range"] for b in shown) == ["ee-range", "fi-range"]


def test_each_transition_answers_the_same_on_a_booking_and_on_its_request(
    http: httpx.Client, admin_token: str, clock: FrozenClock
) -> None:
    """The two paths of a verb: one booking answers with the booking, a request with every booking it has
    (in range order); bodies, refusals and their wording as each path has them."""
    fed = federation(http, admin_token)
    items = [
        {"range": "fi-range", "demand": demand(cpu=1000, slots=1)},
        {"range": "ee-range", "demand": demand(cpu=1000, slots=1)},
    ]
    made = book(http, fed.trainer, window(items=items)).json()
    request = f"/api/v1/booking-requests/{made['request_id']}"
    by_range = {b["range"]: b["id"] for b in made["bookings"]}
    in_range_order = [b["range"] for b in sorted(made["bookings"], key=lambda b: b["range_id"])]
    ee = f"/api/v1/bookings/{by_range['ee-range']}"
    trainer = auth(fed.trainer)

    renewed = http.post(f"{request}/renew", json={"end": "2030-03-04T15:00:00Z"}, headers=trainer)
    assert renewed.status_code == 200, renewed.text
    body = renewed.json()
    assert (body["request_id"], body["replayed"]) == (made["request_id"], False)
    assert [(b["range"], b["end"]) for b in body["bookings"]] == [
        (r, "2030-03-04T15:00:00Z") for r in in_range_order
    ]
    one = http.post(f"{ee}/renew", json={"end": "2030-03-04T16:00:00Z"}, headers=trainer)
    assert (one.json()["id"], one.json()["end"]) == (by_range["ee-range"], "2030-03-04T16:00:00Z")
    for path in (request, ee):
        missing = http.post(f"{path}/renew", json={}, headers=trainer)
        assert missing.status_code == 422
        assert [e["field"] for e in missing.json()["errors"]] == ["end"]

    confirmed = http.post(f"{ee}/confirm", headers=trainer)
    assert confirmed.json()["status"] == "confirmed"
    assert http.post(f"{ee}/cancel", json={"reason": "moved"}, headers=trainer).json()["status_reason"] == (
        "moved"
    )
    # The request's cancellation leaves the cancelled booking as it is and cancels the held one.
    cancelled = http.post(f"{request}/cancel", headers=trainer)
    assert cancelled.status_code == 200, cancelled.text
    reasons = {"ee-range": "moved", "fi-range": "cancelled"}
    assert [(b["range"], b["status"], b["status_reason"]) for b in cancelled.json()["bookings"]] == [
        (r, "cancelled", reasons[r]) for r in in_range_order
    ]
    released = http.post(f"{request}/release", headers=trainer)
    assert released.status_code == 200  # cancelled bookings: nothing to release
    assert [b["status"] for b in released.json()["bookings"]] == ["cancelled", "cancelled"]
    nothing = http.post(f"{request}/renew", json={"end": "2030-03-04T18:00:00Z"}, headers=trainer)
    assert nothing.status_code == 409
    assert nothing.json()["detail"] == (
        "nothing to renew: the request has no held, pending, confirmed or active booking"
    )
    assert http.post(f"{ee}/release", headers=trainer).status_code == 409

    unknown = http.post("/api/v1/booking-requests/nope/activate", headers=trainer)
    assert (unknown.status_code, unknown.json()["detail"]) == (
        404,
        "booking request 'nope' does not exist or is not visible to you",
    )
    unknown = http.post("/api/v1/bookings/nope/activate", headers=trainer)
    assert unknown.json()["detail"] == "booking 'nope' does not exist or is not visible to you"
    denied = http.post(f"{request}/confirm", headers=auth(fed.fi_ops))  # sees fi's booking, not its owner
    assert denied.status_code == 403
    assert denied.json()["detail"].startswith("confirming a request: changing a booking")
