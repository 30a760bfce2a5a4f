"""The connector under exactly the RBAC rules the range chart ships (helm/federange-range), on the API
double: every operation works, every granted permission is used by one (nothing more is granted than
needed), the permissions docs/kubernetes.md used to list are refused at the first apply (finding 2 of
issue 12), and `check_access` names each missing verb from the cluster's own SelfSubjectAccessReview."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from connectors.base import ConnectorError, Phase
from connectors.fanout import deploy_many, teardown_many
from connectors.kubernetes import access
from connectors.kubernetes.connector import KubernetesConnector
from scenarios.loader import from_data
from scenarios.serialise import to_data
from tests.contract.harness import contract_scenario
from tests.support.kube_api import KubeApiServer
from tests.support.kube_api.rbac import Rule, rules_of, shipped_rules
from tests.unit.kubernetes.scenarios import instance

FAST = {"qps": 0, "watch_window": 1, "retry_attempts": 2, "retry_initial": 0.01, "teardown_timeout": 10}
IMAGE = "registry.example/tools:1"
#: What docs/kubernetes.md granted before issue 12: no `create` on anything applied, no `patch` on
#: namespaces.
DOCUMENTED_BEFORE = [
    {"apiGroups": [""], "resources": ["namespaces"], "verbs": ["create", "get", "list", "delete"]},
    {
        "apiGroups": ["", "apps", "networking.k8s.io"],
        "resources": [
            "resourcequotas", "limitranges", "networkpolicies", "configmaps", "secrets", "services",
            "deployments",
        ],
        "verbs": ["get", "list", "patch", "delete"],
    },
    {"apiGroups": [""], "resources": ["pods", "events"], "verbs": ["list", "watch"]},
    {"apiGroups": [""], "resources": ["nodes"], "verbs": ["list"]},
]  # fmt: skip


@pytest.fixture(scope="module")
def api() -> Iterator[KubeApiServer]:
    with KubeApiServer() as server:
        yield server


def _connector(api: KubeApiServer, token: str, rules: list[Rule]) -> KubernetesConnector:
    return KubernetesConnector(api.connector_config(token=api.grant(token, rules), **FAST))


def test_every_operation_works_under_the_shipped_rules_and_uses_every_one_of_them(api: KubeApiServer) -> None:
    api.exec_handler = lambda namespace, pod, container, argv: (0, b"ok\n", b"")
    data = to_data(contract_scenario(image=IMAGE))
    data["spec"]["hosts"][0]["files"] = [{"path": "/etc/motd", "content": "welcome\n"}]
    scenario = from_data(data)
    try:
        with _connector(api, "least", shipped_rules()) as connector:
            assert connector.probe().healthy
            assert connector.check_access() == []
            # lp-2 never turns Ready, so waiting for it watches its pods whatever the machine's speed (lp-0
            # may already be Ready at the first read, and then nothing is watched).
            never_ready = contract_scenario(image=IMAGE.replace(":1", ":unready"))
            outcomes = deploy_many(
                connector,
                [instance(scenario, instance_id=f"lp-{n}", team=f"t{n}") for n in range(2)]
                + [instance(never_ready, instance_id="lp-2", team="t2")],
            )
            assert all(o.ok for o in outcomes), [o.error for o in outcomes]
            assert connector.wait_ready(instance_id="lp-0", timeout=20).phase is Phase.READY
            assert connector.wait_ready(instance_id="lp-2", timeout=1.5).phase is not Phase.READY
            assert connector.run(instance_id="lp-0", host="target", argv=["true"], timeout=10).ok
            assert connector.provisioning_target(instance_id="lp-0").inventory
            # A redeploy without the target host, a segment and a file prunes them (list + delete).
            data = to_data(scenario)
            data["spec"]["hosts"] = data["spec"]["hosts"][:1]
            data["spec"]["hosts"][0]["files"] = []
            data["spec"]["segments"] = data["spec"]["segments"][:1]
            connector.deploy(instance=instance(from_data(data), instance_id="lp-0", team="t0"))
            # A failed apply is recorded on the namespace (a merge patch of it).
            api.faults.add(
                method="PATCH", path="/namespaces/fr-lp-1/deployments/target$", status=500, times=2
            )
            with pytest.raises(ConnectorError):
                connector.deploy(instance=instance(scenario, instance_id="lp-1", team="t1"))
            assert {r.instance_id for r in connector.list_instances()} == {"lp-0", "lp-1", "lp-2"}
            gone = teardown_many(connector, ["lp-0", "lp-1", "lp-2"])
            assert all(o.ok for o in gone), [o.error for o in gone]
    finally:
        api.exec_handler = None
        api.faults.clear()
    assert api.api.authorizer.refused("least") == []
    granted = {(p.group, p.resource, p.verb) for p in access.permissions_of(access.policy_rules())}
    # Ansible's kubectl connection reads the pod before exec; the connector itself does not.
    assert api.api.authorizer.used("least") == granted - {("", "pods", "get")}


def test_the_permissions_documented_before_fail_at_the_first_apply(api: KubeApiServer) -> None:
    """Finding 2 of issue 12: server-side apply of an absent object needs `create` too."""
    with _connector(api, "documented-before", rules_of(DOCUMENTED_BEFORE)) as connector:
        with pytest.raises(ConnectorError) as failed:
            connector.deploy(instance=instance(contract_scenario(image=IMAGE), instance_id="old-docs"))
        assert '403 namespaces "fr-old-docs" is forbidden' in failed.value.reason
        assert 'cannot patch resource "namespaces"' in failed.value.reason
        assert sorted(connector.check_access()) == sorted(
            [
                "patch namespaces",
                "watch namespaces",
                *(
                    f"create {r}"
                    for r in ("configmaps", "limitranges", "resourcequotas", "secrets", "services")
                ),
                "create deployments (API group apps)",
                "create networkpolicies (API group networking.k8s.io)",
                "create pods/exec",
                "get pods",
            ]
        )


def test_check_access_lists_each_missing_verb(api: KubeApiServer) -> None:
    rules = [r for r in shipped_rules() if "namespaces" not in r.resources]
    with _connector(api, "no-namespaces", rules) as connector:
        assert connector.check_access() == [
            f"{verb} namespaces" for verb in ("create", "delete", "get", "list", "patch", "watch")
        ]
    with _connector(api, "nothing", []) as connector:
        assert len(connector.check_access()) == len(access.required())


def test_bulk_teardown_deletes_every_namespace_first_then_waits_in_one_watch(api: KubeApiServer) -> None:
    """Issue 12, finding 4: the connector used to delete and then poll per instance."""
    ids = [f"bulk-{n}" for n in range(6)]
    scenario = contract_scenario(image=IMAGE)
    with _connector(api, "bulk", shipped_rules()) as connector:
        assert all(o.ok for o in deploy_many(connector, [instance(scenario, instance_id=i) for i in ids]))
        before = len(api.requests())
        gone = teardown_many(connector, ids)
        assert all(o.ok for o in gone), [o.error for o in gone]
        assert {r.instance_id for r in connector.list_instances()} & set(ids) == set()
    log = api.requests()[before:]
    deletes = [n for n, r in enumerate(log) if r.method == "DELETE" and "/namespaces/fr-bulk-" in r.path]
    watches = [
        n for n, r in enumerate(log) if r.path == "/api/v1/namespaces" and r.query.get("watch") == ["true"]
    ]
    assert len(deletes) == len(ids)
    assert watches and max(deletes) < min(watches)
    assert len(watches) <= 2  # one, and a second only if the first window ran out
