"""Researcher environments through the API: launch-to-ready, warm-pool claims, delete-to-teardown.

    .venv/bin/python bench/environment.py [--launches 30] [--claims 60] [--sqlite] [--processes]

About a minute on a 2-core machine, on a fresh PostgreSQL database (the local test server or
FEDERANGE_TEST_POSTGRES_URL; `--sqlite` adds a SQLite file). The scheduler's due-actions tick is set to
30 s, so only its wake-ups can be quick. Where the server runs:
- by default, in the bench's own process: a live API server (HTTP on 127.0.0.1) and the real scheduler
  (`SchedulerRunner`: its ticks and its wake loop), beside the bench's polling;
- `--processes`: as the chart runs it, a `federange api` process and a `federange scheduler` process
  (woken through PostgreSQL's NOTIFY), the bench a client of their HTTP API alone (PostgreSQL only).
One simulated range (connector `fake`, deploys instant, ready at once) holds every environment; a
researcher launches `ctf-starter`. Every timed request goes over one keep-alive connection of a plain
HTTP/1.1 client (the standard library's `http.client`); the polls go through httpx.

- launch-to-ready: wall time from sending `POST /api/v1/environments` until `GET` of the environment
  (teams_limit=0, polled every 10 ms; in process the poll shares the process with the server) shows
  its one team `ready` (placement, booking, deploy action written, the scheduler woken, the deploy run,
  simulated provisioning, settled), over --launches sequential launches;
- delete: the `DELETE` response time, and from its response until the environment is `tearing_down`
  or over (the teardown has started: the scheduler ran `exercise.teardown`);
- warm-pool claim: the operator keeps a pool of `ctf-starter` on the range (min_ready = --claims);
  once all are ready, --claims sequential `POST /api/v1/environments` each claim one, answered `ready`.
  Then --spaced more, each once the pool has refilled (no refill deploying beside the claim).
  The baseline in the same run: the same POST answered by an ordinary launch (no pool: placement,
  booking, a deploy to come), measured in the launch series above.

Figures are p50 / p99 in milliseconds (p99 of 30 is the second largest).
"""

from __future__ import annotations

import argparse
import http.client
import json
import logging
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx

from bench.api import server as api_server
from orchestrator.db import migrate
from orchestrator.db.engine import make_engine
from orchestrator.scheduler.runner import SchedulerRunner
from orchestrator.settings import Settings
from orchestrator.wiring import build
from tests.integration.catalogue.helpers import auth, create_org, issue
from tests.support.databases import fresh_database, postgres_admin_url, postgres_available
from tests.support.live import free_port, serve

SCENARIO = "ctf-starter"
CAPACITY = {"cpu_millicores": 10_000_000, "memory_mib": 10_000_000, "slots": 10_000, "gpus": 0}
POLICY = {"max_foreign_share": 1.0, "max_booking_minutes": None}
PATIENCE = 30.0
#: An environment whose teardown has started (or finished).
OVER = ("tearing_down", "cancelled", "done")


@dataclass
class Figures:
    launch_post: list[float] = field(default_factory=list)
    launch_ready: list[float] = field(default_factory=list)
    delete: list[float] = field(default_factory=list)
    teardown_start: list[float] = field(default_factory=list)
    claim: list[float] = field(default_factory=list)
    spaced_claim: list[float] = field(default_factory=list)


def wait(what: str, probe: Callable[[], bool], *, pause: float = 0.01) -> None:
    deadline = time.monotonic() + PATIENCE
    while not probe():
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not happen within {PATIENCE} s")
        time.sleep(pause)


def summary(http: httpx.Client, token: str, env_id: str) -> dict[str, Any]:
    got = http.get(f"/api/v1/environments/{env_id}", params={"teams_limit": 0}, headers=auth(token))
    got.raise_for_status()
    body: dict[str, Any] = got.json()
    return body


class Timed:
    """The timed requests: one keep-alive HTTP/1.1 connection to the API (`http.client`)."""

    def __init__(self, base_url: str) -> None:
        host, port = base_url.removeprefix("http://").rsplit(":", 1)
        self.connection = http.client.HTTPConnection(host, int(port))

    def send(self, method: str, path: str, token: str, body: Any = None) -> tuple[int, Any, float]:
        headers = {"authorization": f"Bearer {token}", "content-type": "application/json"}
        started = time.perf_counter()
        self.connection.request(method, path, None if body is None else json.dumps(body), headers)
        answer = self.connection.getresponse()
        data = answer.read()
        took = time.perf_counter() - started
        return answer.status, json.loads(data) if data else None, took


