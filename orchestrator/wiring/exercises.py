"""Wiring of the exercise lifecycle: the connectors by range, the Ansible provisioner."""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from connectors import registry
from connectors.base import Connector, ProvisioningTarget
from orchestrator.domain.catalogue import RangeRecord
from orchestrator.exercises.ports import ProvisionOutcome
from scenarios.loader import load_text

if TYPE_CHECKING:
    pass

log = logging.getLogger(__name__)


class ConnectorCache:
    """One connector per range and connector configuration, reused across actions (connectors are
    thread-safe and keep their HTTP clients); a changed configuration builds a new one."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[str, Connector]] = {}
        self._retired: list[Connector] = []

    def __call__(self, record: RangeRecord) -> Connector:
        config = {**record.connector.config, **record.connector.secrets}
        key = hashlib.sha256(
            json.dumps([record.connector.kind, config], sort_keys=True, default=str).encode()
        ).hexdigest()
        with self._lock:
            cached = self._cache.get(record.id)
            if cached is not None and cached[0] == key:
                return cached[1]
        connector = registry.load(record.connector.kind, config)
        with self._lock:
            replaced = self._cache.get(record.id)
            if replaced is not None:  # an action may still be using it: close it at shutdown
                self._retired.append(replaced[1])
            self._cache[record.id] = (key, connector)
        return connector

    def close(self) -> None:
        """Close every connector built (their HTTP clients and sockets); the cache is empty afterwards."""
        with self._lock:
            built = [c for _, c in self._cache.values()] + self._retired
            self._cache.clear()
            self._retired.clear()
        for connector in built:
            close = getattr(connector, "close", None)
            if callable(close):
                close()


class AnsibleProvisioner:
    """Runs a scenario's provisioning playbooks with ansible-runner (connectors.ansible.provisioner)."""

    def __init__(self, *, timeout: float = 900.0) -> None:
        self.timeout = timeout

    def provision(
        self,
        *,
        scenario_document: str,
        base_dir: Path | None,
        target: ProvisioningTarget,
        values: Mapping[str, str],
        instance_id: str,
        on_event: Callable[[str], None],
    ) -> ProvisionOutcome:
        scenario = load_text(scenario_document)
        if target.simulated:
            for playbook in scenario.spec.provisioning:
                on_event(f"SIMULATED range: playbook '{playbook.name}' ({playbook.playbook}) not run")
            return ProvisionOutcome(ok=True)
        try:
            from connectors.ansible.provisioner import provision
        except ImportError as exc:
            return ProvisionOutcome(
                ok=False,
                error=f"ansible-runner is not installed here ({exc}): install federange[ansible]",
            )
        if base_dir is None:
            return ProvisionOutcome(
                ok=False,
                error=f"the playbooks of {scenario.ref} are not available to this orchestrator (uploaded "
                "scenarios carry no files); ship the scenario in a library directory",
            )
        result = provision(
            scenario,
            scenario_dir=base_dir,
            target=target,
            values=values,
            on_event=on_event,
            timeout=self.timeout,
        )
        return ProvisionOutcome(ok=result.ok, error=result.reason)
