"""One security model for both container connectors (issue 12, finding 6): every host of every library
scenario gets the same effective rights rendered for Docker (the container plan) and for Kubernetes (the
Deployment's security contexts) - user and group, effective capability set, privilege escalation,
privileged mode, and the stop grace period - and those rights are what connectors.security.rights says."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from connectors.base import ConnectorRefusal, InstanceSpec, SecurityAllowance
from connectors.docker.config import DockerConfig
from connectors.docker.containers import plan_container
from connectors.docker.topology import plan_networks
from connectors.kubernetes.render import render_instance
from connectors.security import RUNTIME_DEFAULT_CAPABILITIES, disallowed, rights
from scenarios.bundle import load_bundle
from scenarios.errors import ScenarioError
from scenarios.images import DEFAULT_BASE, pinned
from scenarios.loader import load_text
from scenarios.serialise import dump_yaml
from tests.unit.kubernetes.scenarios import allowance_for, instance

LIBRARY = Path(__file__).resolve().parents[3] / "scenarios" / "library"
DOCUMENTS = sorted(LIBRARY.glob("*/scenario.yaml"))
Effective = tuple[str, frozenset[str], bool, bool, int]


def _capabilities(dropped: list[str], added: list[str]) -> frozenset[str]:
    kept = frozenset() if "ALL" in dropped else RUNTIME_DEFAULT_CAPABILITIES - set(dropped)
    return frozenset(kept | set(added))


def on_docker(plan: Any) -> Effective:
    user = plan.user or "image"
    caps = frozenset({"ALL"}) if plan.privileged else _capabilities(plan.cap_drop, plan.cap_add)
    return user, caps, not plan.no_new_privileges, plan.privileged, plan.stop_timeout


def on_kubernetes(deployment: dict[str, Any]) -> Effective:
    pod = deployment["spec"]["template"]["spec"]
    context = pod["containers"][0]["securityContext"]
    pod_context = pod["securityContext"]
    user = (
        f"{pod_context['runAsUser']}:{pod_context['runAsGroup']}" if "runAsUser" in pod_context else "image"
    )
    privileged = bool(context.get("privileged"))
    capabilities = context.get("capabilities") or {}
    caps = (
        frozenset({"ALL"})
        if privileged
        else _capabilities(capabilities.get("drop") or [], capabilities.get("add") or [])
    )
    escalation = privileged or bool(context.get("allowPrivilegeEscalation"))
    return user, caps, escalation, privileged, pod["terminationGracePeriodSeconds"]


@pytest.mark.parametrize("document", DOCUMENTS, ids=[d.parent.name for d in DOCUMENTS])
def test_every_library_host_gets_the_same_rights_on_docker_and_kubernetes(document: Path) -> None:
    scenario = pinned(load_bundle(document), base=DEFAULT_BASE)
    spec = instance(scenario, allowance=allowance_for(scenario))
    deployments = {
        o["metadata"]["name"]: o
        for o in render_instance(spec, registry="registry.example:5000")
        if o["kind"] == "Deployment"
    }
    networks = plan_networks(spec.instance_id, scenario)
    for host in scenario.spec.hosts:
        plan = plan_container(spec, host, config=DockerConfig(), networks=networks)
        docker, kubernetes = on_docker(plan), on_kubernetes(deployments[host.name])
        assert docker == kubernetes, host.name
        granted = rights(host)
        assert docker[0] == ("image" if granted.user is None else f"{granted.user}:{granted.group}")
        if host.security.run_as_root and not host.security.privileged:
            # What a root process needs to su, chown, apt-get, gosu: the runtime's defaults.
            assert {"CHOWN", "DAC_OVERRIDE", "FOWNER", "SETUID", "SETGID"} <= docker[1], host.name
        elif not host.security.run_as_root:
            assert granted.user is not None and granted.user > 0
            assert docker[1] <= {"NET_BIND_SERVICE"} and not docker[2], host.name


def test_privilege_escalation_is_admitted_by_the_allowance_and_grace_is_per_host() -> None:
    text = """
apiVersion: federange/v1
kind: Scenario
metadata: {name: escalate, version: 1.0.0, title: Escalation}
spec:
  segments: [{name: s}]
  hosts:
    - name: box
      image: x:1
      segments: [s]
      termination_grace_seconds: 15
      resources: {requests: {cpu_millicores: 10, memory_mib: 16}}
      security: {run_as_root: false, run_as_user: 4242, allow_privilege_escalation: true}
"""
    scenario = load_text(text)
    refused = disallowed(scenario, SecurityAllowance(privilege_escalation=False))
    assert [r.path for r in refused] == ["spec.hosts[0].security.allow_privilege_escalation"]
    assert disallowed(scenario, SecurityAllowance()) == []
    spec = InstanceSpec(instance_id="i-1", exercise="e", team="t", scenario_document=dump_yaml(scenario))
    deployment = next(o for o in render_instance(spec) if o["kind"] == "Deployment")
    assert on_kubernetes(deployment) == ("4242:4242", frozenset(), True, False, 15)
    plan = plan_container(
        spec, scenario.host("box"), config=DockerConfig(), networks=plan_networks("i-1", scenario)
    )
    assert on_docker(plan) == on_kubernetes(deployment)
    # Escalation on a non-root host is what Pod Security `restricted` refuses: the namespace is baseline.
    assert (
        next(o for o in render_instance(spec))["metadata"]["labels"]["pod-security.kubernetes.io/enforce"]
        == "baseline"
    )
    with pytest.raises(ConnectorRefusal, match="allows privilege escalation"):
        render_instance(spec, pod_security="restricted")
    with pytest.raises(ScenarioError, match="run_as_user"):
        load_text(text.replace("run_as_root: false", "run_as_root: true"))
