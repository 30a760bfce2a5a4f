"""Post-deploy provisioning with real ansible-runner runs on this machine (the fake range's inventory:
every scenario host is run locally)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from connectors.ansible.provisioner import provision
from connectors.base import ProvisioningTarget
from scenarios.loader import load_text
from scenarios.materialise import materialise
from scenarios.model import Scenario

pytestmark = [pytest.mark.ansible]

PLAYBOOKS = Path(__file__).parent / "playbooks"


def _scenario(playbook: str, hosts: str = "[attacker, target]") -> Scenario:
    return load_text(
        f"""
apiVersion: federange/v1
kind: Scenario
metadata: {{name: provisioned, version: 1.0.0, title: Provisioned}}
spec:
  variables: [{{name: flag, kind: flag}}]
  segments: [{{name: red}}]
  hosts:
    - name: attacker
      image: busybox:1.36
      segments: [red]
      resources: {{requests: {{cpu_millicores: 10, memory_mib: 8}}}}
    - name: target
      image: busybox:1.36
      segments: [red]
      resources: {{requests: {{cpu_millicores: 10, memory_mib: 8}}}}
  provisioning:
    - name: the step
      playbook: {playbook}
      hosts: {hosts}
      vars: {{greeting: "hello {{{{ vars.flag }}}}", out_dir: OUT}}
"""
    )


def _target(scenario: Scenario, instance_id: str) -> ProvisioningTarget:
    """Every scenario host of the instance is this machine, reached with Ansible's local connection."""
    hosts = {
        host.name: {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}
        for host in scenario.spec.hosts
    }
    return ProvisioningTarget(
        inventory={"all": {"hosts": hosts, "vars": {"federange_instance": instance_id}}}
    )


def test_a_playbook_runs_per_host_with_filled_vars_and_streams_redacted_events(tmp_path: Path) -> None:
    scenario = _scenario("local-ok.yml")
    scenario = scenario.model_copy(
        update={
            "spec": scenario.spec.model_copy(
                update={
                    "provisioning": [
                        p.model_copy(update={"vars": {**p.vars, "out_dir": str(tmp_path)}})
                        for p in scenario.spec.provisioning
                    ]
                }
            )
        }
    )
    values = materialise(scenario, seed=b"prov", instance_id="prov-ok")
    lines: list[str] = []
    result = provision(
        scenario,
        scenario_dir=PLAYBOOKS,
        target=_target(scenario, "prov-ok"),
        values=values,
        on_event=lines.append,
    )
    assert result.ok, result.reason
    flag = values["flag"]
    for host in ("attacker", "target"):
        assert (tmp_path / f"{host}.txt").read_text() == f"hello {flag} {flag}\n"
        assert f"changed: [{host}] Write the marker" in lines
    assert lines[0].startswith("PLAYBOOK [the step] local-ok.yml")
    assert not any(flag in line for line in lines)


def test_a_failure_names_the_playbook_task_host_and_message() -> None:
    scenario = _scenario("local-fails.yml")
    values = materialise(scenario, seed=b"prov", instance_id="prov-ko")
    lines: list[str] = []
    result = provision(
        scenario,
        scenario_dir=PLAYBOOKS,
        target=_target(scenario, "prov-ko"),
        values=values,
        on_event=lines.append,
    )
    assert not result.ok
    assert (result.failed_playbook, result.failed_task, result.failed_host) == (
        "the step",
        "Break the target",
        "target",
    )
    assert "no disk left for ***" in result.message
    assert result.reason.startswith(
        "provisioning failed at playbook 'the step', task 'Break the target' on host 'target'"
    )
    assert any(line.startswith("failed: [target] Break the target") for line in lines)
    assert values["flag"] not in result.reason


@pytest.mark.parametrize(
    ("playbook", "hosts", "expected"),
    [
        ("absent.yml", "[attacker]", "absent.yml does not exist"),
        ("../outside.yml", "[attacker]", "outside the scenario folder"),
    ],
)
def test_unusable_playbooks_fail_without_running(playbook: str, hosts: str, expected: str) -> None:
    scenario = _scenario(playbook, hosts)
    result = provision(
        scenario,
        scenario_dir=PLAYBOOKS,
        target=ProvisioningTarget(inventory={"all": {"hosts": {"attacker": {}}}}),
        values=materialise(scenario, seed=b"prov", instance_id="prov-x"),
        on_event=lambda line: None,
    )
    assert not result.ok and expected in result.reason and result.runs == ()


def test_hosts_missing_from_the_inventory_are_named() -> None:
    scenario = _scenario("local-ok.yml")
    result = provision(
        scenario,
        scenario_dir=PLAYBOOKS,
        target=ProvisioningTarget(inventory={"all": {"hosts": {"attacker": {}}}}),
        values=materialise(scenario, seed=b"prov", instance_id="prov-y"),
        on_event=lambda line: None,
    )
    assert "target are not in the instance's inventory" in result.reason
