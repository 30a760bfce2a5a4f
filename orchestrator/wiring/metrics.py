"""Prometheus metrics of one Federange process (prometheus-client), and how /metrics reads them.

Counters and histograms live in the process (and, with several `uvicorn --workers`, in the files of
PROMETHEUS_MULTIPROC_DIR, which `federange api --workers N` sets: every worker's samples are then summed
at each scrape). Gauges of shared state (range health, instances by stage) are not kept in a process at
all: `StateCollector` reads them from the database at scrape time, so every replica reports the same,
current values (aggregate them with max() across replicas, not sum()).

The names, in one place (the Grafana dashboard in docs/grafana-dashboard.json reads them):

federange_booking_admissions_total{outcome}          admission decisions: admitted, refused
federange_booking_refusals_total{kind}               refused decisions by reason kind (capacity, policy, ...)
federange_booking_admission_seconds{outcome}         admission latency (lock, read, decide, write)
federange_booking_holds_expired_total                holds whose TTL ran out
federange_due_actions_total{kind,outcome}            due actions run: done, retry, failed
federange_due_action_lag_seconds{kind}               scheduling lag: when it started - when it was due
federange_connector_seconds{connector,operation}     deploy / teardown / probe durations per connector kind
federange_connector_errors_total{connector,operation} connector calls that raised
federange_connector_retries_total{kind}              due actions (deploys, teardowns) scheduled again
federange_range_healthy{range}                       1 when the last probe found the range healthy
federange_instances{stage}                           instances by lifecycle stage
federange_http_requests_total{method,route,status}   HTTP requests by route template and status
federange_http_request_seconds{method,route}         HTTP request durations
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import Engine, func, select

from connectors.base import (
    Connector,
    InstanceRecord,
    InstanceSpec,
    InstanceStatus,
    ProbeResult,
    ProvisioningTarget,
)
from orchestrator.db import tables as t

MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"
_LATENCY = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
_DURATION = (0.05, 0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0)

ADMISSIONS = Counter("federange_booking_admissions", "Booking admission decisions", ["outcome"])
REFUSALS = Counter("federange_booking_refusals", "Refused admissions by reason kind", ["kind"])
ADMISSION_SECONDS = Histogram(
    "federange_booking_admission_seconds", "Admission latency", ["outcome"], buckets=_LATENCY
)
HOLDS_EXPIRED = Counter("federange_booking_holds_expired", "Holds whose TTL ran out")
DUE_ACTIONS = Counter("federange_due_actions", "Due actions run, by kind and outcome", ["kind", "outcome"])
DUE_ACTION_LAG = Histogram(
    "federange_due_action_lag_seconds",
    "Scheduling lag of due actions (start - due)",
    ["kind"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0),
)
CONNECTOR_SECONDS = Histogram(
    "federange_connector_seconds",
    "Connector call durations per connector kind",
    ["connector", "operation"],
    buckets=_DURATION,
)
CONNECTOR_ERRORS = Counter(
    "federange_connector_errors", "Connector calls that raised", ["connector", "operation"]
)
CONNECTOR_RETRIES = Counter(
    "federange_connector_retries", "Due actions scheduled again after a failure, by action kind", ["kind"]
)
HTTP_REQUESTS = Counter(
    "federange_http_requests", "HTTP requests by route and status", ["method", "route", "status"]
)
HTTP_SECONDS = Histogram(
    "federange_http_request_seconds", "HTTP request durations", ["method", "route"], buckets=_LATENCY
)


class AdmissionMetrics:
    """The booking engine's AdmissionObserver, recording into the counters above."""

    def admitted(self, *, seconds: float, bookings: int) -> None:
        ADMISSIONS.labels("admitted").inc()
        ADMISSION_SECONDS.labels("admitted").observe(seconds)

    def refused(self, *, seconds: float, kinds: Sequence[str]) -> None:
        ADMISSIONS.labels("refused").inc()
        ADMISSION_SECONDS.labels("refused").observe(seconds)
        for kind in kinds or ("other",):
            REFUSALS.labels(kind).inc()


