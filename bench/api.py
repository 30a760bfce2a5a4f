"""HTTP API benchmark on PostgreSQL: requests per second, p50/p99 latency and server CPU per request of
`federange api` with one worker and with two, next to the booking engine measured in the same run.

    .venv/bin/python bench/api.py [--seconds 4] [--rounds 4] [--workers 1,2] [--clients 1,8,32]
        [--booking-clients 1,4,16] [--ranges 8] [--organisations 8]
        [--operations ranges,availability,bookings]

Creates its own database on the server named by FEDERANGE_BENCH_POSTGRES_URL (default: the local test
server) and drops it afterwards. Over HTTP an operator registers --ranges ranges and --organisations
schools get a trainer each (client i is school i's trainer, modulo their number) and a quota no booking
exceeds. A real `federange api --workers N` process runs on 127.0.0.1 for each worker count, all at
once on their own ports. The load generator is one asyncio process beside them (one HTTP/1.1
keep-alive connection per client, requests written by hand and answers read with httptools' C parser:
httpx's client cost 2-3 ms of CPU per request here, more than the server, and on 2 cores left a second
worker nothing to run on); its CPU per request is printed too.

For each operation and client count:
- `GET /api/v1/ranges` (a trainer's catalogue page) and `GET /api/v1/ranges/{range}/availability` over a
  week in hourly steps: --seconds of load on each server in turn;
- `POST /api/v1/bookings`, a random range and a random window over a year, confirmed at once: --rounds
  rounds, each the booking engine alone in this process (`BookingService.create_request` in a unit of
  work, exactly what the route calls, with as many threads as clients up to the server's 8 use-case
  threads: the server runs each use case in a thread of that pool) and then each server, for
  --seconds/--rounds each, so that all are measured in the same seconds of a machine whose speed drifts
  by half within minutes. Figures are medians over the rounds; "x engine" is the median of the rounds'
  server CPU per booking over the engine's CPU per admission in the same round (target <= 2).
Printed: requests/s, p50 and p99 latency, the server's CPU (every process of the server, from /proc)
per request. With --ranges 1 --organisations 1 every admission queues on one range's and one quota's
row lock, which measures the lock (bench/booking.py's "one range"), not the HTTP path.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import functools
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httptools
import httpx
import uvloop
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
def server(
    url: str, workers: int, port: int, *, settings: Mapping[str, str] | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """A `federange api --workers N` process on 127.0.0.1:port, once it answers `/ready`; `settings`:
    more FEDERANGE_ variables for it."""
    env = {
        **os.environ,
        "FEDERANGE_DATABASE_URL": url,
        "FEDERANGE_SECRET_KEY": SECRET,
        "FEDERANGE_LOG_LEVEL": "WARNING",
        **(settings or {}),
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
class Wire:
    """One HTTP/1.1 keep-alive connection of the load generator: each request written as bytes, each
    answer read by httptools' parser (status and body; the body is drained, not decoded)."""

    def __init__(self, host: str, port: int, headers: dict[str, str]) -> None:
        self._address = (host, port)
        self._head = "".join(f"{k}: {v}\r\n" for k, v in {"Host": f"{host}:{port}", **headers}.items())
        self._complete = False
        self._parser = httptools.HttpResponseParser(self)
        self._streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    def on_message_complete(self) -> None:  # httptools' callback
        self._complete = True

    async def open(self) -> None:
        self._streams = await asyncio.open_connection(*self._address)
        self._streams[1].get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    async def close(self) -> None:
        if self._streams is not None:
            self._streams[1].close()
            await self._streams[1].wait_closed()

    async def request(self, method: str, path: str, body: Any = None) -> int:
        """The answer's status code."""
        assert self._streams is not None, "open() first"
        reader, writer = self._streams
        if body is None:
            writer.write(f"{method} {path} HTTP/1.1\r\n{self._head}\r\n".encode())
        else:
            data = json.dumps(body).encode()
            head = f"{method} {path} HTTP/1.1\r\n{self._head}Content-Type: application/json\r\n"
            writer.write(f"{head}Content-Length: {len(data)}\r\n\r\n".encode() + data)
        self._complete = False
        while not self._complete:
            chunk = await reader.read(65536)
            if not chunk:
                raise ConnectionError("the server closed the connection")
            self._parser.feed_data(chunk)
        status: int = self._parser.get_status_code()
        return status


