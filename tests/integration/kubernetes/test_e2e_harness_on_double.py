"""The e2e suite's cluster harness (tests/e2e/kubernetes_cluster.py) and the contract it runs, against the
API double instead of a real cluster: the double answers as a real API server does (list items without
`kind`, `kube-root-ca.crt` and `default` in every new namespace), so the harness's own bugs show here,
on every CI run, and not only on the day someone points the suite at a cluster."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from connectors.base import InstanceSpec
from tests.contract.test_contract import (  # noqa: F401 - collected here, against the e2e harness
    deployed,
    test_a_partial_failure_is_listed_and_torn_down_completely,
    test_deploy_twice_is_deploy_once,
    test_every_object_carries_the_isolation_labels,
    test_readiness_failure_is_bounded_and_explained,
    test_ready_instance_reports_hosts_and_entry_endpoints,
    test_status_of_an_unknown_instance_is_absent,
    test_teardown_twice_is_teardown_once,
)
from tests.e2e.kubernetes_cluster import ClusterHarness
from tests.support.kube_api import KubeApiServer


@pytest.fixture(scope="module")
def double() -> Iterator[KubeApiServer]:
    with KubeApiServer() as server:
        yield server


@pytest.fixture(scope="module")
def harness(double: KubeApiServer) -> Iterator[ClusterHarness]:
    cluster = ClusterHarness(double.kubeconfig(), "")
    cluster.ready_timeout = 20
    try:
        yield cluster
    finally:
        left = cluster.sweep()
        cluster.own.close()
        assert not left


def test_leftovers_and_labels_leave_out_what_kubernetes_made(
    harness: ClusterHarness,
    double: KubeApiServer,
    deployed: InstanceSpec,  # noqa: F811 - the contract suite's fixture
) -> None:
    instance_id = deployed.instance_id
    namespace = harness.own.namespace(instance_id)
    try:
        # Kubernetes' own objects are there, as on a real cluster...
        names = {
            (o["kind"], o["metadata"]["name"])
            for o in double.store.snapshot()
            if o["metadata"].get("namespace") == namespace
        }
        assert {("ConfigMap", "kube-root-ca.crt"), ("ServiceAccount", "default")} <= names
        # ...and the harness counts only the instance's.
        left = harness.leftovers(instance_id)
        assert "ConfigMap/kube-root-ca.crt" not in left
        assert f"Namespace/{namespace}" in left and "Deployment/target" in left
    finally:
        harness.connector().teardown(instance_id=instance_id)
    assert harness.leftovers(instance_id) == []
