"""The Federange image, built from the Containerfile on the local base, runs its roles against PostgreSQL.

One story, as an operator would run it: the API refuses the unmigrated database; `db upgrade` migrates it to
the head revision; `admin bootstrap` prints the first token; `api` and `scheduler` run as two containers
(host network, listening on loopback only) with a read-only root filesystem, every capability dropped,
no-new-privileges and the image's own numeric user; /health and /ready answer; an exercise on a fake
range, starting now, is deployed by the scheduler container until its teams are ready, then cancelled and
torn down. Every container and the database are removed afterwards, also after a failure.

The image is built only when no image with the same content digest exists (tests/support/federange_image.py);
the first build on a machine takes a few minutes (Debian's python3, the wheels from PyPI).
"""

from __future__ import annotations

import secrets
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import docker
import httpx
import pytest
from sqlalchemy import create_engine, inspect, text

from orchestrator.db.migrate import head_revision
from orchestrator.db.tables import Base
from tests.integration.catalogue.helpers import auth, create_org, issue
from tests.support.databases import fresh_database, postgres_available
from tests.support.federange_image import IMAGE, UID, BuiltImage, ensure_federange_image
from tests.support.images import docker_api
from tests.support.live import free_port
from tests.support.requirements import skip_or_fail

pytestmark = [pytest.mark.docker, pytest.mark.postgres, pytest.mark.slow, pytest.mark.timeout(1500)]

LABEL = "eu.federange.test"


@pytest.fixture(scope="module")
def engine() -> Iterator[docker.APIClient]:
    api = docker_api()
    yield api
    api.close()


@pytest.fixture(scope="module")
def image(engine: docker.APIClient) -> BuiltImage:
    return ensure_federange_image(engine)


@pytest.fixture
def database_url(tmp_path: Path) -> Iterator[str]:
    ok, reason = postgres_available()
    if not ok:
        skip_or_fail("postgres", reason)
    with fresh_database("postgres", tmp_path) as url:
        yield url


class Roles:
    """Containers of the image as the chart runs them: read-only root, no capabilities, the image's user."""

    def __init__(self, engine: docker.APIClient, image: BuiltImage, env: dict[str, str]) -> None:
        self.engine = engine
        self.image = image
        self.env = env
        self.run_id = uuid.uuid4().hex[:8]
        self.started: list[str] = []

    def _create(self, role: str, args: list[str]) -> str:
        host_config = self.engine.create_host_config(
            network_mode="host",
            read_only=True,
            tmpfs={"/tmp": "rw,nosuid,nodev,size=64m"},
            cap_drop=["ALL"],
            security_opt=["no-new-privileges"],
        )
        created = self.engine.create_container(
            self.image.id,
            command=args,
            environment=self.env,
            host_config=host_config,
            labels={LABEL: f"image-smoke-{self.run_id}"},
            name=f"fr-image-{self.run_id}-{role}",
        )
        container_id: str = created["Id"]
        self.started.append(container_id)
        return container_id

    def run(self, role: str, *args: str, timeout: float = 120) -> tuple[int, str, str]:
        """Run one command to its end: (exit code, stdout, stderr)."""
        container = self._create(role, list(args))
        self.engine.start(container)
        status = self.engine.wait(container, timeout=timeout)["StatusCode"]
        out = self.engine.logs(container, stdout=True, stderr=False).decode()
        err = self.engine.logs(container, stdout=False, stderr=True).decode()
        self.engine.remove_container(container, v=True, force=True)
        self.started.remove(container)
        return status, out, err

    def start(self, role: str, *args: str) -> str:
        container = self._create(role, list(args))
        self.engine.start(container)
        return container

    def logs(self) -> str:
        parts = []
        for container in self.started:
            name = self.engine.inspect_container(container)["Name"]
            tail = self.engine.logs(container, tail=40).decode(errors="replace")
            parts.append(f"--- {name} ---\n{tail}")
        return "\n".join(parts)

    def exec(self, container: str, *cmd: str) -> tuple[int, str]:
        run = self.engine.exec_create(container, list(cmd))
        output = self.engine.exec_start(run["Id"]).decode(errors="replace")
        return self.engine.exec_inspect(run["Id"])["ExitCode"], output

    def remove_all(self) -> None:
        for container in self.started:
            self.engine.remove_container(container, v=True, force=True)
        self.started.clear()
        leftover = self.engine.containers(all=True, filters={"label": f"{LABEL}=image-smoke-{self.run_id}"})
        assert not leftover, f"containers left behind: {[c['Names'] for c in leftover]}"


def wait_for(
    fetch: Callable[[], Any], done: Callable[[Any], bool], *, timeout: float, what: str, roles: Roles
) -> Any:
    deadline = time.monotonic() + timeout
    current = fetch()
    while not done(current):
        if time.monotonic() > deadline:
            raise AssertionError(
                f"{what} did not happen within {timeout:g}s; last: {current}\n{roles.logs()}"
            )
        time.sleep(0.5)
        current = fetch()
    return current


def answer(http: httpx.Client, path: str) -> tuple[int, Any]:
    try:
        response = http.get(path)
    except httpx.TransportError as exc:
        return 0, str(exc)
    return response.status_code, response.json() if response.content else None


