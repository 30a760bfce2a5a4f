"""Exercise lifecycle benchmark: what the scheduler adds on top of the range's own deploy and teardown time.

    .venv/bin/python bench/exercise.py [--sizes 50,200,500] [--rounds 1] [--latency 0.02] [--sqlite]

About four minutes on a 2-core machine with the defaults.

An exercise of N team instances (the `ctf-starter` library scenario, 500 millicores / 128 MiB / 1 slot
per team) is placed over 4 simulated ranges (connector kind `fake`, each in its own world, capacity for
every team; `min_ranges: 4` and one team country per range, so every range gets N/4 teams). Every deploy
on a fake range sleeps `deploy_latency` (--latency, 0.02 s by default, so that orchestration, not the
range, dominates) and is ready at once (`ready_after: 0`); a teardown costs no range time. Then, on a
frozen clock, with `Settings.action_parallelism = 8`:

- scheduler deploy: the wall time of advancing the clock to the deploy time (start - lead) and running
  the real action runner (`orchestrator.scheduler.ticks.action_runner`: tick, drain, until a tick claims
  nothing) until every team is `ready`;
- scheduler teardown: the same from the end time until every team is `done`, its instance gone from the
  range and every booking released (the readiness deadline and end warning run before, untimed).

The baseline, in the same run: the same N deploys, on the same ranges with the same connector
configuration, called directly from a `ThreadPoolExecutor(max_workers=8)` (`connector.deploy` then
`connector.wait_ready`), then `connector.teardown` for each: the floor the scheduler could reach with the
same parallelism (N * latency / 8 for deploys). The second table is the per-team cost (scheduler seconds
/ N, and the bench process's CPU seconds / N, which machine load disturbs far less than wall time) and
its ratio to the smallest size's: flat orchestration keeps it near 1.0. Sizes are interleaved round by
round; the first table shows medians, the per-team table the best (least disturbed)
round. Each ratio is scheduler
/ baseline (1.0 would be free orchestration). The federation and the exercise are created over HTTP
against a live API server (untimed); every size gets a fresh database (PostgreSQL by default, the local
test server or FEDERANGE_TEST_POSTGRES_URL; `--sqlite` adds a SQLite file). Figures are medians over
--rounds exercises. Printed under each table: how many range deploys overlapped, the transactions and SQL
statements SQLAlchemy saw and the CPU time of this process (API server, runner and its pool) during the
timed phases.
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
from sqlalchemy import event

from connectors import fake
from connectors.base import InstanceSpec, Phase
from orchestrator.db import migrate
from orchestrator.db.engine import make_engine
from orchestrator.domain.clock import FrozenClock
from orchestrator.settings import Settings
from orchestrator.wiring import Services, build
from scenarios.library import load_library
from scenarios.materialise import materialise
from scenarios.serialise import dump_yaml
from tests.integration.catalogue.helpers import auth, create_org, issue
from tests.integration.exercises.helpers import CTF, Driver
from tests.support.databases import fresh_database, postgres_admin_url, postgres_available
from tests.support.live import serve

SIZES = (50, 200, 500)
PARALLELISM = 8
DEPLOY_LATENCY = 0.02
RANGES = {"ee-range": "EE", "lv-range": "LV", "fi-range": "FI", "lt-range": "LT"}
CAPACITY = {"cpu_millicores": 512_000, "memory_mib": 524_288, "slots": 1024, "gpus": 0}
#: The operators share their ranges with every country, for any length (the bench's school is foreign
#: on three of them).
POLICY = {"max_foreign_share": 1.0, "max_booking_minutes": None}
T0 = datetime(2031, 3, 2, 8, 0, tzinfo=UTC)
LEAD = timedelta(minutes=15)
WARN = timedelta(minutes=10)
LENGTH = timedelta(hours=2)


@dataclass
class Counts:
    """Transactions committed and statements executed through SQLAlchemy while `on`."""

    on: bool = False
    commits: int = 0
    statements: int = 0

    def attach(self, services: Services) -> None:
        def commit(_conn: Any) -> None:
            if self.on:
                self.commits += 1

        def statement(*_args: Any) -> None:
            if self.on:
                self.statements += 1

        event.listen(services.engine, "commit", commit)
        event.listen(services.engine, "before_cursor_execute", statement)

    @contextmanager
    def counting(self) -> Iterator[None]:
        self.commits = self.statements = 0
        self.on = True
        try:
            yield
        finally:
            self.on = False


@dataclass
class Figures:
    sched_deploy: list[float] = field(default_factory=list)
    base_deploy: list[float] = field(default_factory=list)
    sched_teardown: list[float] = field(default_factory=list)
    base_teardown: list[float] = field(default_factory=list)
    deploy_sql: tuple[int, int] = (0, 0)
    in_flight: tuple[float, int] = (0.0, 0)
    cpu: tuple[float, float] = (0.0, 0.0)
    teardown_sql: tuple[int, int] = (0, 0)
    per_range: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Federation:
    trainer: str
    configs: dict[str, dict[str, Any]]


def federation(http: httpx.Client, admin: str, latency: float) -> Federation:
    school = create_org(http, admin, "Bench school", "EE", kind="training_provider")
    trainer = issue(http, admin, school, "trainer", "bench-trainer")
    configs: dict[str, dict[str, Any]] = {}
    for slug, country in RANGES.items():
        org = create_org(http, admin, f"{country} range operator", country)
        operator = issue(http, admin, org, "operator", f"{slug}-ops")
        config = {
            "world": f"bench-{slug}-{uuid.uuid4().hex[:8]}",
            "deploy_latency": latency,
            "ready_after": 0,
            "capacity": CAPACITY,
        }
        body = {
            "slug": slug,
            "name": f"{country} simulated range",
            "country": country,
            "capabilities": ["containers"],
            "capacity": CAPACITY,
            "policy": POLICY,
            "connector": {"kind": "fake", "config": config},
        }
        created = http.post("/api/v1/ranges", json=body, headers=auth(operator))
        if created.status_code != 201:
            raise RuntimeError(f"range {slug} refused: {created.text}")
        configs[slug] = config
    return Federation(trainer=trainer, configs=configs)


def exercise(http: httpx.Client, fed: Federation, n: int, start: datetime) -> dict[str, Any]:
    countries = list(RANGES.values())
    body = {
        "name": f"Bench exercise of {n} teams",
        "scenario": CTF,
        "teams": [
            {"name": f"team-{i:03d}", "organisation": "bench", "country": countries[i % len(countries)]}
            for i in range(n)
        ],
        "start": start.isoformat(),
        "end": (start + LENGTH).isoformat(),
        "lead_minutes": int(LEAD.total_seconds() // 60),
        "warn_minutes": int(WARN.total_seconds() // 60),
        "constraints": {"min_ranges": len(RANGES)},
    }
    created = http.post("/api/v1/exercises", json=body, headers=auth(fed.trainer))
    if created.status_code != 201:
        raise RuntimeError(f"exercise refused: {created.text}")
    result: dict[str, Any] = created.json()
    return result


def state(http: httpx.Client, fed: Federation, exercise_id: str) -> dict[str, Any]:
    """The exercise with its per-stage team counts (no team list: constant cost whatever N)."""
    got = http.get(f"/api/v1/exercises/{exercise_id}", params={"teams_limit": 0}, headers=auth(fed.trainer))
    got.raise_for_status()
    result: dict[str, Any] = got.json()
    return result


def check(ok: bool, what: str, detail: object) -> None:
    if not ok:
        raise RuntimeError(f"{what}: {detail}")


def in_flight(fed: Federation, latency: float) -> tuple[float, int]:
    """How many range deploys overlapped: the mean over the span from the first deploy's start to the
    last one's end, and the most at once (a fake deploy ends `deploy_latency` after it starts)."""
    ends = [d.deployed_at for c in fed.configs.values() for d in fake.world(c["world"]).instances.values()]
    edges = sorted([(t - latency, 1) for t in ends] + [(t, -1) for t in ends])
    now = most = 0
    for _, step in edges:
        now += step
        most = max(most, now)
    span = max(ends) - min(ends) + latency
    return len(ends) * latency / span, most


