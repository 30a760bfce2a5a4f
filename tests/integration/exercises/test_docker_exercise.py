"""Federated exercises on the real Docker engine, end to end.

1. Two Docker-backed ranges (different countries and capacities), an exercise for four teams with a
   spread constraint: placement honours it, the bookings exist, the instances deploy at the scheduled
   time, are provisioned by Ansible, become ready, and are torn down at the end with nothing left behind.
2. Crash safety: `federange server` is killed (SIGKILL) while the teams deploy; after a restart the
   exercise converges (ready instances stay, missing ones deploy, nothing is orphaned or duplicated), and
   when the server is down at the end time, teardown runs as soon as it is back.

The library scenario `ctf-starter` runs on busybox only; its `busybox:1.36` image is mapped (the range's
`image_map`, as an air-gapped range would do with a registry mirror) to the busybox image the tests build.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import docker
import httpx
import pytest

from connectors.base import LABEL_EXERCISE, LABEL_INSTANCE
from orchestrator.scheduler.runner import SchedulerRunner
from orchestrator.settings import Settings
from orchestrator.wiring import Services, build
from tests.integration.catalogue.helpers import auth, create_org, issue
from tests.integration.connectors.dockerenv import remains
from tests.support.images import BUSYBOX_IMAGE, DOCKER_URL, docker_api, ensure_busybox_image
from tests.support.live import free_port, serve
from tests.support.metrics import grew, scrape, total

pytestmark = [pytest.mark.docker, pytest.mark.ansible, pytest.mark.slow]

HOSTS_PER_INSTANCE = 3  # ctf-starter: web, jump, vault


@pytest.fixture(scope="module")
def engine() -> Iterator[docker.APIClient]:
    api = docker_api()
    ensure_busybox_image(api)
    yield api
    api.close()


def docker_range(slug: str, country: str, slots: int) -> dict[str, Any]:
    return {
        "slug": slug,
        "name": f"{country} Docker range",
        "country": country,
        "capabilities": ["docker", "containers"],
        "capacity": {"cpu_millicores": 8000, "memory_mib": 8192, "slots": slots, "gpus": 0},
        # the operators share the whole range with foreign teams (the default keeps half for their country)
        "policy": {"max_foreign_share": 1.0, "max_booking_minutes": None},
        "connector": {
            "kind": "docker",
            "config": {"base_url": DOCKER_URL, "image_map": {"busybox:1.36": BUSYBOX_IMAGE}, "pull": "never"},
        },
    }


def onboard(http: httpx.Client, admin: str, ranges: list[tuple[str, str, int]]) -> str:
    """Operators register their Docker ranges; returns a trainer token."""
    for slug, country, slots in ranges:
        org = create_org(http, admin, f"{country} operator", country)
        operator = issue(http, admin, org, "operator", f"{slug}-ops")
        created = http.post("/api/v1/ranges", json=docker_range(slug, country, slots), headers=auth(operator))
        assert created.status_code == 201, created.text
    school = create_org(http, admin, "Baltic cyber school", "EE", kind="training_provider")
    return issue(http, admin, school, "trainer", "trainer")


def wait_for(
    fetch: Callable[[], dict[str, Any]], done: Callable[[dict[str, Any]], bool], *, timeout: float, what: str
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    current = fetch()
    while not done(current):
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout:g}s; last state: {current}")
        time.sleep(0.3)
        current = fetch()
    return current


def exercise_request(
    teams: list[tuple[str, str]], *, deploy_in: float, run_for: float, **constraints: Any
) -> dict[str, Any]:
    now = datetime.now(UTC)
    start = now + timedelta(seconds=deploy_in)
    return {
        "name": "Docker federated exercise",
        "scenario": "ctf-starter",
        "teams": [{"name": n, "organisation": f"CERT-{c}", "country": c} for n, c in teams],
        "start": start.isoformat(),
        "end": (start + timedelta(seconds=run_for)).isoformat(),
        "lead_minutes": 0,
        "constraints": constraints,
    }


def containers_of(engine: docker.APIClient, exercise_id: str) -> dict[str, list[str]]:
    """instance id -> names of the containers labelled with this exercise."""
    found: dict[str, list[str]] = {}
    for c in engine.containers(all=True, filters={"label": [f"{LABEL_EXERCISE}={exercise_id}"]}):
        found.setdefault(c["Labels"][LABEL_INSTANCE], []).append(c["Names"][0])
    return found


def stages(exercise: dict[str, Any]) -> set[str]:
    return {t["stage"] for t in exercise["teams"]}


@pytest.mark.parametrize(
    "database_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
def test_four_teams_on_two_docker_ranges_deploy_on_time_and_leave_nothing(
    engine: docker.APIClient, settings: Settings
) -> None:
    """On PostgreSQL, the production database (the crash test below runs the embedded SQLite default)."""
    fast = settings.model_copy(
        update={
            "scheduler_tick_seconds": 0.5,
            "probe_interval_seconds": 5.0,  # the range health gauges of the /metrics scrape
            "reconcile_interval_seconds": 5.0,
        }
    )
    from orchestrator.db import migrate
    from orchestrator.db.engine import make_engine

    db = make_engine(fast.resolved_database_url())
    migrate.upgrade(db)
    db.dispose()
    services: Services = build(fast)
    runner = SchedulerRunner(services)
    runner.start()
    instance_ids: list[str] = []
    try:
        with serve(services) as url, httpx.Client(base_url=url, timeout=30) as http:
            before = scrape(http)
            with services.uow() as uow:
                admin = (
                    services.catalogue(uow.catalogue)
                    .bootstrap_admin(organisation_name="Federation admin", country="BE")
                    .plaintext
                )
            trainer = onboard(http, admin, [("ee-docker", "EE", 2), ("lv-docker", "LV", 3)])
            body = exercise_request(
                [("red", "EE"), ("blue", "LV"), ("green", "EE"), ("white", "DE")],
                deploy_in=6,
                run_for=30,
                min_ranges=2,
                max_teams_per_range=2,
            )
            created = http.post("/api/v1/exercises", json=body, headers=auth(trainer))
            assert created.status_code == 201, created.text
            exercise = created.json()
            instance_ids = [t["instance_id"] for t in exercise["teams"]]
            per_range = {
                r: [t["team"] for t in exercise["teams"] if t["range"] == r]
                for r in ("ee-docker", "lv-docker")
            }
            assert all(len(v) == 2 for v in per_range.values()), per_range  # spread, at most two per range
            assert {"red", "green"} == set(per_range["ee-docker"])  # the Estonian teams on the Estonian range
            bookings = http.get(
                "/api/v1/bookings", params={"reference": exercise["id"]}, headers=auth(trainer)
            )
            assert sorted(
                (b["range"], b["status"], b["demand"]["slots"]) for b in bookings.json()["items"]
            ) == [("ee-docker", "confirmed", 2), ("lv-docker", "confirmed", 2)]
            assert containers_of(engine, exercise["id"]) == {}  # nothing before the deploy time

            def fetch() -> dict[str, Any]:
                return http.get(f"/api/v1/exercises/{exercise['id']}", headers=auth(trainer)).json()  # type: ignore[no-any-return]

            running = wait_for(fetch, lambda e: stages(e) == {"ready"}, timeout=150, what="every team ready")
            deploy_at = datetime.fromisoformat(running["deploy_at"].replace("Z", "+00:00"))
            for team in running["teams"]:
                deploying = next(s for s in team["stages"] if s["stage"] == "deploying")
                assert datetime.fromisoformat(deploying["started_at"].replace("Z", "+00:00")) >= deploy_at
                provisioning = next(s for s in team["stages"] if s["stage"] == "provisioning")
                assert "plant" in provisioning["log"].lower() or "PLAYBOOK" in provisioning["log"], (
                    provisioning
                )
            live = containers_of(engine, exercise["id"])
            assert sorted(live) == sorted(instance_ids)
            assert all(len(names) == HOSTS_PER_INSTANCE for names in live.values())
            access = http.get(f"/api/v1/exercises/{exercise['id']}/access", headers=auth(trainer)).json()
            web = next(e for e in access[0]["endpoints"] if e["host"] == "web")
            page = httpx.get(web["url"].replace("tcp://", "http://") + "/", timeout=10)
            assert page.status_code == 200 and "Acme Widgets" in page.text  # the team's entry point answers

            done = wait_for(fetch, lambda e: e["status"] == "done", timeout=150, what="teardown at the end")
            assert stages(done) == {"done"}
            released = http.get(
                "/api/v1/bookings", params={"reference": exercise["id"]}, headers=auth(trainer)
            )
            assert {b["status"] for b in released.json()["items"]} == {"released"}
            assert_metrics_moved(before, scrape(http))
    finally:
        runner.shutdown()
        services.close()
    assert remains(engine, instance_ids) == []


def assert_metrics_moved(before: dict[Any, float], after: dict[Any, float]) -> None:
    """A scrape of /metrics after the exercise shows what it did (each figure grew from the first scrape)."""
    assert grew(before, after, "federange_booking_admissions_total", outcome="admitted") >= 1
    assert grew(before, after, "federange_booking_admission_seconds_count", outcome="admitted") >= 1
    assert grew(before, after, "federange_due_actions_total", kind="instance.deploy", outcome="done") >= 4
    assert grew(before, after, "federange_due_actions_total", kind="exercise.teardown", outcome="done") >= 1
    assert grew(before, after, "federange_due_action_lag_seconds_count", kind="instance.deploy") >= 4
    assert (
        grew(before, after, "federange_connector_seconds_count", connector="docker", operation="deploy") >= 4
    )
    assert grew(before, after, "federange_connector_seconds_sum", connector="docker", operation="deploy") > 0
    assert (
        grew(before, after, "federange_connector_seconds_count", connector="docker", operation="teardown")
        >= 4
    )
    assert grew(before, after, "federange_http_requests_total", route="/api/v1/exercises", status="201") == 1
    assert grew(before, after, "federange_http_requests_total", route="/api/v1/exercises/{exercise_id}") > 0
    assert total(after, "federange_instances", stage="done") >= 4  # read from the database at scrape time
    healthy = {
        dict(labels)["range"]: v for (name, labels), v in after.items() if name == "federange_range_healthy"
    }
    assert healthy.get("ee-docker") == 1 and healthy.get("lv-docker") == 1  # probed by the tick


# -- crash safety ------------------------------------------------------------------------------------
class Server:
    """`federange server` as a separate process on the embedded default (SQLite in a fresh data dir)."""

    def __init__(self, data_dir: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "FEDERANGE_DATA_DIR": str(data_dir),
            "FEDERANGE_DATABASE_URL": "",
            "FEDERANGE_PORT": str(self.port),
            "FEDERANGE_SCHEDULER_TICK_SECONDS": "0.5",
            "FEDERANGE_ACTION_LEASE_SECONDS": "10",
            "FEDERANGE_PROBE_INTERVAL_SECONDS": "3600",
            "FEDERANGE_RECONCILE_INTERVAL_SECONDS": "3",
        }
        self.log = data_dir / "server.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "orchestrator.cli", "server"], env=self.env, stdout=log, stderr=log
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/ready", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            assert self.process.poll() is None, self.log.read_text()[-3000:]
            time.sleep(0.2)
        raise AssertionError("federange server did not become ready:\n" + self.log.read_text()[-3000:])

    def kill(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()

    def bootstrap(self) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "orchestrator.cli", "admin", "bootstrap", "--country", "BE"],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        return done.stdout.strip()


def test_a_killed_server_converges_after_restart_and_never_skips_teardown(
    engine: docker.APIClient, tmp_path: Path
) -> None:
    server = Server(tmp_path)
    server.start()
    instance_ids: list[str] = []
    try:
        http = httpx.Client(base_url=server.url, timeout=30)
        admin = server.bootstrap()
        trainer = onboard(http, admin, [("ee-docker", "EE", 3)])
        body = exercise_request([("red", "EE"), ("blue", "EE"), ("green", "EE")], deploy_in=2, run_for=40)
        created = http.post("/api/v1/exercises", json=body, headers=auth(trainer))
        assert created.status_code == 201, created.text
        exercise = created.json()
        instance_ids = [t["instance_id"] for t in exercise["teams"]]

        def fetch() -> dict[str, Any]:
            return http.get(f"/api/v1/exercises/{exercise['id']}", headers=auth(trainer)).json()  # type: ignore[no-any-return]

        # Kill the orchestrator in the middle of deploying: some objects exist, not every team is up.
        wait_for(
            fetch,
            lambda e: bool(containers_of(engine, exercise["id"])) and stages(e) != {"ready"},
            timeout=90,
            what="deployment under way",
        )
        server.kill()
        midway = containers_of(engine, exercise["id"])
        assert midway, "the kill happened before anything was deployed"

        server.start()  # the restart releases the dead process's claims and resumes
        converged = wait_for(
            fetch, lambda e: stages(e) == {"ready"}, timeout=150, what="convergence after restart"
        )
        live = containers_of(engine, exercise["id"])
        assert sorted(live) == sorted(instance_ids)  # nothing orphaned, nothing missing
        assert all(len(names) == HOSTS_PER_INSTANCE for names in live.values())  # nothing duplicated
        assert converged["status"] == "running"

        # Down at the end time: teardown runs as soon as the orchestrator is back.
        server.kill()
        end = datetime.fromisoformat(converged["end"].replace("Z", "+00:00"))
        time.sleep(max((end - datetime.now(UTC)).total_seconds(), 0) + 1)
        assert sorted(containers_of(engine, exercise["id"])) == sorted(
            instance_ids
        )  # still there: nobody ran it
        server.start()
        done = wait_for(fetch, lambda e: e["status"] == "done", timeout=150, what="teardown after restart")
        assert stages(done) == {"done"}
        http.close()
    finally:
        server.stop()
        logs = (tmp_path / "server.log").read_text(errors="replace")
    assert remains(engine, instance_ids) == [], logs[-3000:]