class MeteredConnector:
    """A connector whose deploy, teardown and probe are timed and whose errors are counted, under the
    connector's kind; everything else is handed through unchanged."""

    def __init__(self, inner: Connector, kind: str) -> None:
        self._inner = inner
        self._kind = kind
        self.kind = inner.kind

    def _timed(self, operation: str, call: Callable[[], Any]) -> Any:
        started = time.perf_counter()
        try:
            return call()
        except Exception:
            CONNECTOR_ERRORS.labels(self._kind, operation).inc()
            raise
        finally:
            CONNECTOR_SECONDS.labels(self._kind, operation).observe(time.perf_counter() - started)

    def deploy(self, *, instance: InstanceSpec) -> InstanceStatus:
        result: InstanceStatus = self._timed("deploy", lambda: self._inner.deploy(instance=instance))
        return result

    def wait_ready(self, *, instance_id: str, timeout: float) -> InstanceStatus:
        result: InstanceStatus = self._timed(
            "wait_ready", lambda: self._inner.wait_ready(instance_id=instance_id, timeout=timeout)
        )
        return result

    def teardown(self, *, instance_id: str) -> None:
        self._timed("teardown", lambda: self._inner.teardown(instance_id=instance_id))

    def probe(self) -> ProbeResult:
        result: ProbeResult = self._timed("probe", self._inner.probe)
        return result

    def status(self, *, instance_id: str) -> InstanceStatus:
        return self._inner.status(instance_id=instance_id)

    def list_instances(self) -> Sequence[InstanceRecord]:
        return self._inner.list_instances()

    def provisioning_target(self, *, instance_id: str) -> ProvisioningTarget:
        return self._inner.provisioning_target(instance_id=instance_id)

    def close(self) -> None:
        self._inner.close()

    def __getattr__(self, name: str) -> Any:  # the optional capabilities (connectors.base), unmetered
        return getattr(self._inner, name)


class StateCollector(Collector):
    """Gauges read from the database at scrape time: range health per range, instances by stage."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def collect(self) -> Iterator[Metric]:
        healthy = GaugeMetricFamily(
            "federange_range_healthy", "1 when the range's last probe found it healthy", labels=["range"]
        )
        stages = GaugeMetricFamily("federange_instances", "Instances by lifecycle stage", labels=["stage"])
        with self.engine.connect() as connection:
            for slug, ok in connection.execute(
                select(t.RangeRow.slug, t.RangeHealthRow.healthy).join(
                    t.RangeHealthRow, t.RangeHealthRow.range_id == t.RangeRow.id
                )
            ):
                healthy.add_metric([slug], 1.0 if ok else 0.0)
            for stage, count in connection.execute(
                select(t.InstanceRow.stage, func.count()).group_by(t.InstanceRow.stage)
            ):
                stages.add_metric([str(stage)], float(count))
        yield healthy
        yield stages


class _Union(Collector):
    def __init__(self, collectors: Iterable[Collector]) -> None:
        self.collectors = list(collectors)

    def collect(self) -> Iterator[Metric]:
        for collector in self.collectors:
            yield from collector.collect()


def multiprocess_dir() -> Path | None:
    value = os.environ.get(MULTIPROCESS_ENV, "")
    return Path(value) if value else None


def exposition(engine: Engine | None) -> bytes:
    """The text of one scrape: this process's (or every worker's) metrics, and the database's gauges
    when an engine is given."""
    registry = CollectorRegistry(auto_describe=False)
    sources: list[Collector] = []
    if multiprocess_dir() is not None:
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        sources.append(REGISTRY)
    if engine is not None:
        sources.append(StateCollector(engine))
    registry.register(_Union(sources))
    return generate_latest(registry)
