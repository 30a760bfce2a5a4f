"""The range chart (helm/federange-range) lints, renders objects the official schemas accept, and grants
exactly the connector's rules (connectors.kubernetes.access) to its ServiceAccount and any extra subjects.
helm is the real binary (tests/support/helm.py)."""

from __future__ import annotations

import kubernetes_validate
import pytest

from connectors.kubernetes import access
from tests.support.helm import NAMESPACE, RANGE_CHART, RELEASE, helm, render

NEWEST = ".".join(kubernetes_validate.latest_version().split(".")[:2])


def test_helm_lint_strict_passes() -> None:
    out = helm("lint", "--strict", str(RANGE_CHART)).stdout
    assert "0 chart(s) failed" in out, out


@pytest.mark.parametrize("version", ["1.27", NEWEST])
def test_every_object_is_valid_for_the_kubernetes_versions_it_accepts(version: str) -> None:
    for obj in render(chart=RANGE_CHART, kube_version=version):
        kubernetes_validate.validate(obj, f"{version}.0", strict=True)


def test_the_cluster_role_grants_exactly_the_connector_rules_to_the_service_account() -> None:
    objects = {o["kind"]: o for o in render(chart=RANGE_CHART)}
    assert sorted(objects) == ["ClusterRole", "ClusterRoleBinding", "ServiceAccount"]
    role, binding, account = objects["ClusterRole"], objects["ClusterRoleBinding"], objects["ServiceAccount"]
    assert role["rules"] == access.policy_rules()
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "ClusterRole",
        "name": role["metadata"]["name"],
    }
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": account["metadata"]["name"], "namespace": NAMESPACE}
    ]
    assert account["metadata"]["name"] == f"{RELEASE}-federange-range"
    assert account["automountServiceAccountToken"] is False


def test_extra_subjects_are_bound_and_the_service_account_can_be_left_out() -> None:
    objects = {
        o["kind"]: o
        for o in render(
            chart=RANGE_CHART,
            settings=[
                "serviceAccount.create=false",
                "extraSubjects[0].kind=Group",
                "extraSubjects[0].name=federange",
                "extraSubjects[0].apiGroup=rbac.authorization.k8s.io",
            ],
        )
    }
    assert sorted(objects) == ["ClusterRole", "ClusterRoleBinding"]
    assert objects["ClusterRoleBinding"]["subjects"] == [
        {"kind": "Group", "name": "federange", "apiGroup": "rbac.authorization.k8s.io"}
    ]