Request = Callable[[Wire, random.Random], Any]


async def _client(
    address: tuple[str, int],
    headers: dict[str, str],
    request: Request,
    seed: int,
    until: float,
    out: list[float],
) -> list[int]:
    """Load until `until`; the status codes of the answers that were not a success."""
    rnd = random.Random(seed)
    failed: list[int] = []
    wire = Wire(*address, headers)
    await wire.open()
    try:
        await request(wire, rnd)  # the connection is open and used once before the clock starts
        while time.monotonic() < until:
            began = time.perf_counter()
            status = await request(wire, rnd)
            if status >= 300:
                failed.append(status)
            out.append(time.perf_counter() - began)
    finally:
        await wire.close()
    return failed


def load(
    address: tuple[str, int],
    headers: list[dict[str, str]],
    request: Request,
    clients: int,
    seconds: float,
    pid: int,
) -> dict[str, Any]:
    latencies: list[float] = []

    async def run() -> list[int]:
        until = time.monotonic() + 0.3 + seconds
        tasks = [
            _client(address, headers[i % len(headers)], request, i, until, latencies) for i in range(clients)
        ]
        return [code for codes in await asyncio.gather(*tasks) for code in codes]

    cpu0, own0, t0 = cpu_seconds(pid), time.process_time(), time.monotonic()
    failed = uvloop.run(run())
    cpu1, own1, t1 = cpu_seconds(pid), time.process_time(), time.monotonic()
    latencies.sort()
    n = len(latencies)
    if n == 0:  # not one request finished inside the window (an overloaded machine)
        return {
            "rate": 0.0,
            "p50": float("nan"),
            "p99": float("nan"),
            "cpu_ms": float("nan"),
            "client_ms": float("nan"),
            "failed": failed,
        }
    return {
        "rate": n / (t1 - t0),
        "p50": statistics.median(latencies) * 1000,
        "p99": latencies[min(n - 1, int(n * 0.99))] * 1000,
        "cpu_ms": (cpu1 - cpu0) / max(n, 1) * 1000,
        "client_ms": (own1 - own0) / n * 1000,
        "failed": failed,
    }


# -- set-up and the engine baseline -----------------------------------------------------------------
def setup(url: str) -> str:
    """The database migrated, and an admin's token (`onboard` makes the rest over HTTP)."""
    engine = make_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    services = build(Settings(database_url=url, secret_key=SECRET))
    try:
        with services.uow() as uow:
            catalogue = services.catalogue(uow.catalogue)
            admin = catalogue.bootstrap_admin(organisation_name="Bench admin", country="BE").plaintext
    finally:
        services.close()
    return admin


