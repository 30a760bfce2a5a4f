"""The trust issue's findings 3 and 8, over HTTP on both databases: a booking of an exercise changes only
through the exercise (a researcher of the trainer's organisation could release it); an operator token is
never issued in a training provider; booking idempotency keys are scoped per organisation; an operator's
audit log shows every organisation's bookings on its ranges."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from tests.integration.catalogue.helpers import auth, issue
from tests.integration.exercises.helpers import Federation, exercise_body

NOW = datetime(2030, 8, 1, 8, 0, tzinfo=UTC)
START = NOW + timedelta(days=2)
END = START + timedelta(hours=3)
RANGES = {"ee-range": ("EE", 4), "lv-range": ("LV", 4)}


def org_id(http: httpx.Client, admin: str, name: str) -> str:
    orgs = http.get("/api/v1/organisations", headers=auth(admin)).json()
    return next(o["id"] for o in orgs if o["name"] == name)


def manual(request_id: str) -> dict[str, object]:
    return {
        "start": START.isoformat(),
        "end": END.isoformat(),
        "purpose": "manual",
        "request_id": request_id,
        "items": [{"range": "ee-range", "demand": {"cpu_millicores": 500, "slots": 1}}],
    }


def test_an_exercise_booking_changes_only_through_its_exercise(
    http: httpx.Client, fed: Federation, clock: object
) -> None:
    created = http.post(
        "/api/v1/exercises", json=exercise_body(START, END, [("red", "EE")]), headers=auth(fed.trainer)
    )
    assert created.status_code == 201, created.text
    exercise = created.json()
    school = org_id(http, fed.admin, "Baltic cyber school")
    researcher = issue(http, fed.admin, school, "researcher", "school-researcher")
    [booking] = http.get(
        "/api/v1/bookings", params={"reference": exercise["id"]}, headers=auth(fed.trainer)
    ).json()["items"]

    for token in (researcher, fed.trainer):  # not even the trainer who made it, directly
        refused = http.post(f"/api/v1/bookings/{booking['id']}/release", headers=auth(token))
        assert refused.status_code == 403, refused.text
        assert "change it through the exercise" in refused.json()["detail"]
    still = http.get(f"/api/v1/bookings/{booking['id']}", headers=auth(fed.trainer)).json()
    assert still["status"] == "confirmed"
    # The researcher cannot cancel the exercise either; the trainer can, and the booking goes with it.
    cancel = f"/api/v1/exercises/{exercise['id']}/cancel"
    assert http.post(cancel, headers=auth(researcher)).status_code == 403
    assert http.post(cancel, headers=auth(fed.trainer)).status_code == 200
    gone = http.get(f"/api/v1/bookings/{booking['id']}", headers=auth(fed.trainer)).json()
    assert gone["status"] in ("cancelled", "released"), gone


def test_an_operator_token_is_not_issued_in_a_training_provider(
    http: httpx.Client, fed: Federation, clock: object
) -> None:
    school = org_id(http, fed.admin, "Baltic cyber school")
    refused = http.post(
        "/api/v1/tokens",
        json={"name": "school-ops", "organisation_id": school, "role": "operator"},
        headers=auth(fed.admin),
    )
    assert refused.status_code == 422, refused.text
    [problem] = refused.json()["errors"]
    assert problem["field"] == "role"
    assert (
        "training provider organisation holds researcher, trainer principals, not operator"
        in problem["reason"]
    )


def test_idempotency_keys_are_scoped_per_organisation(
    http: httpx.Client, fed: Federation, clock: object
) -> None:
    ours = http.post("/api/v1/bookings", json=manual("key-1"), headers=auth(fed.trainer))
    assert ours.status_code == 201, ours.text
    again = http.post("/api/v1/bookings", json=manual("key-1"), headers=auth(fed.trainer))
    assert again.status_code in (200, 201) and again.json()["request_id"] == ours.json()["request_id"]
    assert [b["id"] for b in again.json()["bookings"]] == [b["id"] for b in ours.json()["bookings"]]

    theirs = http.post("/api/v1/bookings", json=manual("key-1"), headers=auth(fed.other_trainer))
    assert theirs.status_code == 201, theirs.text  # a booking of their own, not a view of ours
    assert {b["id"] for b in theirs.json()["bookings"]}.isdisjoint(b["id"] for b in ours.json()["bookings"])
    assert all(
        b["owner_organisation_id"] != org_id(http, fed.admin, "Baltic cyber school")
        for b in theirs.json()["bookings"]
    )


def test_an_operators_audit_log_shows_every_booking_on_its_ranges(
    http: httpx.Client, fed: Federation, clock: object
) -> None:
    made = http.post("/api/v1/bookings", json=manual("audit-1"), headers=auth(fed.other_trainer))
    assert made.status_code == 201, made.text
    booking_id = made.json()["bookings"][0]["id"]
    seen = http.get(
        "/api/v1/audit", params={"object_id": booking_id}, headers=auth(fed.operators["ee-range"])
    )
    assert seen.status_code == 200
    assert [e["action"] for e in seen.json()["items"]] == ["booking.create"], seen.json()
    # The operator of another range does not see it.
    other = http.get(
        "/api/v1/audit", params={"object_id": booking_id}, headers=auth(fed.operators["lv-range"])
    )
    assert other.json()["items"] == []
