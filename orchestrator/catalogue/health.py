"""Range health: each range's connector asked for its health, version and observed capacity.

The result feeds placement (an unhealthy range gets no new teams) and healing (teams booked on a range
that fails its probes before the exercise starts are moved).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from connectors.base import Connector, Resources
from orchestrator.domain.catalogue import RangeRecord
from orchestrator.domain.clock import Clock
from orchestrator.domain.ranges import RangeStatus

log = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class RangeHealth:
    range_id: str
    healthy: bool
    reason: str
    version: str
    observed_free: Resources
    observed_total: Resources
    probed_at: datetime


class HealthStore(Protocol):
    def list_ranges(
        self, *, country: str | None, capability: str | None, status: str | None
    ) -> Sequence[RangeRecord]: ...
    def put_health(self, health: RangeHealth) -> None: ...
    def health_of(self, range_ids: Sequence[str]) -> Mapping[str, RangeHealth]: ...


def probe(record: RangeRecord, connector: Callable[[RangeRecord], Connector], *, clock: Clock) -> RangeHealth:
    """One range's health; a connector that raises counts as unhealthy, with the error as the reason."""
    try:
        result = connector(record).probe()
    except Exception as exc:  # any failure of the range or its driver is a failed probe
        log.warning("probe of range %s failed: %s", record.slug, exc)
        return RangeHealth(
            range_id=record.id,
            healthy=False,
            reason=f"probe failed: {type(exc).__name__}: {exc}",
            version="",
            observed_free=Resources(),
            observed_total=Resources(),
            probed_at=clock.now(),
        )
    return RangeHealth(
        range_id=record.id,
        healthy=result.healthy,
        reason=result.reason,
        version=result.version,
        observed_free=result.observed_free,
        observed_total=result.observed_total,
        probed_at=clock.now(),
    )


def probe_ranges(
    stores: Callable[[], AbstractContextManager[HealthStore]],
    connector: Callable[[RangeRecord], Connector],
    *,
    clock: Clock,
) -> list[RangeHealth]:
    """Probe every range that is not decommissioned, outside any transaction (a probe is I/O), and
    store the results in one short transaction."""
    with stores() as store:
        records = [
            r
            for r in store.list_ranges(country=None, capability=None, status=None)
            if r.status is not RangeStatus.DECOMMISSIONED
        ]
    results = [probe(record, connector, clock=clock) for record in records]
    with stores() as store:
        for health in results:
            store.put_health(health)
    return results