def advance_to(driver: Driver, when: datetime, n: int) -> float:
    """Set the clock and run every action due (tick + drain until a tick claims nothing); wall seconds."""
    started = time.perf_counter()
    driver.clock.set(when)
    driver.run_due(rounds=4 * n + 20)  # Driver.advance_to stops after 10 rounds (80 actions at 8)
    return time.perf_counter() - started


def scheduler_round(
    http: httpx.Client,
    fed: Federation,
    driver: Driver,
    counts: Counts,
    n: int,
    start: datetime,
    figs: Figures,
    latency: float,
) -> dict[str, Any]:
    created = exercise(http, fed, n, start)
    deploy_at = datetime.fromisoformat(created["deploy_at"])
    check(deploy_at == start - LEAD, "deploy time", created["deploy_at"])
    per_range: dict[str, int] = {}
    for team in created["teams"]:
        per_range[team["range"]] = per_range.get(team["range"], 0) + 1
    check(len(per_range) == len(RANGES), "placement uses every range", per_range)
    figs.per_range = per_range

    cpu = time.process_time()
    with counts.counting():
        figs.sched_deploy.append(advance_to(driver, deploy_at, n))
    deploy_cpu = time.process_time() - cpu
    figs.deploy_sql = (counts.commits, counts.statements)
    running = state(http, fed, created["id"])
    check(
        running["status"] == "running" and running["team_stages"] == {"ready": n},
        "every team ready",
        (running["status"], running["team_stages"]),
    )
    deployed = sum(len(fake.world(c["world"]).instances) for c in fed.configs.values())
    check(deployed == n, "instances on the ranges", deployed)
    figs.in_flight = in_flight(fed, latency)

    advance_to(driver, start, n)  # readiness deadline (untimed)
    advance_to(driver, start + LENGTH - WARN, n)  # end warning (untimed)
    cpu = time.process_time()
    with counts.counting():
        figs.sched_teardown.append(advance_to(driver, start + LENGTH, n))
    figs.cpu = (deploy_cpu, time.process_time() - cpu)
    figs.teardown_sql = (counts.commits, counts.statements)
    done = state(http, fed, created["id"])
    check(
        done["status"] == "done" and done["team_stages"] == {"done": n},
        "every team done",
        (done["status"], done["team_stages"]),
    )
    left = sum(len(fake.world(c["world"]).instances) for c in fed.configs.values())
    check(left == 0, "instances left on the ranges", left)
    bookings = http.get(
        "/api/v1/bookings", params={"reference": created["id"]}, headers=auth(fed.trainer)
    ).json()["items"]
    released = {b["status"] for b in bookings}
    check(len(bookings) == len(RANGES) and released == {"released"}, "bookings released", released)
    return created


