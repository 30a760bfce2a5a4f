"""The console in a real browser (Debian's Chromium driven by Playwright) against a real server with its
scheduler, on simulated (fake) ranges: an operator registers a range and sees it on its calendar; a
trainer previews a placement with every range's reason, books the exercise and watches every team reach
ready; a team opens its own link and sees only its own credentials; another organisation's trainer cannot
see the exercise. Every page passes axe-core with no critical violation.

Set FEDERANGE_CONSOLE_SCREENSHOTS=docs/console to refresh the screenshots docs/console.md shows.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from connectors import fake
from orchestrator.db import migrate
from orchestrator.db.engine import make_engine
from orchestrator.scheduler.runner import SchedulerRunner
from orchestrator.settings import OidcIssuer, Settings
from orchestrator.wiring import Services, build
from tests.integration.catalogue.helpers import auth, create_org, issue
from tests.support import oidc
from tests.support.live import serve
from tests.support.requirements import skip_or_fail

playwright_api = pytest.importorskip("playwright.sync_api")

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
AXE = Path(os.environ.get("FEDERANGE_AXE_DIR", Path.home() / ".cache/federange-axe")) / (
    "node_modules/axe-core/axe.min.js"
)
SCENARIO = "log-forensics"
SHOTS = os.environ.get("FEDERANGE_CONSOLE_SCREENSHOTS", "")

pytestmark = [pytest.mark.slow, pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]


def _requirements() -> None:
    if not CHROMIUM.exists():
        skip_or_fail("chromium", "Debian's chromium is not installed (apt-get install chromium)")
    if not AXE.exists():
        skip_or_fail(
            "axe",
            f"axe-core is not installed at {AXE} (npm install --prefix ~/.cache/federange-axe axe-core)",
        )


@pytest.fixture
def server(settings: Settings) -> Iterator[tuple[Services, str]]:
    _requirements()
    fast = settings.model_copy(update={"scheduler_tick_seconds": 0.3, "probe_interval_seconds": 3600.0})
    engine = make_engine(fast.resolved_database_url())
    migrate.upgrade(engine)
    engine.dispose()
    services = build(fast)
    runner = SchedulerRunner(services)
    runner.start()
    try:
        with serve(services) as url:
            yield services, url
    finally:
        runner.shutdown(grace=5)
        services.close()


@pytest.fixture
def browser() -> Iterator[Any]:
    _requirements()  # before the launch: a test that takes no `server` skips (or fails in CI) the same way
    with playwright_api.sync_playwright() as p:
        launched = p.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS, headless=True)
        yield launched
        launched.close()


def check_page(page: Any, name: str) -> None:
    """axe-core on the page: no critical violation; and its screenshot when asked for."""
    page.evaluate(AXE.read_text(encoding="utf-8"))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    critical = [
        (v["id"], v["help"], [n["target"] for n in v["nodes"]])
        for v in result["violations"]
        if v["impact"] == "critical"
    ]
    assert not critical, f"{name}: {critical}"
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


def sign_in(browser: Any, url: str, token: str) -> Any:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(f"{url}/signin")
    page.fill("#token", token)
    page.click("form[action='/signin/token'] button")
    page.wait_for_url(f"{url}/")
    return page


def submit(page: Any, selector: str) -> None:
    """Click a form's button and wait for the page it leads to."""
    with page.expect_navigation():
        page.click(selector)


