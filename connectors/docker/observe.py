"""What a Docker range holds for an instance, read back from the engine by label alone.

The connector keeps no state of its own: everything `status` needs (the instance's host list, each
host's readiness probe and entry ports) travels in the labels of the objects it created, so a fresh
connector after a crash, or another orchestrator process, sees the same instance.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import docker.errors

from connectors.base import (
    LABEL_EXERCISE,
    LABEL_HOST,
    LABEL_INSTANCE,
    LABEL_MANAGED_BY,
    LABEL_TEAM,
    MANAGED_BY,
    Endpoint,
    HostStatus,
    InstanceRecord,
    InstanceStatus,
    Phase,
)
from connectors.docker import naming
from connectors.docker.commands import run_command
from connectors.docker.engine import Engine, explain
from connectors.docker.readiness import (
    HostState,
    container_verdict,
    probe_command,
    running_seconds,
)
from scenarios.model import Readiness

logger = logging.getLogger(__name__)

MIB = 1024 * 1024


@dataclass(frozen=True, kw_only=True)
class Holdings:
    """The objects the engine holds for one instance (summaries as `GET /<kind>` lists them)."""

    containers: Sequence[Mapping[str, Any]]
    networks: Sequence[Mapping[str, Any]]
    volumes: Sequence[Mapping[str, Any]]

    @property
    def empty(self) -> bool:
        return not (self.containers or self.networks or self.volumes)

    def names(self) -> list[str]:
        """`kind:name:id` of every object (ids make a replaced object visible)."""
        items = [f"container:{c['Names'][0].lstrip('/')}:{c['Id']}" for c in self.containers]
        items += [f"network:{n['Name']}:{n['Id']}" for n in self.networks]
        items += [f"volume:{v['Name']}:" for v in self.volumes]
        return sorted(items)

    def labels(self) -> list[Mapping[str, str]]:
        return [
            *(c.get("Labels") or {} for c in self.containers),
            *(n.get("Labels") or {} for n in self.networks),
            *(v.get("Labels") or {} for v in self.volumes),
        ]


def holdings(engine: Engine, label: str) -> Holdings:
    """Every container, network and volume carrying `label` (`key=value` or `key`)."""
    api = engine.api
    filters = {"label": [label]}
    containers = engine.call("list containers", lambda: api.containers(all=True, filters=filters))
    networks = engine.call("list networks", lambda: api.networks(filters=filters))
    volumes = engine.call("list volumes", lambda: api.volumes(filters=filters)).get("Volumes") or []
    return Holdings(containers=containers, networks=networks, volumes=volumes)


def instance_holdings(engine: Engine, instance_id: str) -> Holdings:
    return holdings(engine, f"{LABEL_INSTANCE}={instance_id}")


def _expected_hosts(found: Holdings) -> list[str]:
    names: list[str] = []
    for labels in found.labels():
        for name in (labels.get(naming.LABEL_HOSTS) or "").split(","):
            if name and name not in names:
                names.append(name)
    return names


def _probe(engine: Engine, container: str, readiness: Readiness) -> tuple[bool, str]:
    """Run the probe in the container, bounded by its timeout. A probe still running at its deadline
    has failed."""
    try:
        result = run_command(
            engine, container, probe_command(readiness), timeout=readiness.timeout_seconds + 1
        )
    except docker.errors.APIError as exc:
        return False, f"readiness probe could not run: {explain(exc)}"
    if result.exit_code is None:
        return False, f"readiness probe still running after {readiness.timeout_seconds}s"
    if result.exit_code == 0:
        return True, ""
    meaning = {126: " (not executable)", 127: " (command not found)"}.get(result.exit_code, "")
    return False, f"readiness probe failed with exit status {result.exit_code}{meaning}"


def _endpoints(details: Mapping[str, Any], host: str, publish_host: str) -> list[Endpoint]:
    labels = (details.get("Config") or {}).get("Labels") or {}
    declared = [p for p in (labels.get(naming.LABEL_ENTRY_PORTS) or "").split(",") if p]
    ports = (details.get("NetworkSettings") or {}).get("Ports") or {}
    endpoints = []
    for item in declared:
        port, _, protocol = item.partition("/")
        bindings = ports.get(f"{port}/{protocol.lower()}") or []
        if not bindings:
            continue
        published = bindings[0].get("HostPort", "")
        endpoints.append(
            Endpoint(
                host=host,
                port=int(port),
                protocol=protocol,
                address=f"{publish_host}:{published}",
                url=f"{protocol.lower()}://{publish_host}:{published}",
            )
        )
    return endpoints


def _host_status(
    engine: Engine, summary: Mapping[str, Any]
) -> tuple[HostStatus, HostState, Mapping[str, Any]]:
    api = engine.api
    name = summary["Id"]
    host = (summary.get("Labels") or {}).get(LABEL_HOST, "?")
    try:
        details = engine.call(f"inspect container of host {host}", lambda: api.inspect_container(name))
    except docker.errors.NotFound:
        return HostStatus(name=host, ready=False, reason="container vanished"), HostState.TERMINATING, {}
    state = details.get("State") or {}
    memory_mib = int(((details.get("HostConfig") or {}).get("Memory") or 0) // MIB)
    verdict = container_verdict(
        state, restart_count=int(details.get("RestartCount") or 0), memory_mib=memory_mib
    )
    if verdict.state is not HostState.RUNNING:
        return HostStatus(name=host, ready=False, reason=verdict.reason), verdict.state, details
    spec = ((details.get("Config") or {}).get("Labels") or {}).get(naming.LABEL_READINESS) or ""
    if not spec:
        # Without a probe, running is ready, once it has run long enough not to be a container that
        # exits right after it starts.
        settle = engine.config.settle_seconds
        if running_seconds(state) < settle:
            return (
                HostStatus(name=host, ready=False, reason=f"running for under {settle:g}s"),
                HostState.STARTING,
                details,
            )
        return HostStatus(name=host, ready=True), HostState.RUNNING, details
    readiness = Readiness.model_validate_json(spec)
    if running_seconds(state) < readiness.initial_delay_seconds:
        return HostStatus(name=host, ready=False, reason="initial delay"), HostState.STARTING, details
    ok, reason = _probe(engine, name, readiness)
    return HostStatus(name=host, ready=ok, reason=reason), HostState.RUNNING, details


def instance_status(engine: Engine, instance_id: str) -> InstanceStatus:
    found = instance_holdings(engine, instance_id)
    if found.empty:
        return InstanceStatus(instance_id=instance_id, phase=Phase.ABSENT)
    by_host = {(c.get("Labels") or {}).get(LABEL_HOST): c for c in found.containers}
    hosts: list[HostStatus] = []
    states: list[HostState] = []
    endpoints: list[Endpoint] = []
    for host in _expected_hosts(found):
        summary = by_host.get(host)
        if summary is None:
            hosts.append(HostStatus(name=host, ready=False, reason="no container (deploy incomplete)"))
            states.append(HostState.STARTING)
            continue
        status, state, details = _host_status(engine, summary)
        hosts.append(status)
        states.append(state)
        if details:
            endpoints += _endpoints(details, host, engine.config.publish_host)
    failed = [h for h, s in zip(hosts, states, strict=True) if s is HostState.FAILED]
    if failed:
        phase, reason = Phase.FAILED, "; ".join(f"host {h.name}: {h.reason}" for h in failed)
    elif any(s is HostState.TERMINATING for s in states):
        phase, reason = Phase.TERMINATING, "being removed"
    elif hosts and all(h.ready for h in hosts):
        phase, reason = Phase.READY, ""
    else:
        phase = Phase.PENDING
        reason = "; ".join(f"host {h.name}: {h.reason or 'not ready'}" for h in hosts if not h.ready)
    return InstanceStatus(
        instance_id=instance_id, phase=phase, hosts=tuple(hosts), endpoints=tuple(endpoints), reason=reason
    )


def _cheap_phase(containers: Sequence[Mapping[str, Any]], expected: int) -> Phase:
    """A phase from the container list alone (no probes): for listings over many instances."""
    states = [str(c.get("State", "")) for c in containers]
    if any(s in ("exited", "dead") for s in states):
        return Phase.FAILED
    if len(states) >= expected > 0 and all(s == "running" for s in states):
        return Phase.READY
    return Phase.PENDING


def instance_records(engine: Engine) -> list[InstanceRecord]:
    found = holdings(engine, f"{LABEL_MANAGED_BY}={MANAGED_BY}")
    groups: dict[str, list[Mapping[str, str]]] = {}
    for labels in found.labels():
        instance_id = labels.get(LABEL_INSTANCE)
        if instance_id:
            groups.setdefault(instance_id, []).append(labels)
    records = []
    for instance_id, labelled in sorted(groups.items()):
        containers = [
            c for c in found.containers if (c.get("Labels") or {}).get(LABEL_INSTANCE) == instance_id
        ]
        expected = max((len((x.get(naming.LABEL_HOSTS) or "").split(",")) for x in labelled), default=0)
        records.append(
            InstanceRecord(
                instance_id=instance_id,
                exercise=labelled[0].get(LABEL_EXERCISE, ""),
                team=labelled[0].get(LABEL_TEAM, ""),
                phase=_cheap_phase(containers, expected),
            )
        )
    return records


def describe(found: Holdings) -> str:
    """Objects named for an error message."""
    return json.dumps([n.rsplit(":", 1)[0] for n in found.names()])
