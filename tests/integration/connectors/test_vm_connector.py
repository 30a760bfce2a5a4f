"""The Ansible VM-range connector beyond the contract: config errors, verbatim instance data, failing
tasks named, the range's own inventory for provisioning (real runs of the vm_range playbooks)."""

from __future__ import annotations

import uuid
from pathlib import Path

import docker
import pytest

from connectors.ansible.vm import AnsibleVmConnector
from connectors.base import ConnectorError, InstanceSpec, Phase
from scenarios.loader import load_text
from scenarios.materialise import materialise
from scenarios.serialise import dump_yaml
from tests.contract.harness_ansible import PLAYBOOKS, vm_range_config


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ({}, "playbook_dir: Field required"),
        ({"playbook_dir": ""}, "playbook_dir: required: the folder holding deploy.yml"),
        ({"playbook_dir": "/nonexistent"}, "playbook_dir: /nonexistent lacks deploy.yml, status.yml"),
        ({"playbook_dir": str(PLAYBOOKS), "timeout": "soon"}, "timeout: Input should be a valid number"),
        (
            {"playbook_dir": str(PLAYBOOKS), "inventory": ["localhost"]},
            "inventory: Input should be a valid dict",
        ),
        (
            {"playbook_dir": str(PLAYBOOKS), "inventory": {"all": {"hosts": {"web": {"ansible_port": 0}}}}},
            "inventory.all.hosts.web.ansible_port: Input should be greater than or equal to 1",
        ),
        ({"playbook_dir": str(PLAYBOOKS), "hypervisor": "x"}, "hypervisor: unknown key (known: extra_vars"),
    ],
)
def test_bad_config_is_named(config: dict[str, object], expected: str) -> None:
    with pytest.raises(ConnectorError) as failure:
        AnsibleVmConnector(config)
    assert expected in failure.value.reason


SCENARIO = """
apiVersion: federange/v1
kind: Scenario
metadata: {name: verbatim, version: 1.0.0, title: Verbatim}
spec:
  variables: [{name: flag, kind: flag}]
  segments: [{name: red}]
  hosts:
    - name: box
      image: busybox:1.36
      command: [sh, -c, "echo '{{ not_for_ansible }}' > /tmp/raw; sleep 3600"]
      env: {FLAG: "{{ vars.flag }}"}
      entry: true
      ports: [{port: 8080}]
      segments: [red]
      resources: {requests: {cpu_millicores: 10, memory_mib: 8}}
    - name: other
      image: busybox:1.36
      command: [sleep, "3600"]
      segments: [red]
      resources: {requests: {cpu_millicores: 10, memory_mib: 8}}
"""


@pytest.mark.docker
@pytest.mark.ansible
def test_instance_data_arrives_verbatim_and_failures_name_task_and_host(
    busybox_image: str, docker_engine: docker.APIClient, tmp_path: Path
) -> None:
    scenario = load_text(SCENARIO)
    config = vm_range_config(busybox_image, range_name=f"vm-{uuid.uuid4().hex[:6]}", state_dir=tmp_path)
    connector = AnsibleVmConnector(config)
    instance_id = f"vm-{uuid.uuid4().hex[:8]}"
    instance = InstanceSpec(
        instance_id=instance_id,
        exercise="vm",
        team="team-v",
        scenario_document=dump_yaml(scenario),
        values=materialise(scenario, seed=b"vm", instance_id=instance_id),
    )
    (tmp_path / f"fail-{instance_id}").write_text("once\n")
    try:
        with pytest.raises(ConnectorError) as failure:
            connector.deploy(instance=instance)
        reason = failure.value.reason
        assert "task 'Fail part-way' failed on host 'localhost'" in reason, reason
        assert "hypervisor refused the second machine" in reason

        status = connector.deploy(instance=instance)
        assert status.phase in (Phase.READY, Phase.PENDING), status.reason
        details = docker_engine.inspect_container(f"vm-{instance_id}.box")
        assert f"FLAG={instance.values['flag']}" in details["Config"]["Env"]
        assert "echo '{{ not_for_ansible }}' > /tmp/raw; sleep 3600" in details["Config"]["Entrypoint"]

        target = connector.provisioning_target(instance_id=instance_id)
        hosts = target.inventory["all"]["hosts"]
        assert hosts["box"]["ansible_host"] == f"vm-{instance_id}.box"
        assert hosts["box"]["ansible_connection"] == "community.docker.docker_api"
    finally:
        connector.teardown(instance_id=instance_id)
    with pytest.raises(ConnectorError, match="not deployed"):
        connector.provisioning_target(instance_id=instance_id)
