"""The hub's side of "every federation call is audited on both sides": the instance calls to a peer.

Holds, confirms, releases, renewals and syncs are audited by the Hub where it makes them. The instance
calls (deploy, status, teardown, list) are made by the exercise lifecycle and the reconciler through the
range's connector, which never imports the orchestrator; so a peer range's connector is handed out
wrapped (`AuditedPeerRange`, applied by the composition root to every range whose connector kind is
`federation`), and each call writes one audit event in its own short transaction after the peer
answered (or did not): `federation.instance.<deploy|status|teardown|list>` on the hub's mirror of the
peer range, with the peer, the peer's range slug, the instance, its booking and exercise, and the
outcome: `ok`, `refused` (with the peer's reason) or `unreachable` (with the error).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from connectors.base import (
    Connector,
    ConnectorError,
    ConnectorRefusal,
    InstanceRecord,
    InstanceSpec,
    InstanceStatus,
    ProbeResult,
    ProvisioningTarget,
)
from orchestrator.domain.catalogue import RangeRecord
from orchestrator.domain.clock import Clock
from orchestrator.exercises.ports import Transactions
from orchestrator.identity import audit
from orchestrator.identity.principals import SYSTEM

log = logging.getLogger(__name__)

T = TypeVar("T")

#: The audit actions, one per instance call to a peer.
DEPLOY = "federation.instance.deploy"
STATUS = "federation.instance.status"
TEARDOWN = "federation.instance.teardown"
LIST = "federation.instance.list"


class AuditedPeerRange:
    """A peer range's connector whose instance calls are audited here; everything else (probe, the
    calendar calls the Hub audits itself) is handed through unchanged."""

    def __init__(
        self, inner: Connector, record: RangeRecord, *, transactions: Transactions, clock: Clock
    ) -> None:
        self._inner = inner
        self._record = record
        self._transactions = transactions
        self._clock = clock
        self.kind = inner.kind

    def deploy(self, *, instance: InstanceSpec) -> InstanceStatus:
        return self._audited(DEPLOY, instance.instance_id, lambda: self._inner.deploy(instance=instance))

    def wait_ready(self, *, instance_id: str, timeout: float) -> InstanceStatus:
        """Audited once, as one status read (the polls in between are the connector's business)."""
        return self._audited(
            STATUS, instance_id, lambda: self._inner.wait_ready(instance_id=instance_id, timeout=timeout)
        )

    def status(self, *, instance_id: str) -> InstanceStatus:
        return self._audited(STATUS, instance_id, lambda: self._inner.status(instance_id=instance_id))

    def teardown(self, *, instance_id: str) -> None:
        self._audited(TEARDOWN, instance_id, lambda: self._inner.teardown(instance_id=instance_id))

    def list_instances(self) -> Sequence[InstanceRecord]:
        return self._audited(LIST, None, self._inner.list_instances)

    def probe(self) -> ProbeResult:
        return self._inner.probe()

    def provisioning_target(self, *, instance_id: str) -> ProvisioningTarget:
        return self._inner.provisioning_target(instance_id=instance_id)

    def close(self) -> None:
        self._inner.close()

    def __getattr__(self, name: str) -> Any:  # the optional capabilities (connectors.base), unaudited here
        return getattr(self._inner, name)

    # -- the audit ---------------------------------------------------------------------------------
    def _audited(self, action: str, instance_id: str | None, call: Callable[[], T]) -> T:
        try:
            result = call()
        except ConnectorRefusal as exc:
            self._write(action, instance_id, outcome="refused", reason=exc.reason)
            raise
        except ConnectorError as exc:
            self._write(action, instance_id, outcome="unreachable", reason=exc.reason)
            raise
        extra: dict[str, Any] = {}
        if isinstance(result, InstanceStatus):
            extra["phase"] = result.phase.value
        elif isinstance(result, Sequence):
            extra["instances"] = len(result)
        self._write(action, instance_id, outcome="ok", reason="", extra=extra)
        return result

    def _write(
        self,
        action: str,
        instance_id: str | None,
        *,
        outcome: str,
        reason: str,
        extra: dict[str, Any] | None = None,
    ) -> None:
        """One audit event; a failure to write it is logged, never turned into the call's failure (the
        peer has acted by now, and the lifecycle must record what it did)."""
        config = self._record.connector.config
        after: dict[str, Any] = {
            "peer": str(config.get("peer", "")),
            "range": str(config.get("range", "")),
            "outcome": outcome,
            **(extra or {}),
        }
        if reason:
            after["reason"] = reason
        try:
            with self._transactions() as unit:
                organisation_id = None
                if instance_id is not None:
                    after["instance"] = instance_id
                    instance = unit.exercises.get_instance(instance_id)
                    if instance is not None:
                        after["booking"] = instance.booking_id
                        after["exercise"] = instance.exercise_id
                        exercise = unit.exercises.get_exercise(instance.exercise_id, placement=False)
                        organisation_id = None if exercise is None else exercise.owner_organisation_id
                audit.record(
                    unit.catalogue,
                    self._clock,
                    SYSTEM,
                    action,
                    kind="instance" if instance_id is not None else "range",
                    object_id=instance_id if instance_id is not None else self._record.id,
                    range_id=self._record.id,
                    organisation_id=organisation_id,
                    after=after,
                )
        except Exception:
            log.exception("auditing %s on %s failed", action, self._record.slug)
