"""A federation on one machine: a hub and two national instances, each a real `federange server`
process with its own database (LV on SQLite, EE on PostgreSQL, the hub on SQLite), the nationals'
ranges on the fake connector with a simulated credential each, published to the hub."""

from __future__ import annotations

import os
import ssl
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from orchestrator.cli.demo_federation import SCENARIO
from tests.support.databases import fresh_database
from tests.support.faultproxy import FaultProxy, fault_proxy
from tests.support.federation import FederangeProcess, fake_range, wait_for

#: The scenario `federange demo --federation` runs: small enough for the fake connector, with a
#: credential handed to each team, and no provisioning (a peer's range is provisioned only at home).
SCENARIO_NAME = "federation-drill"


@dataclass
class National:
    process: FederangeProcess
    range_slug: str
    secret: str  # the range's simulated credential: must never leave this instance
    operator: str
    peer_org: str  # the hub, as an organisation of this instance
    peer_token: str  # what the hub holds
    proxy: FaultProxy | None = None

    @property
    def reach(self) -> str:
        """Where the hub reaches this instance (through its fault proxy when there is one)."""
        return f"http://127.0.0.1:{self.proxy.port}" if self.proxy else self.process.url


@dataclass
class World:
    hub: FederangeProcess
    lv: National
    ee: National
    trainer: str
    hub_range: str = "be-range"
    hub_secret: str = ""
    responses: list[str] = field(default_factory=list)

    def hub_call(self, method: str, path: str, token: str | None = None, **kwargs: Any) -> Any:
        response = self.hub.call(method, path, token or self.trainer, **kwargs)
        self.responses.append(response.text)
        return response

    def exercise(self, exercise_id: str) -> dict[str, Any]:
        """The exercise as the trainer reads it on the hub."""
        found: dict[str, Any] = self.hub.made("GET", f"/api/v1/exercises/{exercise_id}", self.trainer)
        return found

    def wait_every_team(self, exercise_id: str, stage: str = "ready", *, timeout: float = 90) -> None:
        wait_for(
            lambda: {t["stage"] for t in self.exercise(exercise_id)["teams"]} == {stage},
            timeout=timeout,
            what=f"every team {stage}",
        )

    def cli(self, *args: str) -> tuple[int, str]:
        """`federange <args>` against the hub as the trainer: the exit code, and what it said (stdout
        and stderr, whitespace runs made one space so wrapped table cells read as one line)."""
        done = subprocess.run(
            [sys.executable, "-m", "orchestrator.cli", *args],
            env={
                **os.environ,
                "FEDERANGE_URL": self.hub.url,
                "FEDERANGE_TOKEN": self.trainer,
                "COLUMNS": "250",
            },
            capture_output=True,
            timeout=60,
            check=False,
        )
        return done.returncode, " ".join((done.stdout.decode() + done.stderr.decode()).split())

    def exercise_body(
        self, name: str = "baltic drill", *, teams: int = 3, minutes: int = 120
    ) -> dict[str, Any]:
        start = datetime.now(UTC) + timedelta(minutes=1)
        countries = ["BE", "LV", "EE"]
        return {
            "name": name,
            "scenario": SCENARIO_NAME,
            "teams": [
                {
                    "name": f"team-{countries[i % 3].lower()}-{i}",
                    "organisation": "CERT",
                    "country": countries[i % 3],
                }
                for i in range(teams)
            ],
            "start": start.isoformat(),
            "end": (start + timedelta(minutes=minutes)).isoformat(),
            "lead_minutes": 15,
            "constraints": {"min_ranges": min(teams, 3), "max_teams_per_range": max(1, teams // 3)},
        }


def national(
    stack: ExitStack,
    tmp: Path,
    name: str,
    country: str,
    *,
    backend: str,
    slots: int,
    hold_ttl: int,
    proxy: bool,
    env: dict[str, str] | None = None,
    tls: ssl.SSLContext | None = None,
) -> National:
    """A national instance with one fake range published to the hub (an organisation here, with a peer
    token); `env` adds settings (FEDERANGE_TLS_* to serve over TLS, with `tls` for the test's calls)."""
    url = stack.enter_context(fresh_database(backend, tmp / name))
    (tmp / name).mkdir(parents=True, exist_ok=True)
    process = FederangeProcess(
        name=name,
        country=country,
        database_url=url,
        data_dir=tmp / name,
        extra_env={"FEDERANGE_HOLD_TTL_SECONDS": str(hold_ttl), **(env or {})},
        tls=tls,
    )
    process.setup()
    process.start()
    stack.callback(process.stop)
    operator_org = process.org(f"{country} range operator", country, "range_operator")
    operator = process.token(operator_org, "operator", f"{name}-ops")
    secret = f"{name}-KUBECONFIG-{uuid.uuid4().hex}"
    slug = f"{country.lower()}-range"
    process.made(
        "POST", "/api/v1/ranges", operator, json=fake_range(slug, country, slots=slots, secret=secret)
    )
    peer_org = process.org("EU hub", "BE", "federation_peer")
    peer_token = process.token(peer_org, "peer", "eu-hub")
    process.made("PUT", f"/api/v1/ranges/{slug}/publications/{peer_org}", operator)
    front = stack.enter_context(fault_proxy(f"127.0.0.1:{process.port}")) if proxy else None
    return National(
        process=process,
        range_slug=slug,
        secret=secret,
        operator=operator,
        peer_org=peer_org,
        peer_token=peer_token,
        proxy=front,
    )


@contextmanager
def federation(
    tmp: Path,
    *,
    slots: int = 4,
    hold_ttl: int = 600,
    proxies: bool = True,
    hub_env: dict[str, str] | None = None,
) -> Iterator[World]:
    with ExitStack() as stack:
        lv = national(
            stack, tmp, "lv-hub", "LV", backend="sqlite", slots=slots, hold_ttl=hold_ttl, proxy=proxies
        )
        ee = national(
            stack, tmp, "ee-hub", "EE", backend="postgres", slots=slots, hold_ttl=hold_ttl, proxy=proxies
        )
        hub_url = stack.enter_context(fresh_database("sqlite", tmp / "eu"))
        hub = FederangeProcess(
            name="eu-hub", country="BE", database_url=hub_url, data_dir=tmp / "eu", extra_env=hub_env or {}
        )
        hub.setup()
        hub.start()
        stack.callback(hub.stop)
        ops_org = hub.org("BE range operator", "BE", "range_operator")
        ops = hub.token(ops_org, "operator", "be-ops")
        hub_secret = f"be-KUBECONFIG-{uuid.uuid4().hex}"
        hub.made(
            "POST", "/api/v1/ranges", ops, json=fake_range("be-range", "BE", slots=slots, secret=hub_secret)
        )
        school = hub.org("EU cyber school", "BE", "training_provider")
        trainer = hub.token(school, "trainer", "trainer-ana")
        upload = hub.call(
            "POST",
            "/api/v1/scenarios",
            trainer,
            content=SCENARIO,
            headers={"Content-Type": "application/yaml", "Authorization": f"Bearer {trainer}"},
        )
        assert upload.status_code == 201, upload.text
        for home in (lv, ee):
            hub.made(
                "POST",
                "/api/v1/peers",
                json={
                    "name": home.process.name,
                    "base_url": home.reach,
                    "token": home.peer_token,
                },
            )
        yield World(hub=hub, lv=lv, ee=ee, trainer=trainer, hub_secret=hub_secret)
