"""The ticks the scheduler runs; each opens its own units of work.

due-actions     every tick      claim and run due actions (deploy, teardown, warnings)
lease-heartbeat every lease/3   keep the leases of running actions
expire-holds    every tick      mark holds whose TTL ran out EXPIRED (admission already ignores them)
probe-ranges    every probe     health, version and observed capacity of every range
reconcile       every minute    redeploy vanished instances, remove orphans
heal            every 30 s      move teams off ranges that became unusable before their exercise
refill-pools    every reconcile top up warm pools (a claim refills its pool at once; this is the net)
federation      every minute    import peers' published ranges again; release at peers what we no longer book
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

from connectors.base import ConnectorError, ConnectorRefusal
from orchestrator.catalogue.health import HealthStore, RangeHealth, probe_ranges
from orchestrator.exercises import healing, pools, reconciler
from orchestrator.federation import home
from orchestrator.federation.model import PeerInstanceState
from orchestrator.scheduler.actions import ActionRunner
from orchestrator.scheduler.handlers import federation_handlers, lifecycle_handlers
from orchestrator.wiring import Services, metrics

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Tick:
    name: str
    every_seconds: float
    run: Callable[[Services], object]


def expire_holds(services: Services) -> int:
    """Mark holds whose TTL ran out EXPIRED; one transaction per batch."""
    total = 0
    while True:
        with services.uow() as uow:
            done = services.booking(uow.bookings).expire_holds(limit=500)
        total += done
        metrics.HOLDS_EXPIRED.inc(done)
        if done < 500:
            return total


def probe(services: Services) -> list[RangeHealth]:
    """Probe every range; the results land in the catalogue (range health)."""

    @contextmanager
    def stores() -> Iterator[HealthStore]:
        with services.uow() as uow:
            yield uow.catalogue

    return probe_ranges(stores, services.connectors, clock=services.clock)


def action_runner(services: Services, *, refill: bool = False) -> ActionRunner:
    """The lifecycle's action runner; `refill` for a scheduler process (a finished action claims the
    next ones at once), off where a caller ticks by hand."""
    settings = services.settings
    runner = ActionRunner(
        services,
        {**lifecycle_handlers(), **federation_handlers()},
        parallel=settings.action_parallelism,
        lease=timedelta(seconds=settings.action_lease_seconds),
        refill=refill,
    )
    runner.release_dead_local_claims()
    return runner


def all_ticks(services: Services, runner: ActionRunner) -> list[Tick]:
    settings = services.settings
    return [
        Tick("due-actions", settings.scheduler_tick_seconds, lambda _s: runner.tick()),
        Tick("lease-heartbeat", max(runner.lease.total_seconds() / 3, 1.0), lambda _s: runner.heartbeat()),
        Tick("expire-holds", max(settings.scheduler_tick_seconds, 1.0), expire_holds),
        Tick("probe-ranges", settings.probe_interval_seconds, probe),
        Tick("reconcile", settings.reconcile_interval_seconds, lambda s: reconciler.reconcile(s.runtime())),
        Tick("heal", settings.heal_interval_seconds, lambda s: healing.heal(s.runtime(), s.plugins)),
        Tick("refill-pools", settings.reconcile_interval_seconds, lambda s: pools.refill_all(s.uow, s.clock)),
        Tick("federation", settings.federation_sync_interval_seconds, federation),
    ]


def federation(services: Services) -> int:
    """Import the ranges peers publish to us again, give back at the peers what we no longer book, and
    tear down the peers' instances here whose booking ended or was released."""
    services.hub.sync_all()
    released = services.hub.reconcile()
    with services.uow() as uow:
        ended = home.outlived(uow, now=services.clock.now())
    for instance, record in ended:
        try:
            services.connectors(record).teardown(instance_id=instance.id)
        except (ConnectorError, ConnectorRefusal) as exc:
            log.warning("tearing down %s (its booking ended) on %s: %s", instance.id, record.slug, exc.reason)
            continue
        with services.uow() as uow:
            services.home(uow).mark(instance.id, PeerInstanceState.TORN_DOWN, reason="its booking ended")
    return released + len(ended)
