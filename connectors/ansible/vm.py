"""The Ansible VM-range connector: a range run on VMs, driven by the operator's own playbooks.

The operator supplies a folder of five playbooks; each Protocol call runs one with the instance as extra
vars and reads the answer the playbook publishes with `ansible.builtin.set_stats` (aggregate: false):

    playbook       extra vars                                  answer (set_stats data)
    deploy.yml     federange_instance (below)                  optional federange_refusal: "<reason>",
                                                               optional federange_status (as status.yml)
    status.yml     federange_instance_id                       federange_status: {phase, reason, hosts:
                                                               [{name, ready, reason}], endpoints: [{host,
                                                               port, protocol, address, url}], inventory}
    teardown.yml   federange_instance_id                       (nothing; returns once all is gone)
    list.yml       -                                           federange_instances: [{instance_id,
                                                               exercise, team, phase}]
    probe.yml      -                                           federange_probe: {healthy, version, reason,
                                                               total: {cpu_millicores, memory_mib, slots,
                                                               gpus}, free: {...}}

`federange_instance` is {id, exercise, team, labels, scenario (the document as authored, its templates
filled for the instance), values (every per-instance value, secrets included: they never reach logs,
which are redacted)}; it arrives verbatim (marked unsafe: Ansible never renders text in it). Every run
also gets `federange_action` and the range's `extra_vars`. A failing task becomes a ConnectorError naming the
playbook, task, host and message; unreachable hosts are retried (`retries`); a run is bounded by
`timeout` (`status_timeout` for status, list and probe).

Config: connectors.ansible.config (`AnsibleConfig`: playbook_dir, inventory, files, extra_vars, timeouts).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import yaml

from connectors.ansible.config import PLAYBOOKS, AnsibleConfig
from connectors.ansible.playbooks import PlaybookRun, run_playbook
from connectors.base import (
    ConfigInvalid,
    ConfigProblem,
    ConnectorError,
    ConnectorRefusal,
    Endpoint,
    HostStatus,
    InstanceRecord,
    InstanceSpec,
    InstanceStatus,
    Phase,
    ProbeResult,
    ProvisioningTarget,
    Resources,
    poll_until_settled,
)
from connectors.schema import parse, secret_texts
from connectors.security import check_allowance
from scenarios.materialise import fill, secret_names

logger = logging.getLogger(__name__)


def _amounts(data: Any) -> Resources:
    data = data if isinstance(data, Mapping) else {}
    return Resources(
        cpu_millicores=int(data.get("cpu_millicores", 0)),
        memory_mib=int(data.get("memory_mib", 0)),
        slots=int(data.get("slots", 0)),
        gpus=int(data.get("gpus", 0)),
    )


def _answer(run: PlaybookRun, key: str) -> Any:
    """What the playbook published under `key`; a template rendered to text is parsed as YAML (Jinja
    blocks with stray whitespace render dicts as their Python text, which is valid YAML flow)."""
    value = run.stats.get(key)
    if isinstance(value, str):
        try:
            value = yaml.safe_load(value)
        except yaml.YAMLError:
            raise ConnectorError(f"{run.playbook} published {key} as text that is not YAML") from None
    return value


def _phase(value: Any, playbook: str) -> Phase:
    try:
        return Phase(str(value))
    except ValueError:
        known = ", ".join(p.value for p in Phase)
        raise ConnectorError(f"{playbook} answered phase {value!r} (expected one of {known})") from None


def instance_document(instance: InstanceSpec) -> dict[str, Any]:
    """`federange_instance` for deploy.yml: the scenario as authored, with its `{{ vars.NAME }}`
    templates filled for this instance (env, command, args, file contents), and every value."""
    scenario = instance.scenario.model_dump(mode="json", by_alias=True, exclude_none=True)
    for host in scenario["spec"]["hosts"]:
        host["env"] = {k: fill(v, instance.values) for k, v in host.get("env", {}).items()}
        for key in ("command", "args"):
            if host.get(key) is not None:
                host[key] = [fill(v, instance.values) for v in host[key]]
        for item in host.get("files", []):
            item["content"] = fill(item["content"], instance.values)
    return {
        "id": instance.instance_id,
        "exercise": instance.exercise,
        "team": instance.team,
        "labels": instance.labels(),
        "scenario": scenario,
        "values": dict(instance.values),
    }


def _status(instance_id: str, answer: Mapping[str, Any], playbook: str) -> InstanceStatus:
    phase = _phase(answer.get("phase"), playbook)
    hosts = tuple(
        HostStatus(name=str(h.get("name", "")), ready=bool(h.get("ready")), reason=str(h.get("reason", "")))
        for h in answer.get("hosts") or []
        if isinstance(h, Mapping)
    )
    endpoints = tuple(
        Endpoint(
            host=str(e.get("host", "")),
            port=int(e.get("port", 0)),
            protocol=str(e.get("protocol", "TCP")),
            address=str(e.get("address", "")),
            url=str(e.get("url", "")),
        )
        for e in answer.get("endpoints") or []
        if isinstance(e, Mapping)
    )
    reason = str(answer.get("reason", ""))
    if phase is Phase.FAILED and not reason:
        reason = (
            "; ".join(f"host {h.name}: {h.reason}" for h in hosts if not h.ready)
            or "failed (no reason given)"
        )
    return InstanceStatus(
        instance_id=instance_id, phase=phase, hosts=hosts, endpoints=endpoints, reason=reason
    )


class AnsibleVmConnector:
    kind = "ansible"
    config_schema = AnsibleConfig

    def __init__(self, config: Mapping[str, Any] | None = None) -> None:
        self.config = parse(AnsibleConfig, config, kind=self.kind)
        folder = self.config.playbook_dir
        missing = [name for name in PLAYBOOKS if not (folder / name).is_file()]
        if missing:
            lacks = f"{folder} lacks {', '.join(missing)}"
            raise ConfigInvalid(self.kind, [ConfigProblem(path=("playbook_dir",), reason=lacks)])
        self.inventory = self.config.inventory_document()
        #: The config's own secrets (inventory passwords, key files, extra vars): never in an event line.
        self.redacted = secret_texts(self.config)

    def close(self) -> None:
        """Nothing to release: every playbook run has its own private directory, removed afterwards."""

    def _run(
        self,
        playbook: str,
        *,
        action: str,
        extra_vars: Mapping[str, Any] | None = None,
        data_vars: Mapping[str, Any] | None = None,
        timeout: float | None = None,
        redact: Sequence[str] = (),
    ) -> PlaybookRun:
        """Run one of the range's playbooks, retrying unreachable hosts; ConnectorError on failure."""
        path = self.config.playbook_dir / playbook
        variables = {**self.config.extra_vars, **dict(extra_vars or {}), "federange_action": action}
        budget = timeout or self.config.timeout
        run: PlaybookRun | None = None
        for attempt in range(1, self.config.retries + 1):
            run = run_playbook(
                path,
                inventory=self.inventory,
                extra_vars=variables,
                files=self.config.files,
                on_event=lambda line: logger.debug("%s: %s", playbook, line),
                timeout=budget,
                redact=[*self.redacted, *redact],
                data_vars=data_vars,
            )
            if run.ok or not run.unreachable:
                break
            logger.warning("%s: hosts unreachable (attempt %s of %s)", playbook, attempt, self.config.retries)
        assert run is not None
        if not run.ok:
            refusal = run.stats.get("federange_refusal")
            if refusal:
                raise ConnectorRefusal(str(refusal))
            raise ConnectorError(
                f"VM range: {run.reason()}", retryable=run.unreachable or run.status == "timeout"
            )
        return run

    def probe(self) -> ProbeResult:
        try:
            run = self._run("probe.yml", action="probe", timeout=self.config.status_timeout)
        except ConnectorError as exc:
            empty = Resources()
            return ProbeResult(
                healthy=False, version="", observed_free=empty, observed_total=empty, reason=exc.reason
            )
        answer = _answer(run, "federange_probe")
        if not isinstance(answer, Mapping):
            raise ConnectorError("probe.yml published no federange_probe (set_stats)")
        return ProbeResult(
            healthy=bool(answer.get("healthy", True)),
            version=str(answer.get("version", "")),
            observed_total=_amounts(answer.get("total")),
            observed_free=_amounts(answer.get("free")),
            reason=str(answer.get("reason", "")),
        )

    def deploy(self, *, instance: InstanceSpec) -> InstanceStatus:
        check_allowance(instance)
        secrets = [instance.values[n] for n in secret_names(instance.scenario) if n in instance.values]
        run = self._run(
            "deploy.yml",
            action="deploy",
            data_vars={"federange_instance": instance_document(instance)},
            redact=secrets,
        )
        if run.stats.get("federange_refusal"):
            raise ConnectorRefusal(str(run.stats["federange_refusal"]))
        answer = _answer(run, "federange_status")
        if isinstance(answer, Mapping):  # deploy.yml may answer like status.yml and save a run
            return _status(instance.instance_id, answer, "deploy.yml")
        return self.status(instance_id=instance.instance_id)

    def _status_answer(self, instance_id: str) -> Mapping[str, Any]:
        run = self._run(
            "status.yml",
            action="status",
            extra_vars={"federange_instance_id": instance_id},
            timeout=self.config.status_timeout,
        )
        answer = _answer(run, "federange_status")
        if not isinstance(answer, Mapping):
            raise ConnectorError("status.yml published no federange_status (set_stats)")
        return answer

    def status(self, *, instance_id: str) -> InstanceStatus:
        return _status(instance_id, self._status_answer(instance_id), "status.yml")

    def wait_ready(self, *, instance_id: str, timeout: float) -> InstanceStatus:
        return poll_until_settled(
            lambda: self.status(instance_id=instance_id),
            instance_id=instance_id,
            timeout=timeout,
            pauses=[self.config.poll_interval],
        )

    def teardown(self, *, instance_id: str) -> None:
        """Runs teardown.yml, whose contract is to return only once every machine and network of the
        instance is gone (and to succeed when there is nothing to remove)."""
        self._run("teardown.yml", action="teardown", extra_vars={"federange_instance_id": instance_id})

    def list_instances(self) -> Sequence[InstanceRecord]:
        run = self._run("list.yml", action="list", timeout=self.config.status_timeout)
        answer = _answer(run, "federange_instances")
        if not isinstance(answer, list):
            raise ConnectorError("list.yml published no federange_instances list (set_stats)")
        return [
            InstanceRecord(
                instance_id=str(item["instance_id"]),
                exercise=str(item.get("exercise", "")),
                team=str(item.get("team", "")),
                phase=_phase(item.get("phase", "pending"), "list.yml"),
            )
            for item in answer
            if isinstance(item, Mapping) and item.get("instance_id")
        ]

    def provisioning_target(self, *, instance_id: str) -> ProvisioningTarget:
        """The inventory status.yml publishes for the instance (`federange_status.inventory`)."""
        answer = self._status_answer(instance_id)
        if _phase(answer.get("phase"), "status.yml") is Phase.ABSENT:
            raise ConnectorError(f"instance {instance_id} is not deployed on this VM range")
        inventory = answer.get("inventory")
        if not isinstance(inventory, Mapping) or not inventory:
            raise ConnectorError("status.yml published no inventory for the instance's hosts")
        return ProvisioningTarget(inventory=inventory, files=self.config.files)
