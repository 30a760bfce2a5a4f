"""The connector contract and NetworkPolicy isolation on a real Kubernetes cluster.

Runs only when FEDERANGE_E2E_KUBECONFIG names a kubeconfig (see kubernetes_cluster.py for the other
settings and the permissions needed); skips with that reason otherwise. The cluster's network plugin
must enforce NetworkPolicies (Calico, Cilium, kindnet >= 0.24, k3s' default...), or the isolation test
fails, as it should: an instance there would not be isolated.

Every namespace the run creates is deleted at the end of the module, whatever happened.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest

from connectors.base import InstanceSpec, Phase
from scenarios.loader import load_text
from scenarios.materialise import materialise
from scenarios.serialise import dump_yaml
from tests.contract.test_contract import (  # noqa: F401 - collected here, against the real cluster
    deployed,
    test_a_partial_failure_is_listed_and_torn_down_completely,
    test_deploy_twice_is_deploy_once,
    test_every_object_carries_the_isolation_labels,
    test_readiness_failure_is_bounded_and_explained,
    test_ready_instance_reports_hosts_and_entry_endpoints,
    test_status_of_an_unknown_instance_is_absent,
    test_teardown_twice_is_teardown_once,
)
from tests.e2e.kubernetes_cluster import ENV_KUBECONFIG, ISOLATION, ClusterHarness, kubeconfig_from_env

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def harness() -> Iterator[ClusterHarness]:
    found = kubeconfig_from_env()
    if found is None:
        pytest.skip(f"{ENV_KUBECONFIG} is not set: no real cluster to run the Kubernetes e2e suite against")
    cluster = ClusterHarness(*found)
    probe = cluster.own.probe()
    if not probe.healthy:
        pytest.fail(f"the e2e cluster is not usable: {probe.reason}")
    try:
        yield cluster
    finally:
        left = cluster.sweep()
        cluster.own.close()
        assert not left, f"namespaces still terminating after the e2e run: {left}"


def _instance(harness: ClusterHarness, team: str) -> InstanceSpec:
    scenario = load_text(ISOLATION.format(image=harness.image), source="e2e isolation scenario")
    instance_id = f"iso-{uuid.uuid4().hex[:8]}"
    return InstanceSpec(
        instance_id=instance_id,
        exercise="e2e-isolation",
        team=team,
        scenario_document=dump_yaml(scenario),
        values=materialise(scenario, seed=b"e2e", instance_id=instance_id),
    )


def _fetch(harness: ClusterHarness, instance: InstanceSpec, host: str, url: str) -> int:
    return harness.exec(instance.instance_id, host, ["wget", "-q", "-T", "3", "-O", "-", url])


def _eventually_reachable(harness: ClusterHarness, instance: InstanceSpec, host: str, url: str) -> None:
    """Allowed traffic must pass; new pods' policies can take a few seconds to be programmed."""
    for _ in range(10):
        if _fetch(harness, instance, host, url) == 0:
            return
        time.sleep(3)
    raise AssertionError(f"{host} of {instance.instance_id} cannot reach {url}, which the scenario allows")


def _blocked(harness: ClusterHarness, instance: InstanceSpec, host: str, url: str) -> None:
    for _ in range(2):
        assert _fetch(harness, instance, host, url) != 0, (
            f"{host} of {instance.instance_id} reached {url}, which must be blocked "
            "(does the cluster's network plugin enforce NetworkPolicies?)"
        )


def test_network_policies_isolate_segments_and_instances(harness: ClusterHarness) -> None:
    a, b = _instance(harness, "team-a"), _instance(harness, "team-b")
    connector = harness.connector()
    try:
        for spec in (a, b):
            connector.deploy(instance=spec)
        for spec in (a, b):
            status = connector.wait_ready(instance_id=spec.instance_id, timeout=harness.ready_timeout)
            assert status.phase is Phase.READY, status.reason
        web_a = "http://web:8080/"
        web_b = f"http://web.{harness.own.namespace(b.instance_id)}.svc.cluster.local:8080/"
        # Allowed first (this also proves DNS works): the declared flow and the shared segment.
        _eventually_reachable(harness, a, "client", web_a)
        _eventually_reachable(harness, a, "peer", web_a)
        _eventually_reachable(harness, b, "client", "http://web:8080/")
        # Then everything the scenario does not allow, inside the instance and across instances.
        _blocked(harness, a, "stranger", web_a)
        _blocked(harness, a, "client", web_b)
        _blocked(
            harness, b, "peer", f"http://web.{harness.own.namespace(a.instance_id)}.svc.cluster.local:8080/"
        )
        _blocked(harness, a, "client", "http://1.1.1.1/")  # no egress declared
    finally:
        for spec in (a, b):
            connector.teardown(instance_id=spec.instance_id)
    assert harness.leftovers(a.instance_id) == []
    assert harness.leftovers(b.instance_id) == []