def local(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M")


def test_operator_trainer_team_and_stranger(server: tuple[Services, str], browser: Any) -> None:
    services, url = server
    with services.uow() as uow:
        admin = (
            services.catalogue(uow.catalogue)
            .bootstrap_admin(organisation_name="Agency", country="BE")
            .plaintext
        )
    with httpx.Client(base_url=url, timeout=30) as http:
        operators = create_org(http, admin, "French range operator", "FR")
        operator = issue(http, admin, operators, "operator", "Olivia Operator")
        school = create_org(http, admin, "Baltic cyber school", "EE", kind="training_provider")
        trainer = issue(http, admin, school, "trainer", "Tom Trainer")
        rival = create_org(http, admin, "Another school", "LT", kind="training_provider")
        stranger = issue(http, admin, rival, "trainer", "Sam Stranger")
        # a second range the placement must reject, with its reason
        http.post(
            "/api/v1/ranges",
            headers=auth(operator),
            json={
                "slug": "fr-small",
                "name": "French small range",
                "country": "FR",
                "capabilities": [],
                "capacity": {"cpu_millicores": 100, "memory_mib": 64, "slots": 1},
                "policy": {"max_foreign_share": 1.0, "max_booking_minutes": None},
                "connector": {"kind": "fake", "config": {"world": f"small-{uuid.uuid4().hex[:8]}"}},
            },
        ).raise_for_status()

        # -- the operator registers a range through the form generated from the fake connector's schema
        page = sign_in(browser, url, operator)
        check_page(page, "home-operator")
        page.goto(f"{url}/operator/ranges/new?kind=fake")
        check_page(page, "register-range")
        page.fill("#slug", "fr-lab")
        page.fill("#name", "French national lab")
        page.fill("#country", "FR")
        page.fill("#capabilities", "containers, egress")
        page.fill("#cpu", "8000")
        page.fill("#mem", "16384")
        page.fill("#slots", "4")
        page.fill("#share", "1")
        page.fill("#maxmin", "")
        lab_world = f"lab-{uuid.uuid4().hex[:8]}"
        page.get_by_label("world", exact=True).fill(lab_world)
        page.get_by_label("token (secret: write-only)").fill("s3cret-range-token")
        page.click("#register button[type=submit]")
        page.wait_for_url(f"{url}/ranges/fr-lab")
        assert "French national lab" in page.inner_text("h1")
        soon = datetime.now(UTC) + timedelta(days=1)
        page.fill("#m-start", local(soon.replace(hour=8, minute=0)))
        page.fill("#m-end", local(soon.replace(hour=12, minute=0)))
        page.fill("#m-reason", "firmware upgrade")
        page.click("text=Schedule maintenance")
        page.wait_for_selector("#calendar tr.maintenance td.on")
        assert "maintenance: firmware upgrade" in page.inner_text("#calendar")
        check_page(page, "range-calendar")
        stored = http.get("/api/v1/ranges/fr-lab", headers=auth(operator)).json()
        assert "s3cret-range-token" not in str(stored) and "token" in stored["connector"]["secret_fields"]
        page.goto(f"{url}/ranges")
        assert "fr-lab" in page.inner_text("table")
        check_page(page, "ranges")

        # -- the trainer previews the placement with every range's reason, then books it
        page = sign_in(browser, url, trainer)
        page.goto(f"{url}/exercises/new")
        scenario_ref = page.eval_on_selector(
            "#scenario", f"s => [...s.options].map(o => o.value).find(v => v.includes('/{SCENARIO}@'))"
        )
        page.select_option("#scenario", scenario_ref)
        page.fill("#name", "Baltic Shield")
        page.fill("#teams", "red:FR, blue")
        start = datetime.now(UTC) + timedelta(minutes=5)
        page.fill("#start", local(start))
        page.fill("#end", local(start + timedelta(hours=2)))
        page.click("text=Preview placement")
        page.wait_for_selector("#range-reasons")
        reasons = page.inner_text("#range-reasons")
        assert "fr-lab" in reasons and "usable" in reasons
        assert "fr-small" in reasons and "rejected" in reasons
        assert "1 of 2 on a range they prefer" in page.inner_text("#preview")  # red:FR on a French range
        check_page(page, "exercise-wizard-preview")
        # blue's first deploy fails on the range: the page offers to retry that stage
        fake.world(lab_world).fail_next_deploys("simulated: quota exceeded in namespace fr-x", team="blue")
        page.click("#create")
        page.wait_for_url(f"{url}/exercises/*")
        exercise_id = page.url.rsplit("/", 1)[-1]
        page.wait_for_selector("text=Retry deploying", timeout=90_000)
        assert "quota exceeded" in page.inner_text("#teams tr[data-team=blue]")
        check_page(page, "exercise-failed-team")
        submit(page, "text=Retry deploying")
        page.wait_for_function(
            "() => [...document.querySelectorAll('#teams td.stage')].every(c => c.textContent === 'ready')",
            timeout=90_000,
        )
        # the page reloads itself once the teams settled: the access table then shows their credentials
        page.wait_for_function(
            "() => document.querySelectorAll('table.access dd').length >= 2", timeout=30_000
        )
        check_page(page, "exercise")
        later_end = start + timedelta(hours=3)
        page.fill("#new-end", local(later_end))
        submit(page, "form[action$='/extend'] button")
        assert later_end.strftime("%Y-%m-%dT%H:%M") in page.inner_text("main p")
        page.click("#issue-links")
        page.wait_for_selector("#links")
        links = {
            row.query_selector("td").inner_text(): row.query_selector("a").get_attribute("href")
            for row in page.query_selector_all("#links tbody tr")
        }
        assert set(links) == {"red", "blue"}
        page.goto(f"{url}/exercises/{exercise_id}/sheet")
        check_page(page, "access-sheet")

        # -- a team opens its own link: its credentials, none of the other team's
        access = {
            a["team"]: a
            for a in http.get(f"/api/v1/exercises/{exercise_id}/access", headers=auth(trainer)).json()
        }
        assert access["red"]["credentials"] and access["blue"]["credentials"]
        exported = page.request.get(f"{url}/exercises/{exercise_id}/sheet.csv")
        assert exported.ok and "attachment" in exported.headers["content-disposition"]
        rows = exported.text().splitlines()
        assert rows[0] == "team,range,stage,endpoint,credentials" and len(rows) >= 3
        assert all(v in exported.text() for t in access.values() for v in t["credentials"].values())
        team = browser.new_context().new_page()
        team.goto(links["red"])
        text = team.inner_text("main")
        assert "Team red" in text
        assert all(v in text for v in access["red"]["credentials"].values())
        assert not any(v in text for v in access["blue"]["credentials"].values())
        check_page(team, "team-access")
        team.goto(f"{url}/team/ftl_{'x' * 43}")
        assert "unknown or replaced team link" in team.inner_text("main")

        # -- a researcher launches an environment, sees its time left, renews and destroys it
        lab = create_org(http, admin, "Tartu research lab", "EE", kind="research")
        researcher = issue(http, admin, lab, "researcher", "Rita Researcher")
        page = sign_in(browser, url, researcher)
        page.goto(f"{url}/environments")
        ctf = page.eval_on_selector(
            "#env-scenario", "s => [...s.options].map(o => o.value).find(v => v.includes('/ctf-starter@'))"
        )
        page.select_option("#env-scenario", ctf)
        page.fill("#env-name", "probe")
        page.fill("#env-ttl", "60")
        submit(page, "form[action='/environments'] button")
        assert "/environments/" in page.url, page.inner_text("main")
        left = int(page.inner_text("#remaining").split()[0])
        assert 55 <= left <= 60
        check_page(page, "environment")
        page.fill("#minutes", "30")
        submit(page, "form[action$='/renew'] button")
        assert 85 <= int(page.inner_text("#remaining").split()[0]) <= 90
        page.goto(f"{url}/environments")
        assert "probe" in page.inner_text("#environments")
        check_page(page, "environments")
        submit(page, "#environments >> text=probe")
        submit(page, "form[action$='/destroy'] button")
        for _ in range(40):  # the teardown runs as a due action
            if "status running" not in page.inner_text("main p"):
                break
            page.wait_for_timeout(500)
            page.reload()
        assert "status running" not in page.inner_text("main p")

        # -- the operator sees the exercise's booking on the calendar and decides on bookings to approve
        http.post(
            "/api/v1/ranges",
            headers=auth(operator),
            json={
                "slug": "fr-approve",
                "name": "French range on approval",
                "country": "FR",
                "capabilities": [],
                "capacity": {"cpu_millicores": 4000, "memory_mib": 8192, "slots": 4},
                "policy": {"max_foreign_share": 1.0, "max_booking_minutes": None, "approval_required": True},
                "connector": {"kind": "fake", "config": {"world": f"approve-{uuid.uuid4().hex[:8]}"}},
            },
        ).raise_for_status()
        later = datetime.now(UTC).replace(microsecond=0) + timedelta(days=2)
        asked = []
        for key in ("ask-1", "ask-2"):
            made = http.post(
                "/api/v1/bookings",
                headers=auth(trainer),
                json={
                    "range": "fr-approve",
                    "demand": {"cpu_millicores": 500, "slots": 1},
                    "hold": False,
                    "start": later.isoformat(),
                    "end": (later + timedelta(hours=2)).isoformat(),
                    "request_id": key,
                },
            )
            assert made.status_code == 201, made.text
            asked.append(made.json()["bookings"][0])
        assert {b["status"] for b in asked} == {"pending_approval"}
        page = sign_in(browser, url, operator)
        page.goto(f"{url}/ranges/fr-lab")
        assert page.query_selector("#calendar tr.booking td.on"), "the exercise's booking is on the calendar"
        page.goto(f"{url}/operator/approvals")
        assert len(page.query_selector_all("main tbody tr")) == 2
        check_page(page, "approvals")
        page.fill("#reason-1", "fine")
        submit(page, "main tbody tr:nth-child(1) button[value=approve]")
        page.fill("#reason-1", "the range is kept for national drills that week")
        submit(page, "main tbody tr:nth-child(1) button[value=decline]")
        assert "Nothing waits for your decision" in page.inner_text("main")
        decided = {
            b["status"]: b
            for b in (http.get(f"/api/v1/bookings/{a['id']}", headers=auth(trainer)).json() for a in asked)
        }
        assert set(decided) == {"confirmed", "rejected"}
        assert "national drills" in decided["rejected"]["status_reason"]
        page.goto(f"{url}/audit")
        assert "booking.approve" in page.inner_text("main") or "booking.decide" in page.inner_text("main")
        check_page(page, "audit")

        # -- another organisation's trainer cannot see it
        page = sign_in(browser, url, stranger)
        page.goto(f"{url}/exercises")
        assert "Baltic Shield" not in page.inner_text("main")
        response = page.goto(f"{url}/exercises/{exercise_id}")
        assert response.status == 404
        assert "does not exist" in page.inner_text(".problem")
        check_page(page, "error-not-visible")


def test_sign_in_with_the_organisations_identity_provider(settings: Settings, browser: Any) -> None:
    """A person signs in through the provider's own page (a real OpenID Connect provider process):
    code + PKCE, then the console knows them by the provider's claims."""
    with oidc.provider() as issuer:
        trusting = settings.model_copy(
            update={
                "oidc_issuers": [
                    OidcIssuer(
                        name="academy",
                        issuer=issuer,  # type: ignore[arg-type]
                        client_id=oidc.CLIENT_ID,
                        client_secret="console-secret",
                        organisation="cyber-academy",
                        role_claim="groups",
                        roles={"fr-trainers": "trainer"},
                    )
                ]
            }
        )
        engine = make_engine(trusting.resolved_database_url())
        migrate.upgrade(engine)
        engine.dispose()
        services = build(trusting)
        with services.uow() as uow:
            admin = services.catalogue(uow.catalogue).bootstrap_admin(
                organisation_name="Agency", country="BE"
            )
        try:
            with serve(services) as url:
                httpx.post(
                    f"{url}/api/v1/organisations",
                    json={
                        "name": "Cyber Academy",
                        "country": "FR",
                        "kind": "training_provider",
                        "handle": "cyber-academy",
                    },
                    headers=auth(admin.plaintext),
                ).raise_for_status()
                oidc.set_user(issuer, "claire", {"name": "Claire Dupont", "groups": ["fr-trainers"]})
                page = browser.new_context().new_page()
                page.goto(f"{url}/exercises")
                page.wait_for_url(f"{url}/signin*")
                check_page(page, "signin")
                page.click("text=Sign in with academy")
                page.wait_for_url(f"{issuer}/oauth2/authorize*")
                page.fill("input[name=sub]", "claire")
                page.click("button:has-text('Authorize')")
                page.wait_for_url(f"{url}/exercises")
                assert "Claire Dupont · trainer" in page.inner_text("header")
        finally:
            services.close()