def launch(timed: Timed, token: str) -> tuple[dict[str, Any], float]:
    status, body, took = timed.send(
        "POST", "/api/v1/environments", token, {"scenario": SCENARIO, "ttl_minutes": 60}
    )
    if status != 201:
        raise RuntimeError(f"launch refused: {body}")
    return body, took


@contextmanager
def in_process(settings: Settings) -> Iterator[tuple[str, Callable[[], None]]]:
    """The API and the scheduler in this process: (base URL, start the scheduler)."""
    services = build(settings)
    runner = SchedulerRunner(services)
    try:
        with serve(services) as api:
            yield api, runner.start
    finally:
        runner.shutdown()
        services.close()


@contextmanager
def as_processes(settings: Settings) -> Iterator[tuple[str, Callable[[], None]]]:
    """A `federange api` process (bench/api.py's) and, once started, a `federange scheduler` process,
    on the same database and settings."""
    env = {f"FEDERANGE_{name.upper()}": str(getattr(settings, name)) for name in SERVER_SETTINGS}
    port = free_port()
    schedulers: list[subprocess.Popen[bytes]] = []

    def start_scheduler() -> None:
        command = [sys.executable, "-m", "orchestrator.cli", "scheduler"]
        schedulers.append(
            subprocess.Popen(command, env={**os.environ, **env, "FEDERANGE_LOG_LEVEL": "WARNING"})
        )

    try:
        with api_server(settings.database_url, 1, port, settings=env):
            yield f"http://127.0.0.1:{port}", start_scheduler
    finally:
        for proc in schedulers:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()


#: What `measure` sets, handed to the server processes by their environment variables.
SERVER_SETTINGS = (
    "database_url",
    "data_dir",
    "secret_key",
    "scheduler_tick_seconds",
    "probe_interval_seconds",
    "reconcile_interval_seconds",
    "heal_interval_seconds",
    "default_quota_cpu_millicores",
    "default_quota_memory_mib",
    "default_quota_slots",
    "default_quota_gpus",
)


def measure(backend: str, launches: int, claims: int, spaced: int, *, processes: bool = False) -> Figures:
    figs = Figures()
    with (
        tempfile.TemporaryDirectory(prefix="federange-bench-") as tmp,
        fresh_database(backend, Path(tmp)) as url,
    ):
        settings = Settings(
            database_url=url,
            data_dir=Path(tmp) / "data",
            secret_key="bench-secret-key-0123456789abcdef",
            scheduler_tick_seconds=30.0,
            probe_interval_seconds=3600,
            reconcile_interval_seconds=3600,
            heal_interval_seconds=3600,
            default_quota_cpu_millicores=0,
            default_quota_memory_mib=0,
            default_quota_slots=0,
            default_quota_gpus=0,
        )
        engine = make_engine(settings.resolved_database_url())
        migrate.upgrade(engine)
        engine.dispose()
        services = build(settings)
        try:
            with services.uow() as uow:
                admin = (
                    services.catalogue(uow.catalogue)
                    .bootstrap_admin(organisation_name="Federation admin", country="BE")
                    .plaintext
                )
        finally:
            services.close()
        server = as_processes if processes else in_process
        with server(settings) as (api, start_scheduler), httpx.Client(base_url=api, timeout=60) as http:
            timed = Timed(api)
            operator_org = create_org(http, admin, "EE range operator", "EE")
            operator = issue(http, admin, operator_org, "operator", "ee-ops")
            lab = create_org(http, admin, "Tartu research lab", "EE", kind="research")
            researcher = issue(http, admin, lab, "researcher", "researcher-juri")
            body = {
                "slug": "ee-range",
                "name": "EE simulated range",
                "country": "EE",
                "capabilities": ["containers"],
                "capacity": CAPACITY,
                "policy": POLICY,
                "connector": {"kind": "fake", "config": {"world": f"bench-env-{uuid.uuid4().hex[:8]}"}},
            }
            http.post("/api/v1/ranges", json=body, headers=auth(operator)).raise_for_status()
            start_scheduler()
            time.sleep(1.0)  # the ticks' first run at start is over: what follows rides on wake-ups
            # warm-up (first requests, caches; the scheduler up and woken), untimed
            warm, _ = launch(timed, researcher)
            wait(
                "warm-up ready", lambda: summary(http, researcher, warm["id"])["team_stages"] == {"ready": 1}
            )

            for _ in range(launches):
                started = time.perf_counter()
                env, took = launch(timed, researcher)
                env_id: str = env["id"]
                wait("ready", lambda i=env_id: summary(http, researcher, i)["team_stages"] == {"ready": 1})
                figs.launch_ready.append(time.perf_counter() - started)
                figs.launch_post.append(took)
                status, _, took = timed.send("DELETE", f"/api/v1/environments/{env_id}", researcher)
                answered = time.perf_counter()
                if status != 200:
                    raise RuntimeError(f"delete answered {status}")
                figs.delete.append(took)
                wait("teardown", lambda i=env_id: summary(http, researcher, i)["status"] in OVER)
                figs.teardown_start.append(time.perf_counter() - answered)

            pool = http.post(
                "/api/v1/ranges/ee-range/pools",
                json={"scenario": SCENARIO, "min_ready": claims, "max_ready": claims},
                headers=auth(operator),
            )
            if pool.status_code != 201:
                raise RuntimeError(f"pool refused: {pool.text}")
            pool_path = f"/api/v1/pools/{pool.json()['id']}"

            def all_ready() -> bool:
                return bool(http.get(pool_path, headers=auth(operator)).json()["ready"] == claims)

            wait("the pool ready", all_ready, pause=0.05)
            for _ in range(claims):
                env, took = launch(timed, researcher)
                if env["teams"][0]["stage"] != "ready":
                    raise RuntimeError(f"not claimed from the pool: {env['status_reason']}")
                figs.claim.append(took)
            for _ in range(spaced):  # each claim after the pool has refilled: no refill beside it
                wait("the pool refilled", all_ready, pause=0.05)
                env, took = launch(timed, researcher)
                if env["teams"][0]["stage"] != "ready":
                    raise RuntimeError(f"not claimed from the pool: {env['status_reason']}")
                figs.spaced_claim.append(took)
    return figs


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] * 1000


