"""Post-deploy provisioning as a named extension: the Provisioner Protocol and its outcome.

A provisioner runs a scenario's provisioning steps (Ansible playbooks for the `ansible` provisioner,
connectors.ansible.provisioner) against one deployed instance, reached through the range's
`Connector.provisioning_target`. The orchestrator loads it by name (`connectors.registry.load_provisioner`,
entry-point group `federange.provisioners`) and hands it the scenario as the YAML document it booked.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from connectors.base import ProvisioningTarget


@dataclass(frozen=True, kw_only=True)
class ProvisionOutcome:
    ok: bool
    error: str = ""


class Provisioner(Protocol):
    def unavailable(self) -> str:
        """Why this provisioner cannot run steps in this process (a missing package), "" when it can.
        A provisioner that cannot still loads: simulated ranges need no steps run."""
        ...

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
        """Run the scenario's provisioning steps against the instance (their files relative to
        `base_dir`, the scenario's folder; None when the orchestrator has no files for it). Never raises
        for a failed step: the outcome says which task failed on which host. Secret values never reach
        `on_event`."""
        ...
