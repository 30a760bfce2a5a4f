"""Post-deploy provisioning: run a scenario's playbooks against one deployed instance's hosts.

The inventory comes from the range's connector (`Connector.provisioning_target`): on a Docker range each
host is reached through the engine (community.docker.docker_api), on Kubernetes through kubectl exec
(kubernetes.core.kubectl), on a VM range through whatever the range's playbooks answer. The scenario's
playbooks do not care which: they address the scenario's host names.

Each playbook runs in the order the scenario lists them, limited to its `hosts`, with its `vars` filled
for the instance and every per-instance value available as `federange_vars` (playbooks plant flags and
passwords). Secret values never reach the event lines (`***`). The first failing playbook stops the run,
and the result names the playbook, task, host and message.

`AnsibleProvisioner` is this as the orchestrator's named Provisioner (connectors.provisioning; registered
as `ansible` in the `federange.provisioners` entry-point group).
"""

from __future__ import annotations

import importlib.util
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from connectors.ansible.playbooks import EventSink, PlaybookRun, run_playbook
from connectors.base import ConnectorError, ProvisioningTarget
from connectors.provisioning import ProvisionOutcome
from scenarios.loader import parsed
from scenarios.materialise import fill, secret_names
from scenarios.model import Playbook, Scenario


@dataclass(frozen=True, kw_only=True)
class ProvisioningResult:
    ok: bool
    runs: tuple[PlaybookRun, ...] = ()
    failed_playbook: str = ""
    failed_task: str = ""
    failed_host: str = ""
    message: str = ""

    @property
    def reason(self) -> str:
        if self.ok:
            return ""
        where = f"playbook '{self.failed_playbook}'"
        if self.failed_task:
            where += f", task '{self.failed_task}' on host '{self.failed_host}'"
        return f"provisioning failed at {where}: {self.message}"


def _playbook_path(scenario_dir: Path, playbook: Playbook) -> Path | str:
    """The playbook file, or why it cannot be used (missing, or outside the scenario's folder)."""
    root = scenario_dir.resolve()
    path = (root / playbook.playbook).resolve()
    if not path.is_relative_to(root):
        return f"{playbook.playbook} lies outside the scenario folder"
    if not path.is_file():
        return f"{playbook.playbook} does not exist in {root}"
    return path


def _inventory_hosts(target: ProvisioningTarget) -> set[str]:
    hosts = (target.inventory.get("all") or {}).get("hosts") or {}
    return set(hosts)


def provision(
    scenario: Scenario,
    *,
    scenario_dir: Path,
    target: ProvisioningTarget,
    values: Mapping[str, str],
    on_event: EventSink,
    timeout: float = 900.0,
) -> ProvisioningResult:
    """Run every provisioning playbook of `scenario` (paths relative to `scenario_dir`, the folder of
    the scenario file) against `target`; bounded by `timeout` seconds in total."""
    secrets = [values[name] for name in secret_names(scenario) if name in values]
    known_hosts = _inventory_hosts(target)
    deadline = time.monotonic() + timeout
    runs: list[PlaybookRun] = []
    for playbook in scenario.spec.provisioning:
        path = _playbook_path(scenario_dir, playbook)
        if isinstance(path, str):
            return ProvisioningResult(ok=False, runs=tuple(runs), failed_playbook=playbook.name, message=path)
        missing = [h for h in playbook.hosts if h not in known_hosts]
        if missing:
            return ProvisioningResult(
                ok=False,
                runs=tuple(runs),
                failed_playbook=playbook.name,
                message=f"host(s) {', '.join(missing)} are not in the instance's inventory",
            )
        left = deadline - time.monotonic()
        if left <= 0:
            return ProvisioningResult(
                ok=False,
                runs=tuple(runs),
                failed_playbook=playbook.name,
                message=f"no time left of the {timeout:g}s provisioning budget",
            )
        on_event(f"PLAYBOOK [{playbook.name}] {playbook.playbook} on {', '.join(playbook.hosts)}")
        extra_vars = {
            **{key: fill(value, values) for key, value in playbook.vars.items()},
            "federange_vars": dict(values),
            "federange_scenario": scenario.ref,
        }
        run = run_playbook(
            path,
            inventory=target.inventory,
            extra_vars=extra_vars,
            files=target.files,
            limit=playbook.hosts,
            on_event=on_event,
            timeout=left,
            redact=secrets,
        )
        runs.append(run)
        if not run.ok:
            first = run.failures[0] if run.failures else None
            return ProvisioningResult(
                ok=False,
                runs=tuple(runs),
                failed_playbook=playbook.name,
                failed_task=first.task if first else "",
                failed_host=first.host if first else "",
                message=first.message if first else run.reason(),
            )
    return ProvisioningResult(ok=True, runs=tuple(runs))


class AnsibleProvisioner:
    """The `ansible` provisioner: `provision` above, for the scenario document an instance was booked with.

    A simulated range (the fake connector) has no machines: each playbook is reported as not run."""

    def __init__(self, *, timeout: float = 900.0) -> None:
        self.timeout = timeout

    def unavailable(self) -> str:
        if importlib.util.find_spec("ansible_runner") is None:
            return "ansible-runner is not installed here: install federange[ansible]"
        return ""

    def provision(
        self,
        *,
        scenario_document: str,
        base_dir: Path | None,
        target: ProvisioningTarget,
        values: Mapping[str, str],
        instance_id: str,
        on_event: EventSink,
    ) -> ProvisionOutcome:
        scenario = parsed(scenario_document)
        if target.simulated:
            for playbook in scenario.spec.provisioning:
                on_event(f"SIMULATED range: playbook '{playbook.name}' ({playbook.playbook}) not run")
            return ProvisionOutcome(ok=True)
        if base_dir is None:
            return ProvisionOutcome(
                ok=False,
                error=f"the playbooks of {scenario.ref} are not available to this orchestrator (uploaded "
                "scenarios carry no files); ship the scenario in a library directory",
            )
        try:
            result = provision(
                scenario,
                scenario_dir=base_dir,
                target=target,
                values=values,
                on_event=on_event,
                timeout=self.timeout,
            )
        except ConnectorError as exc:  # ansible-runner missing here
            return ProvisionOutcome(ok=False, error=exc.reason)
        return ProvisionOutcome(ok=result.ok, error=result.reason)