def line(what: str, values: list[float]) -> str:
    p50, p99, most = pct(values, 0.5), pct(values, 0.99), max(values) * 1000
    return f"| {what} | {len(values)} | {p50:.1f} | {p99:.1f} | {most:.1f} |"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--launches", type=int, default=30)
    parser.add_argument("--claims", type=int, default=60)
    parser.add_argument("--spaced", type=int, default=20, help="claims each made once the pool refilled")
    parser.add_argument("--sqlite", action="store_true", help="also measure on a SQLite file")
    parser.add_argument(
        "--processes", action="store_true", help="`federange api` and `federange scheduler` processes"
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    ok, reason = postgres_available()
    if not ok:
        sys.exit(reason)
    if args.processes and args.sqlite:
        sys.exit("--processes runs on PostgreSQL only (the processes are woken through its NOTIFY)")
    backends = ["postgres"] + (["sqlite"] if args.sqlite else [])
    load = os.getloadavg()
    print(
        f"# Environments: Python {platform.python_version()}, {os.cpu_count()} CPUs, load average "
        f"{load[0]:.1f} {load[1]:.1f} {load[2]:.1f}; due-actions tick 30 s (wake-ups only); server "
        f"{'as federange api + federange scheduler processes' if args.processes else 'in this process'}"
    )
    for backend in backends:
        where = postgres_admin_url().rsplit("@", 1)[-1] if backend == "postgres" else "a temporary file"
        figs = measure(backend, args.launches, args.claims, args.spaced, processes=args.processes)
        print(f"\n## {backend} ({where})\n")
        print("| what | n | p50 ms | p99 ms | max ms |")
        print("| --- | ---: | ---: | ---: | ---: |")
        print(line("launch: POST answered (ordinary launch, the baseline)", figs.launch_post))
        print(line("launch to ready", figs.launch_ready))
        print(line("warm-pool claim: POST answered, ready (back to back, refills running)", figs.claim))
        print(line("warm-pool claim: POST answered, ready (each once the pool refilled)", figs.spaced_claim))
        print(line("delete: DELETE answered", figs.delete))
        print(line("delete answered to teardown started", figs.teardown_start))
        base = statistics.median(figs.launch_post)
        print(
            f"\nclaim p50 / ordinary launch p50 = {statistics.median(figs.claim) / base:.2f} back to back, "
            f"{statistics.median(figs.spaced_claim) / base:.2f} spaced"
        )


if __name__ == "__main__":
    main()