def engine_baseline(
    url: str, ranges: list[str], organisations: list[str], seconds: float, *, clients: int = 1
) -> dict[str, float]:
    """The engine's admissions per second and this process's CPU per admission, with `clients` threads
    admitting at once (each its own unit of work, as the server's thread pool runs them); thread i books
    for organisation i (modulo their number), as HTTP client i does, on a random one of `ranges`."""
    from orchestrator.identity.principals import Principal, Role

    services = build(Settings(database_url=url, secret_key=SECRET))
    trainers = [
        Principal(
            id=f"bench-engine-{i}",
            name="bench",
            organisation_id=organisation,
            organisation_country="EE",
            role=Role.TRAINER,
        )
        for i, organisation in enumerate(organisations)
    ]
    small = Resources(100, 128, 1, 0)

    def admit(rnd: random.Random, trainer: Principal) -> None:
        start, end = window(rnd)
        request = BookingRequest(
            items=[BookingItem(range_ref=rnd.choice(ranges), demand=small)],
            start=start,
            end=end,
            hold=False,
        )
        with services.uow() as uow:
            services.booking(uow.bookings).create_request(trainer, request)

    warm = random.Random(7)
    for i in range(50):
        admit(warm, trainers[i % len(trainers)])
    counts: list[int] = []
    until = time.monotonic() + seconds

    def client(seed: int) -> None:
        rnd, done, trainer = random.Random(seed), 0, trainers[seed % len(trainers)]
        while time.monotonic() < until:
            admit(rnd, trainer)
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
    parser.add_argument(
        "--ranges", type=int, default=8, help="ranges the bookings are spread over (1: one range's lock)"
    )
    parser.add_argument(
        "--organisations",
        type=int,
        default=8,
        help="schools booking, one trainer each (1: every admission queues on its quota's lock)",
    )
    parser.add_argument(
        "--rounds", type=int, default=4, help="engine and HTTP phases alternated per booking figure"
    )
    parser.add_argument(
        "--operations", default="ranges,availability,bookings", help="which of the three to load"
    )
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
        admin = setup(url)
        port = 18000 + os.getpid() % 1000
        with server(url, 1, port):
            trainers, schools, slugs = onboard(
                f"http://127.0.0.1:{port}", admin, ranges=args.ranges, organisations=args.organisations
            )
        print(f"# HTTP API on {os.cpu_count()} cores, PostgreSQL database {name}\n")
        headers = [{"Authorization": f"Bearer {trainer}"} for trainer in trainers]
        week = {"start": T0.isoformat(), "end": (T0 + timedelta(days=7)).isoformat(), "step": "3600"}

        async def ranges(http: Wire, _rnd: random.Random) -> int:
            return await http.request("GET", "/api/v1/ranges")

        async def availability(http: Wire, _rnd: random.Random) -> int:
            path = f"/api/v1/ranges/{slugs[0]}/availability?{urlencode(week)}"
            return await http.request("GET", path)

        async def booking(http: Wire, rnd: random.Random) -> int:
            start, end = window(rnd)
            body = {
                "range": rnd.choice(slugs),
                "demand": {"cpu_millicores": 100, "memory_mib": 128, "slots": 1, "gpus": 0},
                "start": start.isoformat(),
                "end": end.isoformat(),
                "hold": False,
            }
            return await http.request("POST", "/api/v1/bookings", body)

        chosen = set(args.operations.split(","))
        operations: list[tuple[str, Request, list[int]]] = [
            (label, request, counts)
            for key, label, request, counts in (
                ("ranges", "GET /api/v1/ranges", ranges, clients),
                ("availability", "GET availability (a week, hourly)", availability, clients),
                ("bookings", "POST /api/v1/bookings", booking, booking_clients),
            )
            if key in chosen
        ]
        print(
            "| workers | operation | clients | requests/s | p50 ms | p99 ms | server CPU ms/req "
            "| engine CPU ms/admission | x engine | load generator CPU ms/req |"
        )
        print("| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        with contextlib.ExitStack() as stack:
            # every worker count's server at once, each on its own port: the phases of one figure
            # alternate between them (and the engine), so they are measured in the same seconds
            targets = {
                count: Target(stack.enter_context(server(url, count, port + i)).pid, ("127.0.0.1", port + i))
                for i, count in enumerate(workers)
            }
            for label, request, counts in operations:
                for n in counts:
                    if request is booking:
                        # as many threads as the server runs use cases at once (more clients queue there)
                        threads = min(n, Settings.model_fields["use_case_threads"].default)
                        engine = functools.partial(
                            engine_baseline, url, slugs, schools, args.seconds / args.rounds, clients=threads
                        )
                        found = alternated(args.rounds, args.seconds, n, targets, headers, booking, engine)
                    else:
                        found = {
                            count: load(t.address, headers, request, n, args.seconds, t.pid)
                            for count, t in targets.items()
                        }
                    for count, r in found.items():
                        ratio = f"{r['engine_ms']:.2f} | {r['ratio']:.2f}" if "ratio" in r else " | "
                        codes = collections.Counter(r["failed"])
                        failed = "".join(f" ({k} answered {code})" for code, k in sorted(codes.items()))
                        print(
                            f"| {count} | {label} | {n} | {r['rate']:.0f}{failed} | {r['p50']:.1f} | "
                            f"{r['p99']:.1f} | {r['cpu_ms']:.2f} | {ratio} | {r['client_ms']:.2f} |",
                            flush=True,
                        )
    finally:
        with admin_engine.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin_engine.dispose()


class Target(NamedTuple):
    """A running server: its process (CPU is read for it and its children) and its address."""

    pid: int
    address: tuple[str, int]


def alternated(
    rounds: int,
    seconds: float,
    clients: int,
    targets: dict[int, Target],
    headers: list[dict[str, str]],
    request: Request,
    engine: Callable[[], dict[str, float]],
) -> dict[int, dict[str, Any]]:
    """Bookings over HTTP on every target and the engine alone, in alternating phases of seconds/rounds
    each, so that all are measured in the same seconds of a machine whose speed drifts (as
    bench/booking.py does against its INSERT baseline). Per target: each figure the median over the
    rounds, the ratio the median of the rounds' ratios of server CPU per booking over the engine's CPU per
    admission at the same concurrency in the same round."""
    phases: dict[int, list[tuple[dict[str, float], dict[str, Any]]]] = {count: [] for count in targets}
    for i in range(rounds):
        e = engine()
        order = list(targets.items())
        for count, t in order if i % 2 == 0 else reversed(order):  # neither target always goes first
            phases[count].append((e, load(t.address, headers, request, clients, seconds / rounds, t.pid)))
    found = {}
    for count, pairs in phases.items():
        keys = ("rate", "p50", "p99", "cpu_ms", "client_ms")
        found[count] = {
            **{key: statistics.median(r[key] for _, r in pairs) for key in keys},
            "engine_ms": statistics.median(e["cpu_ms"] for e, _ in pairs),
            "ratio": statistics.median(r["cpu_ms"] / e["cpu_ms"] for e, r in pairs),
            "failed": [code for _, r in pairs for code in r["failed"]],
        }
    return found


def onboard(
    base: str, admin: str, *, ranges: int, organisations: int
) -> tuple[list[str], list[str], list[str]]:
    """Over HTTP: an operator registers `ranges` ranges shared in full; `organisations` schools get a
    trainer token each and a quota no booking of the run exceeds (every organisation has one, 32 slots
    by default, and every admission locks and reads it). Returns (trainer tokens, school organisation
    ids, range slugs)."""
    with httpx.Client(base_url=base, timeout=30) as http:

        def call(method: str, path: str, body: dict[str, Any], token: str) -> dict[str, Any]:
            r = http.request(method, path, json=body, headers={"Authorization": f"Bearer {token}"})
            assert r.status_code in (200, 201), r.text
            out: dict[str, Any] = r.json()
            return out

        operator_org = call(
            "POST",
            "/api/v1/organisations",
            {"name": "EE operator", "country": "EE", "kind": "range_operator"},
            admin,
        )["id"]
        operator = call(
            "POST",
            "/api/v1/tokens",
            {"name": "ops", "organisation_id": operator_org, "role": "operator"},
            admin,
        )["token"]
        big = 1_000_000
        plenty = {"cpu_millicores": big, "memory_mib": big, "slots": big, "gpus": 0}
        trainers, schools = [], []
        for i in range(organisations):
            school = {"name": f"Bench school {i}", "country": "EE", "kind": "training_provider"}
            schools.append(call("POST", "/api/v1/organisations", school, admin)["id"])
            grant = {"name": "trainer", "organisation_id": schools[-1], "role": "trainer"}
            trainers.append(call("POST", "/api/v1/tokens", grant, admin)["token"])
            call("PUT", f"/api/v1/organisations/{schools[-1]}/quota", plenty, admin)
        slugs = [f"bench-range-{i}" for i in range(ranges)]
        for slug in slugs:
            shared = {
                "slug": slug,
                "name": f"Bench range {slug}",
                "country": "EE",
                "capabilities": ["containers"],
                "capacity": plenty,
                "policy": {"max_foreign_share": 1.0, "max_booking_minutes": None},
                "connector": {"kind": "fake", "config": {}},
            }
            call("POST", "/api/v1/ranges", shared, operator)
    return trainers, schools, slugs


if __name__ == "__main__":
    main()
