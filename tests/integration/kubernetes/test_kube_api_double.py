"""The API double answers the official client the way a real API server would, for what Federange uses.

These tests drive it with the `kubernetes` client's typed APIs (not the connector), so a mistake in the
double cannot hide behind a matching mistake in the connector.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client, watch
from kubernetes.client.exceptions import ApiException

from tests.support.federation import wait_for
from tests.support.kube_api import KubeApiServer


@pytest.fixture(scope="module")
def api() -> Iterator[KubeApiServer]:
    with KubeApiServer() as server:
        yield server


@pytest.fixture
def core(api: KubeApiServer) -> Iterator[client.CoreV1Api]:
    cfg = client.Configuration()
    cfg.host = api.url
    cfg.api_key = {"BearerToken": f"Bearer {api.token}"}
    with client.ApiClient(cfg) as api_client:
        yield client.CoreV1Api(api_client)


def apply(core: client.CoreV1Api, body: dict[str, Any], *, manager: str, force: bool = True) -> Any:
    return core.api_client.call_api(
        *core.api_client.param_serialize(
            method="PATCH",
            resource_path=f"/api/v1/namespaces/{body['metadata']['namespace']}/configmaps/{body['metadata']['name']}",
            query_params=[("fieldManager", manager), ("force", str(force).lower())],
            header_params={"Content-Type": "application/apply-patch+yaml", "Accept": "application/json"},
            body=body,
            auth_settings=["BearerToken"],
        )
    )


def namespace(core: client.CoreV1Api, name: str) -> None:
    """A new namespace, once the control plane has put its own ConfigMap there: that happens a moment
    after the create (as on a real cluster), and a list or a watch taken before would race with it."""
    core.create_namespace({"metadata": {"name": name}})
    wait_for(
        lambda: core.list_namespaced_config_map(name, field_selector="metadata.name=kube-root-ca.crt").items,
        timeout=10,
        pause=0.01,
        what=f"kube-root-ca.crt in namespace {name}",
    )


def test_server_side_apply_creates_removes_dropped_fields_and_keeps_other_managers_fields(
    core: client.CoreV1Api,
) -> None:
    namespace(core, "ssa")
    config = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "c", "namespace": "ssa", "labels": {"a": "1", "b": "2"}},
        "data": {"k": "v"},
    }
    created = apply(core, config, manager="federange")
    assert created.status == 201
    core.patch_namespaced_config_map("c", "ssa", {"metadata": {"labels": {"owner": "ops"}}})
    config["metadata"]["labels"] = {"a": "1"}
    apply(core, config, manager="federange")
    stored = core.read_namespaced_config_map("c", "ssa")
    assert stored.metadata.labels == {"a": "1", "owner": "ops"}  # b dropped by its manager, owner kept
    conflicting = {**config, "data": {"k": "other"}}
    answer = apply(core, conflicting, manager="intruder", force=False)
    assert answer.status == 409
    assert "conflicts" in json.loads(answer.read())["message"]


def test_lists_filter_by_label_and_field_selectors(core: client.CoreV1Api) -> None:
    namespace(core, "sel")
    for name, labels in (("x", {"tier": "web", "team": "a"}), ("y", {"tier": "db"}), ("z", {})):
        core.create_namespaced_config_map("sel", {"metadata": {"name": name, "labels": labels}})

    def names(**selectors: str) -> list[str]:
        return sorted(i.metadata.name for i in core.list_namespaced_config_map("sel", **selectors).items)

    assert names(label_selector="tier=web") == ["x"]
    assert names(label_selector="tier in (web,db),!team") == ["y"]
    assert names(label_selector="tier") == ["x", "y"]
    # kube-root-ca.crt: Kubernetes puts it in every namespace, without labels.
    assert names(label_selector="tier!=web") == ["kube-root-ca.crt", "y", "z"]
    assert names(field_selector="metadata.name=z") == ["z"]


def test_watch_streams_changes_after_a_resource_version(core: client.CoreV1Api) -> None:
    namespace(core, "w")
    listed = core.list_namespaced_config_map("w")
    core.create_namespaced_config_map("w", {"metadata": {"name": "one"}})
    core.delete_namespaced_config_map("one", "w")
    seen = [
        (e["type"], e["object"].metadata.name)
        for e in watch.Watch().stream(
            core.list_namespaced_config_map,
            "w",
            resource_version=listed.metadata.resource_version,
            timeout_seconds=1,
        )
    ]
    assert seen == [("ADDED", "one"), ("DELETED", "one")]


def test_a_watch_from_a_compacted_version_is_gone() -> None:
    with KubeApiServer(history=5) as small:
        cfg = client.Configuration()
        cfg.host = small.url
        cfg.api_key = {"BearerToken": f"Bearer {small.token}"}
        with client.ApiClient(cfg) as api_client:
            core = client.CoreV1Api(api_client)
            for n in range(15):
                core.create_namespaced_config_map("default", {"metadata": {"name": f"c{n}"}})
            with pytest.raises(ApiException) as expired:
                list(
                    watch.Watch().stream(
                        core.list_namespaced_config_map, "default", resource_version="1", timeout_seconds=1
                    )
                )
            assert expired.value.status == 410


def test_namespace_deletion_terminates_then_removes_everything_in_it(
    api: KubeApiServer, core: client.CoreV1Api
) -> None:
    namespace(core, "bye")
    core.create_namespaced_config_map("bye", {"metadata": {"name": "c"}})
    core.delete_namespace("bye")
    assert core.read_namespace("bye").status.phase == "Terminating"
    with pytest.raises(ApiException) as refused:
        core.create_namespaced_config_map("bye", {"metadata": {"name": "late"}})
    assert refused.value.status == 403
    assert "being terminated" in json.loads(refused.value.body)["message"]
    for event in watch.Watch().stream(
        core.list_namespace, field_selector="metadata.name=bye", timeout_seconds=5
    ):
        if event["type"] == "DELETED":
            break
    with pytest.raises(ApiException) as gone:
        core.read_namespace("bye")
    assert gone.value.status == 404
    assert not api.objects("ConfigMap", "bye")


def test_invalid_objects_are_refused_with_the_field_that_is_wrong(core: client.CoreV1Api) -> None:
    namespace(core, "bad")
    # The typed client checks bodies itself; a raw request shows what the server says.
    answer = core.api_client.call_api(
        *core.api_client.param_serialize(
            method="POST",
            resource_path="/api/v1/namespaces/bad/services",
            header_params={"Content-Type": "application/json", "Accept": "application/json"},
            body={"metadata": {"name": "s"}, "spec": {"ports": [{"port": 80, "prot": "TCP"}]}},
            auth_settings=["BearerToken"],
        )
    )
    assert answer.status == 422
    assert "spec.ports.0" in json.loads(answer.read())["message"]
    with pytest.raises(ApiException) as missing:
        core.create_namespaced_config_map("nowhere", {"metadata": {"name": "c"}})
    assert missing.value.status == 404


def test_pods_are_admitted_against_quota_and_pod_security(core: client.CoreV1Api) -> None:
    core.create_namespace(
        {"metadata": {"name": "adm", "labels": {"pod-security.kubernetes.io/enforce": "restricted"}}}
    )
    core.create_namespaced_resource_quota(
        "adm", {"metadata": {"name": "q"}, "spec": {"hard": {"pods": "1", "limits.cpu": "100m"}}}
    )
    container = {
        "name": "c",
        "image": "x:1",
        "resources": {"limits": {"cpu": "100m"}},
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "runAsNonRoot": True,
            "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"},
        },
    }
    core.create_namespaced_pod("adm", {"metadata": {"name": "p1"}, "spec": {"containers": [container]}})
    with pytest.raises(ApiException) as quota:
        core.create_namespaced_pod("adm", {"metadata": {"name": "p2"}, "spec": {"containers": [container]}})
    assert "exceeded quota: q" in json.loads(quota.value.body)["message"]
    rootful = {**container, "securityContext": {"allowPrivilegeEscalation": False}}
    with pytest.raises(ApiException) as security:
        core.create_namespaced_pod("adm", {"metadata": {"name": "p3"}, "spec": {"containers": [rootful]}})
    message = json.loads(security.value.body)["message"]
    assert 'violates PodSecurity "restricted:latest"' in message
    assert "runAsNonRoot != true" in message


def test_list_items_carry_no_kind_and_new_namespaces_get_what_kubernetes_puts_there(
    api: KubeApiServer,
) -> None:
    """As a real API server (v1.28 observed): `kind`/`apiVersion` only on the list itself, and every new
    namespace gets a `kube-root-ca.crt` ConfigMap and a `default` ServiceAccount, without labels."""
    cfg = client.Configuration()
    cfg.host = api.url
    cfg.api_key = {"BearerToken": f"Bearer {api.token}"}
    with client.ApiClient(cfg) as api_client:
        answer = api_client.call_api(
            *api_client.param_serialize(
                method="POST",
                resource_path="/api/v1/namespaces",
                header_params={"Content-Type": "application/json", "Accept": "application/json"},
                body={"metadata": {"name": "made-by-kubernetes"}},
                auth_settings=["BearerToken"],
            )
        )
        answer.read()
        found: dict[str, Any] = {}
        for _ in range(100):
            found = {}
            for plural in ("configmaps", "serviceaccounts"):
                answer = api_client.call_api(
                    *api_client.param_serialize(
                        method="GET",
                        resource_path=f"/api/v1/namespaces/made-by-kubernetes/{plural}",
                        header_params={"Accept": "application/json"},
                        auth_settings=["BearerToken"],
                    )
                )
                found[plural] = json.loads(answer.read())
            if all(f["items"] for f in found.values()):
                break
            time.sleep(0.02)
    configmaps, accounts = found["configmaps"], found["serviceaccounts"]
    assert (configmaps["kind"], configmaps["apiVersion"]) == ("ConfigMapList", "v1")
    assert [i["metadata"]["name"] for i in configmaps["items"]] == ["kube-root-ca.crt"]
    assert [i["metadata"]["name"] for i in accounts["items"]] == ["default"]
    for item in configmaps["items"] + accounts["items"]:
        assert "kind" not in item and "apiVersion" not in item
        assert not item["metadata"].get("labels")
