"""The connector contract and NetworkPolicy isolation on a real Kubernetes cluster.

Runs only when FEDERANGE_E2E_KUBECONFIG names a kubeconfig (see kubernetes_cluster.py for the other
settings and the permissions needed); skips with that reason otherwise. The isolation test probes the
cluster first (exec, cluster DNS, NetworkPolicy enforcement: kubernetes_cluster.probe_features) and
skips naming exactly what is missing; a range whose plugin does not enforce policies cannot isolate
instances (docs/kubernetes.md lists the plugins that do). Reachability is judged by the isolation
probe of tests/support/probe.py (its verdicts are tested on the Docker engine): a probe that gives no
verdict fails the test, never counts as "blocked". No packet is aimed outside the cluster: egress is
checked against a Service in a scratch namespace of the run.

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
from tests.e2e.kubernetes_cluster import (
    ENV_KUBECONFIG,
    ISOLATION,
    ClusterHarness,
    kubeconfig_from_env,
    probe_features,
)
from tests.support import probe
from tests.support.lookup import nslookup_addresses
from tests.support.probe import NOT_REACHED, Outcome, Target

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


def _probe(harness: ClusterHarness, instance: InstanceSpec, host: str, target: Target) -> Outcome:
    """The isolation probe (tests/support/probe.py, tested on Docker) run in the host's container."""
    code, output = harness.exec(instance.instance_id, host, probe.command(target))
    return probe.verdict(output, code, target=f"{target} from {host} of {instance.instance_id}")


def _eventually_reached(harness: ClusterHarness, instance: InstanceSpec, host: str, target: Target) -> None:
    """Allowed traffic must pass; new pods' policies can take a few seconds to be programmed. A probe that
    breaks fails at once (ProbeBroken): it is never retried into a pass."""
    for _ in range(10):
        if _probe(harness, instance, host, target) is Outcome.REACHED:
            return
        time.sleep(3)
    raise AssertionError(f"{host} of {instance.instance_id} cannot reach {target}, which the scenario allows")


def _blocked(harness: ClusterHarness, instance: InstanceSpec, host: str, target: Target) -> None:
    """Blocked means the probe said REFUSED or TIMEOUT (a plugin may reject or drop), twice."""
    for _ in range(2):
        outcome = _probe(harness, instance, host, target)
        assert outcome in NOT_REACHED, (
            f"{host} of {instance.instance_id} got {outcome.value} from {target}, which must be blocked "
            "(does the cluster's network plugin enforce NetworkPolicies?)"
        )


def _resolves(harness: ClusterHarness, instance: InstanceSpec, host: str, name: str, address: str) -> None:
    """The cluster DNS answers `name` with `address` inside the instance (DNS egress is allowed)."""
    for _ in range(10):
        _, output = harness.exec(instance.instance_id, host, ["nslookup", name])
        if address in nslookup_addresses(output):
            return
        time.sleep(3)
    raise AssertionError(f"{host} of {instance.instance_id} does not resolve {name} to {address}: {output!r}")


def test_network_policies_isolate_segments_and_instances(harness: ClusterHarness) -> None:
    scratch = harness.scratch_target()
    lacking = {f: why for f, why in probe_features(harness, scratch).items() if why}
    if lacking:
        pytest.skip("the isolation test needs " + "; ".join(f"{f}: {why}" for f, why in lacking.items()))
    a, b = _instance(harness, "team-a"), _instance(harness, "team-b")
    connector = harness.connector()
    try:
        outside = Target(scratch.address, scratch.port)
        for spec in (a, b):
            connector.deploy(instance=spec)
        for spec in (a, b):
            status = connector.wait_ready(instance_id=spec.instance_id, timeout=harness.ready_timeout)
            assert status.phase is Phase.READY, status.reason
        web_a = Target(harness.address_of(a.instance_id, "web"), 8080)
        web_b = Target(harness.address_of(b.instance_id, "web"), 8080)
        # Names resolve through the cluster DNS (the one egress every pod has).
        _resolves(
            harness,
            a,
            "client",
            f"web.{harness.own.namespace(a.instance_id)}.svc.cluster.local",
            web_a.address,
        )
        # Allowed first: the declared flow and the shared segment.
        _eventually_reached(harness, a, "client", web_a)
        _eventually_reached(harness, a, "peer", web_a)
        _eventually_reached(harness, b, "client", web_b)
        # The scratch target answers where no policy applies, so a block below is the policies' doing.
        for _ in range(10):
            code, output = harness.run(
                scratch.namespace, scratch.witness, scratch.witness, probe.command(outside)
            )
            if probe.verdict(output, code, target=f"{outside} from the scratch witness") is Outcome.REACHED:
                break
            time.sleep(3)
        else:
            raise AssertionError(f"the scratch target {outside} never answered its witness")
        # Then everything the scenario does not allow, inside the instance and across instances.
        _blocked(harness, a, "stranger", web_a)
        _blocked(harness, a, "client", web_b)
        _blocked(harness, b, "peer", web_a)
        # No egress is declared: a Service of the cluster outside the instance is out of reach. (The
        # "no internet egress" rule is checked symbolically by tests/unit/kubernetes/test_isolation.py:
        # a test never sends packets outside the cluster.)
        _blocked(harness, a, "client", outside)
        _blocked(harness, b, "web", outside)
    finally:
        for spec in (a, b):
            connector.teardown(instance_id=spec.instance_id)
    assert harness.leftovers(a.instance_id) == []
    assert harness.leftovers(b.instance_id) == []
