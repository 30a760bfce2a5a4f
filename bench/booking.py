"""Booking engine benchmark on PostgreSQL: admissions per second, and admission latency as calendars grow.

    .venv/bin/python bench/booking.py [--rounds 5] [--phases 16] [--sizes 100,1000,10000,100000]
        [--database-latency-ms 1]

Creates its own database on the server named by FEDERANGE_BENCH_POSTGRES_URL (default: the local test
server) and drops it afterwards. Every figure is printed next to a baseline measured in the same run:
plain single-row INSERT transactions into the same `bookings` table (same indexes, no checks, no locks,
no audit), so the ratios say what admission costs on top of writing the row it creates.

1. Throughput, with 1, 4 and 16 client processes. A round starts fresh client processes on empty
   calendars (TRUNCATE) and runs --phases phases of --phase-seconds, alternating between the baseline
   and admissions on one clock shared by every client; a round's ratio is admissions per second over
   baseline per second in that round, so a machine whose speed drifts weighs on both alike. Figures
   are medians over --rounds rounds (each ratio the median of the rounds' ratios). Admissions pick
   windows over a year, so they overlap few bookings; the latency series measures a full calendar.
   - baseline: BEGIN; INSERT one booking row into the client's own range; COMMIT
   - admissions, spread: each client books its own range (no lock contention between clients)
   - admissions, one range: every client books the same range (they queue on its row lock)
   An admission is the whole use case: lock the range, read its calendar through the index, check policy,
   capacity and quota, insert the booking and its audit event, commit.
2. Latency against calendar size: one range pre-filled with N bookings (N = 100 .. 100,000, spread over
   time with a constant density, a few of them weeks long), then single-client admissions of windows
   inside the filled span; median and 95th percentile, beside the baseline INSERT latency at the same N.
   With --database-latency-ms D the series is measured again through a TCP relay on 127.0.0.1 in this
   process that holds every chunk D/2 ms each way: a database D ms of round trip away, so the figures
   show the round trips a transaction makes (the baseline makes three: BEGIN, INSERT, COMMIT).
3. Latency against the bookings in force at once: another range holding N bookings (--overlaps) that all
   run through the month the admissions ask for (a busy range: N live environments, say), so each
   admission's window overlaps all N; single-client admissions, beside the baseline INSERT at the same N.
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing as mp
import os
import queue
import random
import socket
import statistics
import sys
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from multiprocessing.synchronize import Barrier
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import create_engine, insert, text
from sqlalchemy.engine import make_url

from connectors.base import Resources
from orchestrator.booking.lengths import length_class
from orchestrator.booking.requests import BookingItem, BookingRequest
from orchestrator.db import migrate
from orchestrator.db.booking_sql import BOOKINGS
from orchestrator.db.engine import make_engine
from orchestrator.db.tables import RangeRow
from orchestrator.domain.errors import Refused
from orchestrator.identity.principals import Principal, Role
from orchestrator.settings import Settings
from orchestrator.wiring import Services, build

ADMIN_URL = os.environ.get(
    "FEDERANGE_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
T0 = datetime(2031, 1, 1, tzinfo=UTC)
ORG = "00000000-0000-0000-0000-00000000b00c"
CLIENTS = (1, 4, 16)
TRAINER = Principal(
    id="bench", name="bench", organisation_id=ORG, organisation_country="EE", role=Role.TRAINER
)
SMALL = Resources(100, 128, 1, 0)


def range_id(n: int) -> str:
    return f"00000000-0000-0000-0000-{n:012d}"


def setup_schema(url: str, ranges: int) -> None:
    engine = make_engine(url)
    migrate.upgrade(engine)
    with engine.begin() as c:
        c.execute(
            text(
                "INSERT INTO organisations (id, name, country, kind, created_at, handle)"
                " VALUES (:id, 'Bench school', 'EE', 'training_provider', now(), 'bench-school')"
            ),
            {"id": ORG},
        )
        now = datetime.now(UTC)
        for n in range(ranges):  # Core's insert applies the columns' defaults (new ones included)
            c.execute(
                insert(RangeRow.__table__).values(
                    id=range_id(n),
                    slug=f"bench-{n}",
                    name=f"bench-{n}",
                    operator_organisation_id=ORG,
                    country="EE",
                    capabilities=[],
                    cpu_millicores=100_000_000,
                    memory_mib=100_000_000,
                    slots=1_000_000,
                    gpus=0,
                    allowed_countries=[],
                    allowed_organisations=[],
                    max_foreign_share=1.0,
                    status="active",
                    connector_kind="fake",
                    connector_config={},
                    created_at=now,
                    updated_at=now,
                )
            )
    engine.dispose()


def row(rng_id: str, start: datetime, end: datetime) -> dict[str, object]:
    return {
        "id": str(uuid.uuid4()),
        "request_id": str(uuid.uuid4()),
        "range_id": rng_id,
        "owner_organisation_id": ORG,
        "owner_country": "EE",
        "created_by": "bench",
        "purpose": "manual",
        "reference": None,
        "start": start,
        "end": end,
        "length_class": length_class(start, end),
        "cpu_millicores": SMALL.cpu_millicores,
        "memory_mib": SMALL.memory_mib,
        "slots": SMALL.slots,
        "gpus": 0,
        "status": "confirmed",
        "status_reason": "",
        "hold_expires_at": None,
        "created_at": T0,
        "updated_at": T0,
    }


def random_window(rnd: random.Random, span: timedelta) -> tuple[datetime, datetime]:
    start = T0 + timedelta(minutes=rnd.randrange(int(span.total_seconds() // 60)))
    return start, start + timedelta(hours=rnd.randint(1, 8))


# -- workers (one process each, with their own engine) ----------------------------------------------
@dataclass(frozen=True)
class Job:
    url: str
    own: tuple[str, ...]  # where this client's plain INSERTs go
    admit_on: tuple[str, ...]  # where this client's admissions go
    phases: int
    phase_seconds: float
    seed: int


def _services(url: str) -> Services:
    return build(
        Settings(database_url=url, secret_key="bench-secret-key-0123456789abcdef", hold_ttl_seconds=600)
    )


def _admit(services: Services, rnd: random.Random, ranges: tuple[str, ...], span: timedelta) -> bool:
    start, end = random_window(rnd, span)
    request = BookingRequest(
        items=[BookingItem(range_ref=rnd.choice(ranges), demand=SMALL)], start=start, end=end, hold=False
    )
    try:
        services.create_booking_request(TRAINER, request)  # what the API's booking creation runs
    except Refused:
        return False
    return True


def worker(job: Job, ready: Barrier, go: Barrier, start_at: Any, out: mp.Queue) -> None:  # type: ignore[type-arg]
    """Alternate phases of plain INSERTs (even) and admissions (odd), every client on the same clock, and
    count what each kind completed: both kinds run in the same seconds of the run, so a machine that
    slows down or speeds up for a while weighs on both alike."""
    rnd = random.Random(job.seed)
    span = timedelta(days=365)
    services = _services(job.url)
    engine = services.engine

    def plain() -> bool:
        start, end = random_window(rnd, span)
        with engine.begin() as c:
            c.execute(insert(BOOKINGS), row(rnd.choice(job.own), start, end))
        return True

    def admission() -> bool:
        return _admit(services, rnd, job.admit_on, span)

    steps: tuple[Callable[[], bool], Callable[[], bool]] = (plain, admission)
    for _ in range(20):  # warm up: connections, statement caches, prepared statements
        plain()
        admission()
    ready.wait()
    go.wait()
    t0 = start_at.value
    done = [0, 0]
    refused = 0
    while (now := time.monotonic()) < t0:
        time.sleep(t0 - now)
    while (elapsed := time.monotonic() - t0) < job.phases * job.phase_seconds:
        kind = int(elapsed // job.phase_seconds) % 2
        if steps[kind]():
            done[kind] += 1
        else:
            refused += 1
    services.close()
    out.put((done[0], done[1], refused))


def empty_calendars(url: str) -> None:
    """Every throughput round starts from empty calendars, so rounds measure the same thing whatever ran
    before them (admission cost grows with the bookings overlapping a window; the latency series below
    measures that growth on its own)."""
    engine = make_engine(url)
    with engine.begin() as c:
        c.execute(text("TRUNCATE bookings, audit_events"))
    engine.dispose()


def throughput(
    url: str,
    clients: int,
    *,
    own: Sequence[tuple[str, ...]],
    admit_on: Sequence[tuple[str, ...]],
    phases: int,
    phase_seconds: float,
) -> tuple[float, float]:
    """(plain INSERTs per second, admissions per second) of `clients` processes over one round."""
    empty_calendars(url)
    ctx = mp.get_context("fork")
    ready, go = ctx.Barrier(clients + 1), ctx.Barrier(clients + 1)
    start_at = ctx.Value("d", 0.0)
    out: mp.Queue = ctx.Queue()  # type: ignore[type-arg]
    jobs = [
        Job(url, own[i % len(own)], admit_on[i % len(admit_on)], phases, phase_seconds, i)
        for i in range(clients)
    ]
    procs = [ctx.Process(target=worker, args=(job, ready, go, start_at, out)) for job in jobs]
    for p in procs:
        p.start()
    ready.wait()
    start_at.value = time.monotonic() + 0.2
    go.wait()
    results = [out.get(timeout=phases * phase_seconds + 120) for _ in procs]
    for p in procs:
        p.join()
    if any(r[2] for r in results):
        print(f"    ({sum(r[2] for r in results)} refused)")
    seconds_each = phases // 2 * phase_seconds
    return sum(r[0] for r in results) / seconds_each, sum(r[1] for r in results) / seconds_each


# -- a database further away -------------------------------------------------------------------------
class DelayingRelay:
    """A TCP relay on 127.0.0.1 to `target` that passes every chunk on `one_way` seconds after it arrived,
    in either direction (per direction and connection one thread reads, stamping each chunk, and one
    writes it when due, so chunks sent together stay together): every round trip through it takes twice
    `one_way` longer, however many messages it carries."""

    def __init__(self, target: tuple[str, int], one_way: float) -> None:
        self.target, self.one_way = target, one_way
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.target)
            for sock in (client, server):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            for source, sink in ((client, server), (server, client)):
                due: queue.SimpleQueue[tuple[float, bytes]] = queue.SimpleQueue()
                threading.Thread(target=self._read, args=(source, due), daemon=True).start()
                threading.Thread(target=self._write, args=(due, sink), daemon=True).start()

    def _read(self, source: socket.socket, due: queue.SimpleQueue[tuple[float, bytes]]) -> None:
        with contextlib.suppress(OSError):
            while chunk := source.recv(65536):
                due.put((time.monotonic() + self.one_way, chunk))
        due.put((0.0, b""))

    def _write(self, due: queue.SimpleQueue[tuple[float, bytes]], sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while (item := due.get())[1]:
                at, chunk = item
                if (wait := at - time.monotonic()) > 0:
                    time.sleep(wait)
                sink.sendall(chunk)
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_RDWR)

    def url(self, url: str) -> str:
        return make_url(url).set(host="127.0.0.1", port=self.port).render_as_string(hide_password=False)

    def close(self) -> None:
        self.listener.close()


# -- latency against calendar size -------------------------------------------------------------------
def fill(url: str, rng_id: str, count: int, *, density: timedelta) -> timedelta:
    """Add bookings so the range holds `count`, one starting every `density`; 1 in 500 lasts 2 weeks."""
    engine = make_engine(url)
    rnd = random.Random(count)
    with engine.begin() as c:
        have = c.execute(
            text("SELECT count(*) FROM bookings WHERE range_id = :r"), {"r": rng_id}
        ).scalar_one()
        rows = []
        for i in range(have, count):
            start = T0 + density * i
            hours = 24 * 14 if rnd.random() < 0.002 else rnd.randint(1, 8)
            rows.append(row(rng_id, start, start + timedelta(hours=hours)))
        for chunk in range(0, len(rows), 5000):
            c.execute(insert(BOOKINGS), rows[chunk : chunk + 5000])
        c.execute(text("ANALYZE bookings"))
    engine.dispose()
    return density * count


def fill_busy(url: str, rng_id: str, count: int) -> timedelta:
    """Add bookings so the range holds `count`, each from T0 for 31 days: all in force at once."""
    engine = make_engine(url)
    with engine.begin() as c:
        have = c.execute(
            text("SELECT count(*) FROM bookings WHERE range_id = :r"), {"r": rng_id}
        ).scalar_one()
        rows = [row(rng_id, T0, T0 + timedelta(days=31)) for _ in range(have, count)]
        if rows:
            c.execute(insert(BOOKINGS), rows)
        c.execute(text("ANALYZE bookings"))
    engine.dispose()
    return timedelta(days=30)


def latency(url: str, rng_id: str, span: timedelta, samples: int) -> tuple[float, float, float, float, int]:
    """(admission median, p95, insert median, p95) in ms, and the median number of overlapping bookings."""
    services = _services(url)
    rnd = random.Random(7)
    admit_ms: list[float] = []
    insert_ms: list[float] = []
    overlaps: list[int] = []
    for i in range(samples + 20):
        start, end = random_window(rnd, span)
        request = BookingRequest(
            items=[BookingItem(range_ref=rng_id, demand=SMALL)], start=start, end=end, hold=False
        )
        t = time.perf_counter()
        with services.uow() as uow:
            made = services.booking(uow.bookings).create_request(TRAINER, request)
        elapsed = (time.perf_counter() - t) * 1000
        plain = row(rng_id, start, end)
        t = time.perf_counter()
        with services.engine.begin() as c:
            c.execute(insert(BOOKINGS), plain)
        baseline = (time.perf_counter() - t) * 1000
        with services.uow() as uow:
            if i >= 20:
                overlaps.append(len(uow.bookings.occupants(rng_id, start, end, now=T0)) - 2)
            # Keep the calendar at its size: remove what this sample added (not timed).
            ids = [plain["id"], *(b.id for b in made.bookings)]
            uow.session.execute(text("DELETE FROM bookings WHERE id = ANY(:ids)"), {"ids": ids})
        if i >= 20:
            admit_ms.append(elapsed)
            insert_ms.append(baseline)
    services.close()

    def p95(xs: list[float]) -> float:
        return sorted(xs)[int(len(xs) * 0.95) - 1]

    return (
        statistics.median(admit_ms),
        p95(admit_ms),
        statistics.median(insert_ms),
        p95(insert_ms),
        int(statistics.median(overlaps)),
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=5, help="throughput rounds per figure (median)")
    parser.add_argument("--phases", type=int, default=16, help="alternating phases per round (even)")
    parser.add_argument("--phase-seconds", type=float, default=0.5, help="length of one phase")
    parser.add_argument(
        "--sizes", default="100,1000,10000,100000", help="calendar sizes for the latency series"
    )
    parser.add_argument("--samples", type=int, default=200, help="admissions per calendar size")
    parser.add_argument(
        "--overlaps", default="0,100,1000", help="bookings in force at once for the third series"
    )
    parser.add_argument(
        "--database-latency-ms",
        type=float,
        default=0.0,
        help="also measure the latency series with this round-trip time added to the database's",
    )
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    overlaps = [int(s) for s in args.overlaps.split(",")] if args.overlaps else []

    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"federange_bench_{uuid.uuid4().hex[:10]}"
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    try:
        setup_schema(url, ranges=18)
        print(f"# Booking engine on {os.cpu_count()} cores, PostgreSQL database {name}\n")
        print("## Throughput (per second, each client its own process)\n")
        print("| clients | plain INSERT txn | admissions, spread | ratio | admissions, one range | ratio |")
        print("| ---: | ---: | ---: | ---: | ---: | ---: |")
        own = [(range_id(n),) for n in range(16)]
        for clients in CLIENTS:
            # Per round: fresh processes and empty calendars; INSERT and admission phases alternate within
            # it (see worker). Each figure is the median over rounds, each ratio the median of the rounds'.
            rounds: dict[str, list[tuple[float, float]]] = {"spread": [], "single": []}
            for _ in range(args.rounds):
                for mode, admit_on in (("spread", own), ("single", [(range_id(0),)])):
                    rounds[mode].append(
                        throughput(
                            url,
                            clients,
                            own=own,
                            admit_on=admit_on,
                            phases=args.phases,
                            phase_seconds=args.phase_seconds,
                        )
                    )
            base = statistics.median(b for mode in rounds.values() for b, _ in mode)
            spread, single = (statistics.median(a for _, a in rounds[m]) for m in ("spread", "single"))
            ratio = {m: statistics.median(a / b for b, a in rounds[m]) for m in ("spread", "single")}
            cells = [
                f"{base:.0f}",
                f"{spread:.0f}",
                f"{ratio['spread']:.2f}",
                f"{single:.0f}",
                f"{ratio['single']:.2f}",
            ]
            print(f"| {clients} | " + " | ".join(cells) + " |", flush=True)
        target = range_id(16)
        relay = None
        if args.database_latency_ms > 0:
            parsed = make_url(url)
            relay = DelayingRelay(
                (parsed.host or "127.0.0.1", parsed.port or 5432), args.database_latency_ms / 2000
            )
        for through in (None, relay) if relay else (None,):
            added = f", {args.database_latency_ms:g} ms of round trip added" if through else ""
            print(f"\n## Admission latency against calendar size (one client, ms{added})\n")
            print(
                "| bookings on the range | overlapping the window | admission median | p95 "
                "| plain INSERT median | p95 | ratio of medians |"
            )
            print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
            for size in sizes:
                span = fill(url, target, size, density=timedelta(minutes=30))
                a50, a95, i50, i95, k = latency(
                    through.url(url) if through else url, target, span, args.samples
                )
                print(
                    f"| {size:,} | {k} | {a50:.2f} | {a95:.2f} | {i50:.2f} | {i95:.2f} | {a50 / i50:.2f} |",
                    flush=True,
                )
        if relay:
            relay.close()
        if overlaps:
            print(
                "\n## Admission latency against the bookings in force at once (one range, one client, ms)\n"
            )
            print(
                "| bookings in force | overlapping the window | admission median | p95 "
                "| plain INSERT median | p95 | ratio of medians |"
            )
            print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        for count in overlaps:
            span = fill_busy(url, range_id(17), count)
            a50, a95, i50, i95, k = latency(url, range_id(17), span, args.samples)
            print(
                f"| {count:,} | {k} | {a50:.2f} | {a95:.2f} | {i50:.2f} | {i95:.2f} | {a50 / i50:.2f} |",
                flush=True,
            )
    finally:
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