def test_the_image_is_a_non_root_read_only_friendly_federange(
    engine: docker.APIClient, image: BuiltImage
) -> None:
    config = engine.inspect_image(image.id)["Config"]
    assert config["User"] == f"{UID}:{UID}"  # numeric: the kubelet can check runAsNonRoot against it
    assert config["Entrypoint"] == ["federange"]
    assert "/var/lib/federange" in (config.get("Volumes") or {})
    env = dict(item.split("=", 1) for item in config["Env"])
    assert env["FEDERANGE_DATA_DIR"] == "/var/lib/federange" and env["HOME"] == "/var/lib/federange"
    assert env["PYTHONDONTWRITEBYTECODE"] == "1"
    assert engine.inspect_image(IMAGE)["Id"] == image.id  # the tag the chart's default values name


def test_the_roles_run_against_postgresql_and_drive_an_exercise_on_a_fake_range(
    engine: docker.APIClient, image: BuiltImage, database_url: str
) -> None:
    port = free_port()
    roles = Roles(
        engine,
        image,
        {
            "FEDERANGE_DATABASE_URL": database_url,
            "FEDERANGE_SECRET_KEY": secrets.token_urlsafe(32),
            "FEDERANGE_HOST": "127.0.0.1",  # host network: listen on loopback only
            "FEDERANGE_PORT": str(port),
            "FEDERANGE_SCHEDULER_TICK_SECONDS": "0.5",
            "FEDERANGE_PROBE_INTERVAL_SECONDS": "3600",
        },
    )
    try:
        # The API will not serve an unmigrated database and names the command that fixes it.
        status, out, err = roles.run("api-unmigrated", "api", timeout=60)
        assert status != 0 and "federange db upgrade" in out + err, (status, out, err)

        status, out, err = roles.run("migrate", "db", "upgrade")
        assert status == 0, (out, err)
        assert f"is at revision {head_revision()}" in out, out
        db = create_engine(database_url)
        try:
            with db.connect() as connection:
                revision = connection.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
            assert revision == head_revision()
            assert set(Base.metadata.tables) <= set(inspect(db).get_table_names())
        finally:
            db.dispose()

        status, token, err = roles.run("bootstrap", "admin", "bootstrap", "--country", "BE")
        assert status == 0, err
        admin = token.strip()
        assert admin and "\n" not in admin, token

        api = roles.start("api", "api")
        roles.start("scheduler", "scheduler")
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
            wait_for(
                lambda: answer(http, "/health"),
                lambda a: a == (200, {"status": "ok"}),
                timeout=90,
                what="/health",
                roles=roles,
            )
            assert answer(http, "/ready") == (200, {"status": "ready"})

            code, output = roles.exec(
                api, "sh", "-c", "id -u; id -g; touch /opt/federange/probe 2>&1; touch /tmp/ok"
            )
            lines = output.splitlines()
            assert lines[:2] == [str(UID), str(UID)], output
            assert "Read-only file system" in output and code == 0, output

            exercise, trainer = run_an_exercise(http, admin, roles)
            cancelled = http.post(f"/api/v1/exercises/{exercise}/cancel", headers=auth(trainer))
            assert cancelled.status_code == 200, cancelled.text
            final = wait_for(
                lambda: http.get(f"/api/v1/exercises/{exercise}", headers=auth(trainer)).json(),
                lambda e: e["status"] == "cancelled" and {t["stage"] for t in e["teams"]} == {"done"},
                timeout=120,
                what="teardown after cancel",
                roles=roles,
            )
            assert len(final["teams"]) == 2
            bookings = http.get("/api/v1/bookings", params={"reference": exercise}, headers=auth(trainer))
            assert {b["status"] for b in bookings.json()["items"]} == {"released"}  # used, then given back
        inspected = engine.inspect_container(api)
        assert inspected["HostConfig"]["ReadonlyRootfs"] is True
        assert inspected["Config"]["User"] == f"{UID}:{UID}"
    finally:
        roles.remove_all()


def run_an_exercise(http: httpx.Client, admin: str, roles: Roles) -> tuple[str, str]:
    """A trainer's exercise of two teams on a fake range, starting now: (its id, the trainer's token), once
    every team is ready."""
    operator_org = create_org(http, admin, "EE range operator", "EE")
    operator = issue(http, admin, operator_org, "operator", "ee-ops")
    registered = http.post(
        "/api/v1/ranges",
        json={
            "slug": "ee-fake",
            "name": "Estonian simulated range",
            "country": "EE",
            "capabilities": ["containers", "egress"],
            "capacity": {"cpu_millicores": 8000, "memory_mib": 16384, "slots": 4, "gpus": 0},
            "connector": {"kind": "fake", "config": {"world": f"image-smoke-{roles.run_id}"}},
        },
        headers=auth(operator),
    )
    assert registered.status_code == 201, registered.text
    school = create_org(http, admin, "Baltic cyber school", "EE", kind="training_provider")
    trainer = issue(http, admin, school, "trainer", "trainer")
    now = datetime.now(UTC)
    created = http.post(
        "/api/v1/exercises",
        json={
            "name": "Image smoke test",
            "scenario": "ctf-starter",
            "teams": [{"name": n, "organisation": "CERT-EE", "country": "EE"} for n in ("red", "blue")],
            "start": now.isoformat(),
            "end": (now + timedelta(minutes=30)).isoformat(),
            "lead_minutes": 0,
            "constraints": {},
        },
        headers=auth(trainer),
    )
    assert created.status_code == 201, created.text
    exercise: str = created.json()["id"]
    wait_for(
        lambda: http.get(f"/api/v1/exercises/{exercise}", headers=auth(trainer)).json(),
        lambda e: {t["stage"] for t in e["teams"]} == {"ready"},
        timeout=120,
        what="every team ready",
        roles=roles,
    )
    return exercise, trainer
