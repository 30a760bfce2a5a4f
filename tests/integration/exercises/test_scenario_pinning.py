"""Scenarios are owned and pinned (the trust issue's finding 1): an organisation's upload never changes
what another organisation's bare scenario name means; using another's scenario takes its full reference
and the owner's share; an exercise deploys exactly the document it booked."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import httpx
import yaml
from sqlalchemy import text

from orchestrator.wiring import Services
from scenarios import library
from tests.integration.catalogue.helpers import auth
from tests.integration.exercises.helpers import CTF, Driver, Federation, exercise_body

NOW = datetime(2030, 5, 1, 8, 0, tzinfo=UTC)
START = NOW + timedelta(days=1)
END = START + timedelta(hours=3)
LIBRARY_CTF = library.bundle(CTF).text


def trojan(version: str = "1.0.1") -> str:
    """The library's ctf-starter with every image replaced by an attacker's."""
    data = yaml.safe_load(LIBRARY_CTF)
    data["metadata"]["version"] = version
    for host in data["spec"]["hosts"]:
        host["image"] = "registry.attacker.example/backdoor:1"
    return yaml.safe_dump(data, sort_keys=False)


def upload(http: httpx.Client, token: str, document: str) -> dict[str, object]:
    r = http.post("/api/v1/scenarios", json={"document": document}, headers=auth(token))
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


def plan(http: httpx.Client, token: str, scenario: str) -> httpx.Response:
    body = exercise_body(START, END, [("red", "EE")])
    return http.post("/api/v1/exercises/plan", json={**body, "scenario": scenario}, headers=auth(token))


def org_id(http: httpx.Client, admin: str, name: str) -> str:
    orgs = http.get("/api/v1/organisations", headers=auth(admin)).json()
    return next(o["id"] for o in orgs if o["name"] == name)


def test_another_organisations_upload_never_shadows_a_bare_scenario_name(
    http: httpx.Client, fed: Federation, clock: object
) -> None:
    stored = upload(http, fed.other_trainer, trojan())
    assert stored["ref"] == "another-school/ctf-starter@1.0.1"
    assert any("not pinned by digest" in w for w in stored["warnings"])  # type: ignore[attr-defined]

    ours = plan(http, fed.trainer, CTF)
    assert ours.status_code == 200, ours.text
    assert ours.json()["scenario"] == "federange/ctf-starter@1.0.0"  # the library, never theirs
    assert plan(http, fed.other_trainer, CTF).json()["scenario"] == "another-school/ctf-starter@1.0.1"
    listed = {s["ref"] for s in http.get("/api/v1/scenarios", headers=auth(fed.trainer)).json()}
    assert "another-school/ctf-starter@1.0.1" not in listed and "federange/ctf-starter@1.0.0" in listed

    theirs = plan(http, fed.trainer, "another-school/ctf-starter@1.0.1")
    assert theirs.status_code == 404
    assert theirs.json()["detail"] == (
        "scenario 'another-school/ctf-starter@1.0.1' does not exist or is not shared with your organisation"
    )
    school = org_id(http, fed.admin, "Baltic cyber school")
    shared = http.put(
        "/api/v1/scenarios/ctf-starter/sharing",
        json={"organisations": [school]},
        headers=auth(fed.other_trainer),
    )
    assert shared.status_code == 200, shared.text
    assert plan(http, fed.trainer, "another-school/ctf-starter@1.0.1").json()["scenario"] == (
        "another-school/ctf-starter@1.0.1"
    )
    assert (
        plan(http, fed.trainer, CTF).json()["scenario"] == "federange/ctf-starter@1.0.0"
    )  # still explicit only


def test_an_exercise_deploys_exactly_the_document_it_booked(
    http: httpx.Client, fed: Federation, driver: Driver, services: Services
) -> None:
    data = yaml.safe_load(LIBRARY_CTF)
    data["metadata"]["name"] = "school-ctf"
    document = yaml.safe_dump(data, sort_keys=False)
    stored = upload(http, fed.trainer, document)
    created = http.post(
        "/api/v1/exercises",
        json={**exercise_body(START, END, [("red", "EE"), ("blue", "LV")]), "scenario": "school-ctf"},
        headers=auth(fed.trainer),
    )
    assert created.status_code == 201, created.text
    exercise = created.json()
    assert exercise["scenario"] == stored["ref"] == "baltic-cyber-school/school-ctf@1.0.0"
    assert exercise["scenario_digest"] == hashlib.sha256(document.encode()).hexdigest()

    # The stored document changes behind the catalogue's back: the exercise must not deploy it.
    with services.engine.begin() as conn:
        conn.execute(
            text("UPDATE scenario_versions SET document = :d WHERE name = 'school-ctf'"),
            {"d": document + "# changed after booking\n"},
        )
    driver.advance_to(START - timedelta(minutes=15))
    teams = http.get(f"/api/v1/exercises/{exercise['id']}", headers=auth(fed.trainer)).json()["teams"]
    assert {t["stage"] for t in teams} == {"failed"}
    assert all("changed since it was booked" in t["stage_reason"] for t in teams)
    assert fed.world("ee-range").instances == {} and fed.world("lv-range").instances == {}
