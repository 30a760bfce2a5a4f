"""A federation of simulated ranges over HTTP for exercise tests, and a driver for the scheduler.

The ranges use the fake connector (an in-memory range per world), so these tests exercise the whole
lifecycle (placement, booking, due actions, stages, reconciliation, healing) quickly on both databases;
the same flow on a real Docker engine is in tests/e2e... and tests/integration/exercises/test_docker_*.
"""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import event

from connectors import fake
from orchestrator.domain.clock import FrozenClock
from orchestrator.scheduler.actions import ActionRunner
from orchestrator.scheduler.ticks import action_runner
from orchestrator.wiring import Services
from tests.integration.catalogue.helpers import auth, create_org, issue

CTF = "ctf-starter"  # 500 millicores, 128 MiB, 1 slot per team


@dataclass
class Federation:
    admin: str
    trainer: str
    researcher: str
    other_trainer: str
    operators: dict[str, str]
    worlds: dict[str, str] = field(default_factory=dict)

    def world(self, slug: str) -> fake.World:
        return fake.world(self.worlds[slug])


RANGES = {
    # slug: (country, slots)
    "ee-range": ("EE", 2),
    "lv-range": ("LV", 2),
    "fi-range": ("FI", 1),
}


def federation(
    http: httpx.Client, admin: str, *, ranges: dict[str, tuple[str, int]] | None = None
) -> Federation:
    """Three operators with one simulated range each, a training provider and a research lab."""
    school = create_org(http, admin, "Baltic cyber school", "EE", kind="training_provider")
    lab = create_org(http, admin, "Tartu research lab", "EE", kind="research")
    rival = create_org(http, admin, "Another school", "LT", kind="training_provider")
    fed = Federation(
        admin=admin,
        trainer=issue(http, admin, school, "trainer", "trainer-anna"),
        researcher=issue(http, admin, lab, "researcher", "researcher-juri"),
        other_trainer=issue(http, admin, rival, "trainer", "trainer-other"),
        operators={},
    )
    for slug, (country, slots) in (ranges or RANGES).items():
        org = create_org(http, admin, f"{country} range operator {slug}", country)
        token = issue(http, admin, org, "operator", f"{slug}-ops")
        fed.operators[slug] = token
        world = f"test-{slug}-{uuid.uuid4().hex[:8]}"
        fed.worlds[slug] = world
        body = {
            "slug": slug,
            "name": f"{country} national range",
            "country": country,
            "capabilities": ["containers", "egress"],
            "capacity": {"cpu_millicores": 4000, "memory_mib": 8192, "slots": slots, "gpus": 0},
            # The operators of these ranges share all of them with every country, for any length.
            "policy": {"max_foreign_share": 1.0, "max_booking_minutes": None},
            "connector": {"kind": "fake", "config": {"world": world}},
        }
        created = http.post("/api/v1/ranges", json=body, headers=auth(token))
        assert created.status_code == 201, created.text
    return fed


def exercise_body(
    start: datetime, end: datetime, teams: list[tuple[str, str]], **constraints: Any
) -> dict[str, Any]:
    return {
        "name": "Baltic Shield 2030",
        "scenario": CTF,
        "teams": [{"name": n, "organisation": f"CERT-{c}", "country": c} for n, c in teams],
        "start": start.isoformat(),
        "end": end.isoformat(),
        "lead_minutes": 15,
        "constraints": constraints,
    }


class Driver:
    """Runs the scheduler's due actions by hand on a frozen clock (one runner, its pool drained)."""

    def __init__(self, services: Services, clock: FrozenClock) -> None:
        self.services = services
        self.clock = clock
        self.runner: ActionRunner = action_runner(services)

    def run_due(self, rounds: int = 1000) -> int:
        """Tick until nothing more is due now (bounded); returns how many actions ran."""
        total = 0
        for _ in range(rounds):
            ran = self.runner.tick()
            self.runner.drain(timeout=60)
            total += ran
            if ran == 0:
                break
        return total

    def advance_to(self, when: datetime) -> int:
        self.clock.set(when)
        return self.run_due()

    def advance(self, delta: timedelta) -> int:
        self.clock.advance(delta)
        return self.run_due()

    def close(self) -> None:
        self.runner.shutdown()


@contextmanager
def round_trips(services: Services) -> Iterator[list[int]]:
    """How many round trips to PostgreSQL the block makes, on every connection it checks out: libpq's
    own trace of the protocol, where a round trip ends with the client's Sync message. The list holds
    the count once the block is over."""
    counted: list[int] = []
    with tempfile.TemporaryDirectory() as tmp:
        traces: list[Path] = []

        def trace(driver_connection: Any, record: Any, _proxy: Any) -> None:
            traces.append(Path(tmp) / f"trace-{len(traces)}")
            record.info["trace"] = out = traces[-1].open("w")
            driver_connection.pgconn.trace(out.fileno())

        def untrace(driver_connection: Any, record: Any) -> None:
            driver_connection.pgconn.untrace()
            record.info.pop("trace").close()

        event.listen(services.engine, "checkout", trace)
        event.listen(services.engine, "checkin", untrace)
        try:
            yield counted
        finally:
            event.remove(services.engine, "checkout", trace)
            event.remove(services.engine, "checkin", untrace)
        counted.append(sum(_round_trips(t.read_text()) for t in traces))


def _round_trips(trace: str) -> int:
    """The round trips in one connection's trace: the client's Syncs, except those that only prepared a
    statement (Parse, Sync: psycopg prepares a statement on its fifth execution on a connection, once,
    so which request pays for that depends on which pooled connection it was given), and its simple
    Queries (the driver's own COMMIT). A Flush (psycopg's, after a pipeline's Sync) asks for what was
    already sent: no round trip of its own."""
    found, batch = 0, set()
    for fields in (line.split("\t") for line in trace.splitlines()):
        if fields[1:2] != ["F"] or len(fields) < 4:
            continue
        if fields[3] == "Sync":
            found += bool(batch - {"Parse", "Describe"})
            batch = set()
        elif fields[3] == "Query":
            found += 1
        elif fields[3] != "Flush":
            batch.add(fields[3])
    return found
