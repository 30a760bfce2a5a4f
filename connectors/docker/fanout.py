"""Deploy or remove many instances on one range at once, with a bounded number in flight.

Works with any Connector (it only calls the Protocol); the Docker connector's `workers` setting is the
usual bound. One instance's failure never stops the others: each outcome is reported on its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from connectors.base import Connector, ConnectorError, ConnectorRefusal, InstanceSpec, InstanceStatus, Phase


@dataclass(frozen=True, kw_only=True)
class Outcome:
    instance_id: str
    status: InstanceStatus | None = None
    error: str = ""

    @property
    def ok(self) -> bool:
        return not self.error and (self.status is None or self.status.phase is not Phase.FAILED)


def deploy_many(
    connector: Connector,
    instances: Sequence[InstanceSpec],
    *,
    workers: int = 4,
    ready_timeout: float | None = None,
) -> list[Outcome]:
    """Deploy every instance (and wait for readiness when `ready_timeout` is given), at most `workers`
    at a time; outcomes in the order of `instances`."""

    def one(instance: InstanceSpec) -> Outcome:
        try:
            status = connector.deploy(instance=instance)
            if ready_timeout is not None:
                status = connector.wait_ready(instance_id=instance.instance_id, timeout=ready_timeout)
        except (ConnectorError, ConnectorRefusal) as exc:
            return Outcome(instance_id=instance.instance_id, error=exc.reason)
        error = status.reason if status.phase is Phase.FAILED else ""
        return Outcome(instance_id=instance.instance_id, status=status, error=error)

    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="federange-deploy") as pool:
        return list(pool.map(one, instances))


def teardown_many(connector: Connector, instance_ids: Sequence[str], *, workers: int = 4) -> list[Outcome]:
    """Tear down every instance, at most `workers` at a time."""

    def one(instance_id: str) -> Outcome:
        try:
            connector.teardown(instance_id=instance_id)
        except ConnectorError as exc:
            return Outcome(instance_id=instance_id, error=exc.reason)
        return Outcome(instance_id=instance_id)

    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="federange-teardown") as pool:
        return list(pool.map(one, instance_ids))