def baseline_round(services: Services, fed: Federation, created: dict[str, Any], figs: Figures) -> None:
    """The same deploys and teardowns straight through the connectors, 8 at a time."""
    scenario = load_library(CTF)
    connectors = {slug: fake.FakeConnector(config) for slug, config in fed.configs.items()}
    work: list[tuple[fake.FakeConnector, InstanceSpec]] = []
    for team in created["teams"]:
        instance_id = f"b-{uuid.uuid4().hex[:12]}"
        spec = InstanceSpec(
            instance_id=instance_id,
            exercise=created["id"],
            team=team["team"],
            scenario_document=dump_yaml(scenario),
            values=materialise(scenario, seed=services.seed, instance_id=instance_id),
        )
        work.append((connectors[team["range"]], spec))

    def up(item: tuple[fake.FakeConnector, InstanceSpec]) -> None:
        connector, spec = item
        connector.deploy(instance=spec)
        status = connector.wait_ready(instance_id=spec.instance_id, timeout=600)
        check(status.phase is Phase.READY, "baseline ready", status)

    def down(item: tuple[fake.FakeConnector, InstanceSpec]) -> None:
        connector, spec = item
        connector.teardown(instance_id=spec.instance_id)

    with ThreadPoolExecutor(max_workers=PARALLELISM, thread_name_prefix="baseline") as pool:
        started = time.perf_counter()
        list(pool.map(up, work))
        figs.base_deploy.append(time.perf_counter() - started)
        started = time.perf_counter()
        list(pool.map(down, work))
        figs.base_teardown.append(time.perf_counter() - started)
    left = sum(len(fake.world(c["world"]).instances) for c in fed.configs.values())
    check(left == 0, "baseline instances left", left)


def measure(backend: str, n: int, rounds: int, latency: float) -> Figures:
    figs = Figures()
    with (
        tempfile.TemporaryDirectory(prefix="federange-bench-") as tmp,
        fresh_database(backend, Path(tmp)) as url,
    ):
        settings = Settings(
            database_url=url,
            data_dir=Path(tmp) / "data",
            secret_key="bench-secret-key-0123456789abcdef",
            action_parallelism=PARALLELISM,
            default_quota_cpu_millicores=0,
            default_quota_memory_mib=0,
            default_quota_slots=0,
            default_quota_gpus=0,
        )
        engine = make_engine(settings.resolved_database_url())
        migrate.upgrade(engine)
        engine.dispose()
        services = build(settings)
        clock = FrozenClock(T0)
        services.clock = clock
        counts = Counts()
        counts.attach(services)
        driver = Driver(services, clock)
        try:
            with services.uow() as uow:
                admin = (
                    services.catalogue(uow.catalogue)
                    .bootstrap_admin(organisation_name="Federation admin", country="BE")
                    .plaintext
                )
            with serve(services) as api, httpx.Client(base_url=api, timeout=120) as http:
                fed = federation(http, admin, latency)
                for r in range(rounds):
                    now = T0 + timedelta(days=7 * r)
                    clock.set(now)
                    created = scheduler_round(
                        http, fed, driver, counts, n, now + timedelta(days=1), figs, latency
                    )
                    baseline_round(services, fed, created, figs)
        finally:
            driver.close()
            services.close()
    return figs


