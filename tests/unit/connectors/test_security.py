"""The one allowance check: which host asks for what the range does not grant, in every spelling."""

from __future__ import annotations

import pytest

from connectors.base import ConnectorRefusal, InstanceSpec, SecurityAllowance
from connectors.security import check_allowance, disallowed
from scenarios.loader import load_text

DOCUMENT = """
apiVersion: federange/v1
kind: Scenario
metadata: {name: asks, version: 1.0.0, title: Asks for things}
spec:
  segments: [{name: s}]
  hosts:
    - name: quiet
      image: x:1
      segments: [s]
      resources: {requests: {cpu_millicores: 10, memory_mib: 16}}
    - name: loud
      image: x:1
      segments: [s]
      resources: {requests: {cpu_millicores: 10, memory_mib: 16}}
      security: {privileged: true, host_network: true, capabilities: [CAP_NET_ADMIN, sys_ptrace]}
      volumes: [{name: logs, mount_path: /var/log/host, host_path: /var/log}]
"""


def test_every_request_not_granted_is_named_with_its_host() -> None:
    scenario = load_text(DOCUMENT)
    refused = disallowed(scenario, SecurityAllowance())
    assert [(r.host, r.path) for r in refused] == [
        ("loud", "spec.hosts[1].security.privileged"),
        ("loud", "spec.hosts[1].security.host_network"),
        ("loud", "spec.hosts[1].security.capabilities[0]"),
        ("loud", "spec.hosts[1].security.capabilities[1]"),
        ("loud", "spec.hosts[1].volumes[0].host_path"),
    ]
    everything = SecurityAllowance(
        privileged=True,
        host_namespaces=True,
        host_path=True,
        added_capabilities=frozenset({"net_admin", "CAP_SYS_PTRACE"}),  # any spelling grants the capability
    )
    assert disallowed(scenario, everything) == []
    partly = disallowed(scenario, SecurityAllowance(privileged=True, host_namespaces=True, host_path=True))
    assert [r.reason for r in partly] == [
        "adding capability CAP_NET_ADMIN is not allowed on this range",
        "adding capability sys_ptrace is not allowed on this range",
    ]


def test_check_allowance_refuses_naming_every_request() -> None:
    instance = InstanceSpec(instance_id="i-1", exercise="e", team="t", scenario_document=DOCUMENT)
    with pytest.raises(ConnectorRefusal) as refused:
        check_allowance(instance)
    reason = refused.value.reason
    assert reason.startswith("the range's security policy refuses this scenario (asks@1.0.0): ")
    assert "spec.hosts[1].security.privileged (host loud): privileged containers are not allowed" in reason
    assert reason.count("(host loud)") == 5
