"""Deploy or tear down many instances on one range at once, at most `workers` at a time.

Works with any Connector (it only calls the Protocol). One instance's failure never stops the others:
each outcome is reported on its own, in the order the instances were given, so deploying fifty team
instances says exactly which ones did not make it and why. A range's API is protected by its connector
(the Kubernetes connector's shared rate limiter), not by this pool's width.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

from connectors.base import (
    BulkTeardown,
    Connector,
    ConnectorError,
    ConnectorRefusal,
    InstanceSpec,
    InstanceStatus,
    Phase,
)

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True, kw_only=True)
class Outcome:
    instance_id: str
    status: InstanceStatus | None = None
    error: str = ""
    refused: bool = False

    @property
    def ok(self) -> bool:
        return not self.error and (self.status is None or self.status.phase is not Phase.FAILED)


def _each(items: Sequence[T], one: Callable[[T], Outcome], *, workers: int, name: str) -> list[Outcome]:
    if not items:
        return []
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(items))), thread_name_prefix=name) as pool:
        return list(pool.map(one, items))


def deploy_many(
    connector: Connector,
    instances: Sequence[InstanceSpec],
    *,
    workers: int = 4,
    ready_timeout: float | None = None,
) -> list[Outcome]:
    """Deploy every instance (and wait for readiness when `ready_timeout` is given). Refusals and
    connector errors become failed outcomes with their reason; any other exception is a bug and
    propagates."""

    def one(instance: InstanceSpec) -> Outcome:
        try:
            status = connector.deploy(instance=instance)
            if ready_timeout is not None:
                status = connector.wait_ready(instance_id=instance.instance_id, timeout=ready_timeout)
        except ConnectorRefusal as exc:
            return Outcome(instance_id=instance.instance_id, error=exc.reason, refused=True)
        except ConnectorError as exc:
            log.warning("deploying %s failed: %s", instance.instance_id, exc.reason)
            return Outcome(instance_id=instance.instance_id, error=exc.reason)
        error = status.reason if status.phase is Phase.FAILED else ""
        return Outcome(instance_id=instance.instance_id, status=status, error=error)

    return _each(instances, one, workers=workers, name="federange-deploy")


def teardown_many(connector: Connector, instance_ids: Sequence[str], *, workers: int = 4) -> list[Outcome]:
    """Tear down every instance (all at once where the connector can: BulkTeardown)."""
    if isinstance(connector, BulkTeardown):
        failures = connector.teardown_all(instance_ids=instance_ids)
        for instance_id, failure in failures.items():
            log.warning("tearing down %s failed: %s", instance_id, failure.reason)
        return [
            Outcome(
                instance_id=i,
                error=failures[i].reason if i in failures else "",
                refused=isinstance(failures.get(i), ConnectorRefusal),
            )
            for i in instance_ids
        ]

    def one(instance_id: str) -> Outcome:
        try:
            connector.teardown(instance_id=instance_id)
        except ConnectorRefusal as exc:
            return Outcome(instance_id=instance_id, error=exc.reason, refused=True)
        except ConnectorError as exc:
            log.warning("tearing down %s failed: %s", instance_id, exc.reason)
            return Outcome(instance_id=instance_id, error=exc.reason)
        return Outcome(instance_id=instance_id)

    return _each(instance_ids, one, workers=workers, name="federange-teardown")
