"""Probing ranges: ask each range's connector for its health, version and observed capacity.

The result feeds placement (an unhealthy range gets no new teams) and healing (teams booked on a range
that fails its probes before the exercise starts are moved).
"""

from __future__ import annotations

import logging

from connectors.base import ResourceAmounts
from orchestrator.domain.capacity import Resources
from orchestrator.domain.ranges import RangeStatus
from orchestrator.exercises.lifecycle import Runtime
from orchestrator.exercises.model import RangeHealth

log = logging.getLogger(__name__)


def _resources(amounts: ResourceAmounts) -> Resources:
    return Resources(amounts.cpu_millicores, amounts.memory_mib, amounts.slots, amounts.gpus)


def probe_ranges(rt: Runtime) -> list[RangeHealth]:
    """Probe every range that is not decommissioned; a connector that raises counts as unhealthy."""
    with rt.transactions() as unit:
        records = [
            r
            for r in unit.catalogue.list_ranges(country=None, capability=None, status=None)
            if r.status is not RangeStatus.DECOMMISSIONED
        ]
    results = []
    for record in records:
        try:
            probe = rt.connectors(record).probe()
            health = RangeHealth(
                range_id=record.id,
                healthy=probe.healthy,
                reason=probe.reason,
                version=probe.version,
                observed_free=_resources(probe.observed_free),
                observed_total=_resources(probe.observed_total),
                probed_at=rt.clock.now(),
            )
        except Exception as exc:  # any failure of the range or its driver is a failed probe
            log.warning("probe of range %s failed: %s", record.slug, exc)
            health = RangeHealth(
                range_id=record.id,
                healthy=False,
                reason=f"probe failed: {type(exc).__name__}: {exc}",
                version="",
                observed_free=Resources(),
                observed_total=Resources(),
                probed_at=rt.clock.now(),
            )
        results.append(health)
    with rt.transactions() as unit:
        for health in results:
            unit.exercises.put_health(health)
    return results
