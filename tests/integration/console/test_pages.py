"""The console over plain HTTP: sign-in with an API token, the session cookie and CSRF token, field
errors from the same schemas as the API, and secrets that never come back."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from orchestrator.wiring import Services
from tests.integration.catalogue.helpers import auth, create_org, issue

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def csrf(page: httpx.Response) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found, "the page carries a CSRF token"
    return found.group(1)


@contextmanager
def signed_in(url: str, token: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=url, timeout=30) as console:
        form = console.get("/signin")
        done = console.post("/signin/token", data={"csrf": csrf(form), "token": token, "next": "/ranges"})
        assert done.status_code == 303 and done.headers["location"] == "/ranges", done.text
        yield console


@pytest.fixture
def operator(http: httpx.Client, admin_token: str) -> str:
    return issue(
        http, admin_token, create_org(http, admin_token, "Range operator", "FR"), "operator", "Olivia"
    )


def test_sign_in_session_and_csrf(api_url: str, operator: str) -> None:
    with httpx.Client(base_url=api_url, timeout=30) as anonymous:
        assert anonymous.get("/").headers["location"] == "/signin?next=%2F"
        page = anonymous.get("/signin")
        assert "default-src 'self'" in page.headers["content-security-policy"]
        assert page.headers["cache-control"] == "no-store"
        # no CSRF token: refused, and no session is made
        stale = anonymous.post("/signin/token", data={"token": operator})
        assert stale.status_code == 422 and "csrf" in stale.text and "Traceback" not in stale.text
        bad = anonymous.post("/signin/token", data={"csrf": csrf(page), "token": "frt_nope"})
        assert bad.status_code == 422 and "malformed token" in bad.text
        # an open redirect is not possible through `next`
        away = anonymous.post(
            "/signin/token", data={"csrf": csrf(page), "token": operator, "next": "//evil.example"}
        )
        assert away.headers["location"] == "/"
    with signed_in(api_url, operator) as console:
        cookie = console.cookies["federange_session"]
        assert operator not in cookie
        assert "Olivia" in console.get("/ranges").text
        # a forged session is nobody
        console.cookies.set("federange_session", cookie[:-4] + "AAAA")
        assert console.get("/ranges").status_code == 303


def test_register_form_errors_name_fields_and_secrets_stay_write_only(
    api_url: str, operator: str, services: Services
) -> None:
    with signed_in(api_url, operator) as console:
        form = console.get("/operator/ranges/new", params={"kind": "fake"})
        assert 'name="config.token" type="password"' in form.text
        assert 'name="config.capacity.slots"' in form.text
        base = {
            "csrf": csrf(form),
            "kind": "fake",
            "slug": "fr-lab",
            "name": "Lab",
            "country": "FR",
            "cpu_millicores": "4000",
            "memory_mib": "8192",
            "slots": "2",
            "max_foreign_share": "1",
            "config.world": "console-pages",
            "config.token": "super-secret-value",
            "config.capacity.slots": "x",
        }
        refused = console.post("/operator/ranges", data={**base, "slug": "", "cpu_millicores": "-1"})
        assert refused.status_code == 422
        assert "config.capacity.slots" in refused.text  # the connector form's own field, named
        refused = console.post(
            "/operator/ranges",
            data={**base, "config.capacity.slots": "9", "slug": "", "cpu_millicores": "-1"},
        )
        assert refused.status_code == 422
        assert "<code>slug</code>" in refused.text and "<code>capacity.cpu_millicores</code>" in refused.text
        made = console.post("/operator/ranges", data={**base, "config.capacity.slots": "9"})
        assert made.status_code == 303 and made.headers["location"] == "/ranges/fr-lab"
        calendar = console.get("/ranges/fr-lab", params={"view": "month"})
        assert calendar.status_code == 200 and "Month of" in calendar.text
        assert "super-secret-value" not in calendar.text
        edit = console.get("/ranges/fr-lab/edit")
        assert 'value="Lab"' in edit.text and 'value="console-pages"' in edit.text
        assert "super-secret-value" not in edit.text
        changed = console.post(
            "/ranges/fr-lab/edit",
            data={
                **base,
                "csrf": csrf(edit),
                "name": "Lab two",
                "slots": "3",
                "config.token": "",
                "config.capacity.slots": "9",
            },
        )
        assert changed.status_code == 303, changed.text
    with services.uow() as uow:
        record = uow.catalogue.get_range("fr-lab")
    assert record is not None and "token" in record.connector.secret_fields
    assert record.connector.config["capacity"]["slots"] == 9
    assert (record.name, record.capacity.slots) == ("Lab two", 3)
    assert "token" in record.connector.secret_fields  # left empty: the stored secret stays


def test_team_links_from_the_api_open_one_team_each_and_replace_earlier_ones(
    http: httpx.Client, admin_token: str, operator: str
) -> None:
    school = create_org(http, admin_token, "School", "EE", kind="training_provider")
    trainer = issue(http, admin_token, school, "trainer", "Tom")
    http.post(
        "/api/v1/ranges",
        headers=auth(operator),
        json={
            "slug": "fr-lab",
            "name": "Lab",
            "country": "FR",
            "capacity": {"cpu_millicores": 16000, "memory_mib": 32768, "slots": 4},
            "policy": {"max_foreign_share": 1.0, "max_booking_minutes": None},
            "connector": {"kind": "fake", "config": {"world": "console-team-links"}},
        },
    ).raise_for_status()
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=2)
    made = http.post(
        "/api/v1/exercises",
        headers=auth(trainer),
        json={
            "name": "Drill",
            "scenario": "ctf-starter",
            "teams": [{"name": "red"}, {"name": "blue"}],
            "start": start.isoformat(),
            "end": (start + timedelta(hours=2)).isoformat(),
        },
    )
    assert made.status_code == 201, made.text
    exercise = made.json()["id"]
    # another organisation (here the range's operator) does not even see it
    assert http.post(f"/api/v1/exercises/{exercise}/team-links", headers=auth(operator)).status_code == 404
    first = http.post(f"/api/v1/exercises/{exercise}/team-links", headers=auth(trainer)).json()
    links = {link["team"]: link["path"] for link in first}
    assert set(links) == {"red", "blue"} and all(p.startswith("/team/ftl_") for p in links.values())
    red = http.get(links["red"])
    assert red.status_code == 200 and "Team red" in red.text and "blue" not in red.text
    http.post(f"/api/v1/exercises/{exercise}/team-links", headers=auth(trainer)).raise_for_status()
    replaced = http.get(links["red"])
    assert replaced.status_code == 401 and "unknown or replaced team link" in replaced.text
    audit = http.get("/api/v1/audit", headers=auth(admin_token), params={"action": "exercise.team-links"})
    assert audit.json()["total"] == 2
    # the trainer cancels it from the console; the operator's console session may not
    base = str(http.base_url).rstrip("/")
    with signed_in(base, operator) as console:
        page = console.get("/ranges")
        refused = console.post(f"/exercises/{exercise}/cancel", data={"csrf": csrf(page)})
        assert refused.status_code == 404 and "does not exist" in refused.text
    with signed_in(base, trainer) as console:
        page = console.get(f"/exercises/{exercise}")
        assert page.status_code == 200 and "Drill" in page.text
        cancelled = console.post(f"/exercises/{exercise}/cancel", data={"csrf": csrf(page)})
        assert cancelled.status_code == 303
    assert http.get(f"/api/v1/exercises/{exercise}", headers=auth(trainer)).json()["status"] == "cancelled"