def per_team(n: int, figs: Figures, cpu: list[tuple[float, float]]) -> tuple[float, float, float, float]:
    """Seconds per team of the best round: deploy and teardown wall time, then process CPU."""
    return (
        min(figs.sched_deploy) / n,
        min(figs.sched_teardown) / n,
        min(c[0] for c in cpu) / n,
        min(c[1] for c in cpu) / n,
    )


def merge(into: Figures, one: Figures) -> None:
    """Add one round's figures (its lists) to `into`; counts and notes are the latest round's."""
    into.sched_deploy += one.sched_deploy
    into.base_deploy += one.base_deploy
    into.sched_teardown += one.sched_teardown
    into.base_teardown += one.base_teardown
    into.deploy_sql, into.teardown_sql = one.deploy_sql, one.teardown_sql
    into.in_flight, into.cpu, into.per_range = one.in_flight, one.cpu, one.per_range


def row(n: int, figs: Figures) -> str:
    sd, bd = statistics.median(figs.sched_deploy), statistics.median(figs.base_deploy)
    st, bt = statistics.median(figs.sched_teardown), statistics.median(figs.base_teardown)
    return f"| {n} | {sd:.2f} | {bd:.2f} | {sd / bd:.2f}x | {st:.2f} | {bt:.4f} | {st / bt:,.0f}x |"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)), help="team counts, comma-separated")
    parser.add_argument("--rounds", type=int, default=1, help="exercises per size (medians are reported)")
    parser.add_argument("--sqlite", action="store_true", help="also measure on a SQLite file")
    parser.add_argument("--latency", type=float, default=DEPLOY_LATENCY, help="seconds per fake deploy")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")

    backends = ["postgres"]
    ok, reason = postgres_available()
    if not ok:
        sys.exit(reason)
    if args.sqlite:
        backends.append("sqlite")
    load = os.getloadavg()
    print(
        f"# Exercise lifecycle: Python {platform.python_version()}, {os.cpu_count()} CPUs, load average "
        f"{load[0]:.1f} {load[1]:.1f} {load[2]:.1f}; action_parallelism={PARALLELISM}, fake deploy "
        f"{args.latency} s, 4 ranges, median of {args.rounds} round(s)"
    )
    for backend in backends:
        where = postgres_admin_url().rsplit("@", 1)[-1] if backend == "postgres" else "a temporary file"
        print(f"\n## {backend} ({where}, a fresh database per size)\n")
        print(
            "| N | scheduler deploy s | baseline deploy s | ratio | scheduler teardown s "
            "| baseline teardown s | ratio |"
        )
        print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        notes = []
        measured = {n: Figures() for n in sizes}
        cpu: dict[int, list[tuple[float, float]]] = {n: [] for n in sizes}
        for _ in range(args.rounds):  # sizes interleaved, so that a change of machine load hits them all
            for n in sizes:
                one = measure(backend, n, 1, args.latency)
                merge(measured[n], one)
                cpu[n].append(one.cpu)
        for n in sizes:
            figs = measured[n]
            print(row(n, figs), flush=True)
            notes.append(
                f"N={n}: teams per range {dict(sorted(figs.per_range.items()))}; range deploys in flight "
                f"{figs.in_flight[0]:.1f} on average, {figs.in_flight[1]} at most; deploy phase "
                f"{figs.deploy_sql[0]} commits, {figs.deploy_sql[1]} statements; teardown phase "
                f"{figs.teardown_sql[0]} commits, {figs.teardown_sql[1]} statements; process CPU "
                f"{figs.cpu[0]:.2f} s deploying, {figs.cpu[1]:.2f} s tearing down (last round); "
                f"rounds: deploy {', '.join(f'{x:.2f}' for x in figs.sched_deploy)} s, "
                f"teardown {', '.join(f'{x:.2f}' for x in figs.sched_teardown)} s"
            )
        first = sizes[0]
        print(
            f"\n| N | deploy ms per team | ratio to N={first} | teardown ms per team | ratio "
            "| deploy CPU ms per team | ratio | teardown CPU ms per team | ratio |"
        )
        print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")

        base = per_team(first, measured[first], cpu[first])
        for n in sizes:
            got = per_team(n, measured[n], cpu[n])
            cells = " | ".join(f"{g * 1000:.1f} | {g / b:.2f}x" for g, b in zip(got, base, strict=True))
            print(f"| {n} | {cells} |")
        print()
        for note in notes:
            print(f"- {note}")


if __name__ == "__main__":
    main()
