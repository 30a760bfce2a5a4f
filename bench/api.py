"""HTTP API benchmark on PostgreSQL: requests per second, p50/p99 latency and server CPU per request of
`federange api` with one worker and with two, next to the booking engine measured in the same run.

    .venv/bin/python bench/api.py [--seconds 4] [--workers 1,2] [--clients 1,8,32] [--booking-clients 1,4,16]

Creates its own database on the server named by FEDERANGE_BENCH_POSTGRES_URL (default: the local test
server) and drops it afterwards. The server is a real `federange api --workers N` process on 127.0.0.1;
the load generator is one asyncio process beside it (one HTTP/1.1 keep-alive connection per client),
so on a small machine both share the cores, as they did when the issue measured.

1. Baseline: the booking engine alone, in this process, admits bookings for --seconds
   (`BookingService.create_request` in a unit of work, exactly what the route calls): its rate and this
   process's CPU per admission, one client after the other, and with as many client threads as each
   booking client count (the server runs each request's use case in a thread of its pool, so the engine
   runs there beside others: on 2 cores an admission costs 15-20 % more CPU at 4 and 16 concurrent
   threads than alone, whatever the HTTP layer does).
2. For each worker count, each operation and each client count, --seconds of load:
   - `GET /api/v1/ranges` (a trainer's catalogue page),
   - `GET /api/v1/ranges/{range}/availability` over a week in hourly steps,
   - `POST /api/v1/bookings`, one range, a random window over a year, confirmed at once.
   Printed: requests/s, p50 and p99 latency, the server's CPU (every process of the server, from
   /proc) per request, and for bookings that CPU over the engine's CPU per admission (target <= 2):
   over the engine alone (one client) and over the engine at the same number of concurrent clients.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import os
import random
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from connectors.base import Resources
from orchestrator.booking.requests import BookingItem, BookingRequest
from orchestrator.db import migrate
from orchestrator.db.engine import make_engine
from orchestrator.settings import Settings
from orchestrator.wiring import build

ADMIN_URL = os.environ.get(
    "FEDERANGE_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
SECRET = "bench-secret-key-0123456789abcdef"
T0 = datetime.now(UTC) + timedelta(days=1)
SPAN = timedelta(days=365)
TICK = os.sysconf("SC_CLK_TCK")


def window(rnd: random.Random) -> tuple[datetime, datetime]:
    start = T0 + timedelta(minutes=rnd.randrange(int(SPAN.total_seconds() // 60)))
    return start, start + timedelta(hours=rnd.choice((1, 2, 4, 8)))


# -- the server -----------------------------------------------------------------------------------
def cpu_seconds(root: int) -> float:
    """User + system CPU of `root` and every descendant process, from /proc."""
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(entry.name)] = int(fields[1])
        times[int(entry.name)] = (int(fields[11]) + int(fields[12])) / TICK
    tree, frontier = {root}, [root]
    while frontier:
        pid = frontier.pop()
        children = [p for p, parent in parents.items() if parent == pid and p not in tree]
        tree.update(children)
        frontier.extend(children)
    return sum(times.get(p, 0.0) for p in tree)


@contextmanager
def server(url: str, workers: int, port: int) -> Iterator[subprocess.Popen[bytes]]:
    env = {
        **os.environ,
        "FEDERANGE_DATABASE_URL": url,
        "FEDERANGE_SECRET_KEY": SECRET,
        "FEDERANGE_LOG_LEVEL": "WARNING",
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    cmd = [sys.executable, "-m", "orchestrator.cli", "api", "--port", str(port), "--workers", str(workers)]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/ready", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None:
                raise RuntimeError((proc.stderr.read() if proc.stderr else b"").decode())
            time.sleep(0.2)
        else:
            raise RuntimeError("the API did not become ready")
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


# -- the load ---------------------------------------------------------------------------------------
Request = Callable[[httpx.AsyncClient, random.Random], Any]


async def _client(base: str, request: Request, seed: int, until: float, out: list[float]) -> list[int]:
    """Load until `until`; the status codes of the answers that were not a success."""
    rnd = random.Random(seed)
    failed: list[int] = []
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        await request(http, rnd)  # the connection is open before the clock starts
        while time.monotonic() < until:
            began = time.perf_counter()
            response = await request(http, rnd)
            if response.status_code >= 300:
                failed.append(response.status_code)
            out.append(time.perf_counter() - began)
    return failed


def load(base: str, request: Request, clients: int, seconds: float, pid: int) -> dict[str, Any]:
    latencies: list[float] = []

    async def run() -> list[int]:
        until = time.monotonic() + 0.3 + seconds
        tasks = [_client(base, request, i, until, latencies) for i in range(clients)]
        return [code for codes in await asyncio.gather(*tasks) for code in codes]

    cpu0, t0 = cpu_seconds(pid), time.monotonic()
    failed = asyncio.run(run())
    cpu1, t1 = cpu_seconds(pid), time.monotonic()
    latencies.sort()
    n = len(latencies)
    if n == 0:  # not one request finished inside the window (an overloaded machine)
        return {
            "rate": 0.0,
            "p50": float("nan"),
            "p99": float("nan"),
            "cpu_ms": float("nan"),
            "failed": failed,
        }
    return {
        "rate": n / (t1 - t0),
        "p50": statistics.median(latencies) * 1000,
        "p99": latencies[min(n - 1, int(n * 0.99))] * 1000,
        "cpu_ms": (cpu1 - cpu0) / max(n, 1) * 1000,
        "failed": failed,
    }


# -- set-up and the engine baseline -----------------------------------------------------------------
def setup(url: str) -> tuple[str, str]:
    """A range operator's range with room for every booking, and a trainer's token; returns
    (range slug, trainer token)."""
    engine = make_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    services = build(Settings(database_url=url, secret_key=SECRET, default_quota_slots=0))
    try:
        with services.uow() as uow:
            catalogue = services.catalogue(uow.catalogue)
            admin = catalogue.bootstrap_admin(organisation_name="Bench admin", country="BE").plaintext
    finally:
        services.close()
    return admin, ""


def engine_baseline(
    url: str, range_slug: str, organisation: str, seconds: float, *, clients: int = 1
) -> dict[str, float]:
    """The engine's admissions per second and this process's CPU per admission, with `clients` threads
    admitting at once (each its own unit of work, as the server's thread pool runs them)."""
    from orchestrator.identity.principals import Principal, Role

    services = build(Settings(database_url=url, secret_key=SECRET))
    trainer = Principal(
        id="bench-engine",
        name="bench",
        organisation_id=organisation,
        organisation_country="EE",
        role=Role.TRAINER,
    )
    small = Resources(100, 128, 1, 0)

    def admit(rnd: random.Random) -> None:
        start, end = window(rnd)
        request = BookingRequest(
            items=[BookingItem(range_ref=range_slug, demand=small)], start=start, end=end, hold=False
        )
        with services.uow() as uow:
            services.booking(uow.bookings).create_request(trainer, request)

    warm = random.Random(7)
    for _ in range(50):
        admit(warm)
    counts: list[int] = []
    until = time.monotonic() + seconds

    def client(seed: int) -> None:
        rnd, done = random.Random(seed), 0
        while time.monotonic() < until:
            admit(rnd)
            done += 1
        counts.append(done)

    threads = [threading.Thread(target=client, args=(seed,)) for seed in range(clients)]
    cpu0, t0 = time.process_time(), time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    cpu, elapsed = time.process_time() - cpu0, time.monotonic() - t0
    services.close()
    count = sum(counts)
    return {"rate": count / elapsed, "cpu_ms": cpu / count * 1000}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=4.0, help="load per figure")
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--clients", default="1,8,32", help="clients for the GETs and bookings")
    parser.add_argument("--booking-clients", default="1,4,16", help="further client counts for bookings")
    args = parser.parse_args()
    workers = [int(w) for w in args.workers.split(",")]
    clients = sorted({int(c) for c in args.clients.split(",")})
    booking_clients = sorted(set(clients) | {int(c) for c in args.booking_clients.split(",")})

    admin_engine = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"federange_bench_{uuid.uuid4().hex[:10]}"
    with admin_engine.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    try:
        admin, _ = setup(url)
        port = 18000 + os.getpid() % 1000
        base = f"http://127.0.0.1:{port}"
        with server(url, 1, port):
            trainer, school, slug = onboard(base, admin)
        engine = {n: engine_baseline(url, slug, school, args.seconds, clients=n) for n in booking_clients}
        baseline = engine[1] if 1 in engine else engine_baseline(url, slug, school, args.seconds)
        print(f"# HTTP API on {os.cpu_count()} cores, PostgreSQL database {name}\n")
        print("| engine, this process | clients | admissions/s | CPU ms per admission |")
        print("| --- | ---: | ---: | ---: |")
        for n, e in engine.items():
            print(f"| create_request in a unit of work | {n} | {e['rate']:.0f} | {e['cpu_ms']:.2f} |")
        print()
        headers = {"Authorization": f"Bearer {trainer}"}
        week = {"start": T0.isoformat(), "end": (T0 + timedelta(days=7)).isoformat(), "step": "3600"}

        async def ranges(http: httpx.AsyncClient, _rnd: random.Random) -> httpx.Response:
            return await http.get("/api/v1/ranges", headers=headers)

        async def availability(http: httpx.AsyncClient, _rnd: random.Random) -> httpx.Response:
            return await http.get(f"/api/v1/ranges/{slug}/availability", params=week, headers=headers)

        async def booking(http: httpx.AsyncClient, rnd: random.Random) -> httpx.Response:
            start, end = window(rnd)
            body = {
                "range": slug,
                "demand": {"cpu_millicores": 100, "memory_mib": 128, "slots": 1, "gpus": 0},
                "start": start.isoformat(),
                "end": end.isoformat(),
                "hold": False,
            }
            return await http.post("/api/v1/bookings", json=body, headers=headers)

        operations: list[tuple[str, Request, list[int]]] = [
            ("GET /api/v1/ranges", ranges, clients),
            ("GET availability (a week, hourly)", availability, clients),
            ("POST /api/v1/bookings", booking, booking_clients),
        ]
        print(
            "| workers | operation | clients | requests/s | p50 ms | p99 ms | server CPU ms/req "
            "| x engine alone | x engine, same clients |"
        )
        print("| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        for count in workers:
            with server(url, count, port) as proc:
                for label, request, counts in operations:
                    for n in counts:
                        r = load(base, request, n, args.seconds, proc.pid)
                        alone, same = r["cpu_ms"] / baseline["cpu_ms"], r["cpu_ms"] / engine[n]["cpu_ms"]
                        ratio = f"{alone:.2f} | {same:.2f}" if label.startswith("POST") else " | "
                        codes = collections.Counter(r["failed"])
                        failed = "".join(f" ({k} answered {code})" for code, k in sorted(codes.items()))
                        print(
                            f"| {count} | {label} | {n} | {r['rate']:.0f}{failed} | {r['p50']:.1f} | "
                            f"{r['p99']:.1f} | {r['cpu_ms']:.2f} | {ratio} |",
                            flush=True,
                        )
    finally:
        with admin_engine.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin_engine.dispose()


def onboard(base: str, admin: str) -> tuple[str, str, str]:
    """Over HTTP: an operator registers a range shared in full, a school gets a trainer token. Returns
    (trainer token, school organisation id, range slug)."""
    with httpx.Client(base_url=base, timeout=30) as http:

        def post(path: str, body: dict[str, Any], token: str) -> dict[str, Any]:
            r = http.post(path, json=body, headers={"Authorization": f"Bearer {token}"})
            assert r.status_code == 201, r.text
            out: dict[str, Any] = r.json()
            return out

        operator_org = post(
            "/api/v1/organisations", {"name": "EE operator", "country": "EE", "kind": "range_operator"}, admin
        )["id"]
        operator = post(
            "/api/v1/tokens", {"name": "ops", "organisation_id": operator_org, "role": "operator"}, admin
        )["token"]
        school = post(
            "/api/v1/organisations",
            {"name": "Bench school", "country": "EE", "kind": "training_provider"},
            admin,
        )["id"]
        trainer = post(
            "/api/v1/tokens", {"name": "trainer", "organisation_id": school, "role": "trainer"}, admin
        )["token"]
        big = 1_000_000
        post(
            "/api/v1/ranges",
            {
                "slug": "bench-range",
                "name": "Bench range",
                "country": "EE",
                "capabilities": ["containers"],
                "capacity": {"cpu_millicores": big, "memory_mib": big, "slots": big, "gpus": 0},
                "policy": {"max_foreign_share": 1.0, "max_booking_minutes": None},
                "connector": {"kind": "fake", "config": {}},
            },
            operator,
        )
    return trainer, school, "bench-range"


if __name__ == "__main__":
    main()
