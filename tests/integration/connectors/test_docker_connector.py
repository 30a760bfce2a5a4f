"""The Docker connector beyond the contract, on the real engine: capacity, refusals, limits and
hardening as the engine applied them, and convergence when an instance's scenario changes."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterator
from typing import Any

import docker
import pytest

from connectors.base import ConnectorRefusal, InstanceSpec, Phase, SecurityAllowance
from connectors.docker import naming
from connectors.docker.connector import DockerConnector
from scenarios.footprint import footprint
from scenarios.loader import load_text
from scenarios.materialise import materialise
from scenarios.model import Scenario
from scenarios.serialise import dump_yaml
from tests.contract.harness import contract_scenario
from tests.integration.connectors.dockerenv import remains

pytestmark = [pytest.mark.docker]


def _instance(scenario: Scenario, *, allowance: SecurityAllowance | None = None) -> InstanceSpec:
    instance_id = f"dc-{uuid.uuid4().hex[:8]}"
    return InstanceSpec(
        instance_id=instance_id,
        exercise="connector",
        team="team-d",
        scenario_document=dump_yaml(scenario),
        values=materialise(scenario, seed=b"connector", instance_id=instance_id),
        allowance=allowance or SecurityAllowance(),
    )


@pytest.fixture
def connector(range_config: dict[str, Any]) -> Iterator[DockerConnector]:
    with DockerConnector(range_config) as running:
        yield running


def test_probe_reports_the_engine_and_subtracts_what_instances_reserve(
    connector: DockerConnector, docker_engine: docker.APIClient
) -> None:
    before = connector.probe()
    assert before.healthy and before.version.startswith("docker-engine/")
    assert before.observed_total.cpu_millicores >= 1000 and before.observed_total.memory_mib > 0
    scenario = contract_scenario(image="busybox:1.36")
    instance = _instance(scenario)
    try:
        connector.deploy(instance=instance)
        after = connector.probe()
        need = footprint(scenario)
        assert before.observed_free.cpu_millicores - after.observed_free.cpu_millicores == need.cpu_millicores
        assert before.observed_free.memory_mib - after.observed_free.memory_mib == need.memory_mib
        assert before.observed_free.slots - after.observed_free.slots == 1
    finally:
        connector.teardown(instance_id=instance.instance_id)
    assert remains(docker_engine, [instance.instance_id]) == []


DANGEROUS = """
apiVersion: federange/v1
kind: Scenario
metadata: {name: dangerous, version: 1.0.0, title: Dangerous}
spec:
  segments: [{name: red}]
  hosts:
    - name: box
      image: busybox:1.36
      segments: [red]
      resources: {requests: {cpu_millicores: 10, memory_mib: 8}}
      security: {privileged: true, capabilities: [NET_ADMIN]}
      volumes: [{name: root, mount_path: /host, host_path: /}]
"""


def test_dangerous_requests_are_refused_before_anything_exists(
    connector: DockerConnector, docker_engine: docker.APIClient
) -> None:
    instance = _instance(load_text(DANGEROUS))
    with pytest.raises(ConnectorRefusal) as refusal:
        connector.deploy(instance=instance)
    reason = refusal.value.reason
    assert "spec.hosts[0].security.privileged" in reason
    assert "spec.hosts[0].security.capabilities[0]" in reason
    assert "spec.hosts[0].volumes[0].host_path" in reason
    assert remains(docker_engine, [instance.instance_id]) == []


NON_ROOT = """
apiVersion: federange/v1
kind: Scenario
metadata: {name: nonroot, version: 1.0.0, title: Non-root}
spec:
  segments: [{name: red}]
  hosts:
    - name: box
      image: busybox:1.36
      command: [sleep, "3600"]
      segments: [red]
      resources: {requests: {cpu_millicores: 10, memory_mib: 8}}
      security: {run_as_root: false}
"""


def test_a_non_root_host_runs_as_its_numeric_user_whatever_the_image_says(
    connector: DockerConnector, docker_engine: docker.APIClient
) -> None:
    """One security model with Kubernetes (connectors.security.rights): busybox's image user is root,
    yet a run_as_root: false host runs as 1000:1000, with every capability dropped and no new
    privileges (it used to be refused here and run as root-capable on Kubernetes)."""
    instance = _instance(load_text(NON_ROOT))
    try:
        connector.deploy(instance=instance)
        details = docker_engine.inspect_container(naming.container_name(instance.instance_id, "box"))
        assert details["Config"]["User"] == "1000:1000"
        assert details["HostConfig"]["CapDrop"] == ["ALL"]
        assert "no-new-privileges:true" in (details["HostConfig"]["SecurityOpt"] or [])
        assert connector.wait_ready(instance_id=instance.instance_id, timeout=60).phase is Phase.READY
        said = connector.run(instance_id=instance.instance_id, host="box", argv=["id", "-u"], timeout=20)
        assert said.ok and said.stdout.strip() == "1000"
    finally:
        connector.teardown(instance_id=instance.instance_id)
    assert remains(docker_engine, [instance.instance_id]) == []


def test_limits_and_hardening_reach_the_engine_and_a_changed_plan_replaces_the_container(
    connector: DockerConnector, docker_engine: docker.APIClient
) -> None:
    instance = _instance(contract_scenario(image="busybox:1.36"))
    try:
        connector.deploy(instance=instance)
        name = naming.container_name(instance.instance_id, "target")
        details = docker_engine.inspect_container(name)
        host = details["HostConfig"]
        assert host["NanoCpus"] == 50_000_000 and host["Memory"] == 32 * 1024 * 1024
        assert host["Init"] is True and host["PidsLimit"] == 1024
        assert {"MKNOD", "AUDIT_WRITE", "SETFCAP"} <= set(host["CapDrop"])
        assert not host["PortBindings"], "only entry hosts publish ports"
        assert f"FLAG={instance.values['flag']}" in details["Config"]["Env"]
        first_id = details["Id"]

        changed = contract_scenario(image="busybox:1.36", command=("sleep", "7200"))
        connector.deploy(instance=dataclasses.replace(instance, scenario_document=dump_yaml(changed)))
        replaced = docker_engine.inspect_container(name)
        assert replaced["Id"] != first_id and replaced["Config"]["Entrypoint"] == ["sleep", "7200"]
        attacker = docker_engine.inspect_container(naming.container_name(instance.instance_id, "attacker"))
        assert attacker["Config"]["Entrypoint"] == ["sleep", "7200"]
        assert connector.wait_ready(instance_id=instance.instance_id, timeout=30).phase is Phase.READY
    finally:
        connector.teardown(instance_id=instance.instance_id)
    assert remains(docker_engine, [instance.instance_id]) == []
