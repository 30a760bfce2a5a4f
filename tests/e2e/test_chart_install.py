"""`helm install` of helm/federange on a real cluster: the migration hook runs, the API becomes ready.

Runs only when FEDERANGE_E2E_KUBECONFIG names a kubeconfig (skips with that reason otherwise). Settings:

    FEDERANGE_E2E_CONTEXT           the kubeconfig context (default: its current one)
    FEDERANGE_E2E_FEDERANGE_IMAGE   the Federange image the nodes can run, `repository:tag` (default
                                    local/federange:<version>: build it with the Containerfile and load it
                                    into the nodes, e.g. `kind load docker-image local/federange:0.1.0`)
    FEDERANGE_E2E_DATABASE_URL      a PostgreSQL URL the cluster's pods reach; without it the test runs a
                                    throwaway PostgreSQL (FEDERANGE_E2E_POSTGRES_IMAGE, default postgres:16)
                                    in a namespace of its own
    FEDERANGE_E2E_INSTALL_TIMEOUT   seconds helm may wait for the release (default 600)

The release's namespace enforces Pod Security `restricted`, so the install also proves the chart's pods are
admitted under it; the release is upgraded once (the pre-upgrade migration hook runs again) and `helm test`
checks /ready through the Service. Both namespaces are deleted at the end, whatever happened.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from connectors.kubernetes.apiserver import ApiServer
from connectors.kubernetes.connector import KubernetesConnector
from tests.e2e.kubernetes_cluster import ENV_KUBECONFIG, kubeconfig_from_env
from tests.support.federange_image import IMAGE
from tests.support.helm import CHART, helm

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(1800)]

RELEASE = "fr"


@dataclass
class Cluster:
    kubeconfig: str
    context: str
    api: ApiServer  # the kubernetes connector's own client (server-side apply, dictionaries)

    def helm(self, *args: str, timeout: float = 900) -> str:
        context = ["--kube-context", self.context] if self.context else []
        return helm(*args, "--kubeconfig", self.kubeconfig, *context, timeout=timeout).stdout

    def apply(self, obj: dict[str, Any]) -> None:
        self.api.apply(obj, field_manager="federange-chart-e2e")

    def ready_replicas(self, ns: str, name: str) -> tuple[int, int]:
        deployment = self.api.get("Deployment", name, namespace=ns) or {}
        return int((deployment.get("status") or {}).get("readyReplicas") or 0), int(
            (deployment.get("spec") or {}).get("replicas") or 0
        )


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    found = kubeconfig_from_env()
    if found is None:
        pytest.skip(f"{ENV_KUBECONFIG} is not set: no real cluster to install the chart on")
    text, context = found
    config: dict[str, Any] = {"kubeconfig": text}
    if context:
        config["context"] = context
    connector = KubernetesConnector(config)
    try:
        yield Cluster(
            kubeconfig=str(Path(os.environ[ENV_KUBECONFIG]).expanduser()), context=context, api=connector.api
        )
    finally:
        connector.close()


def namespace(cluster: Cluster, name: str, level: str) -> None:
    labels = {f"pod-security.kubernetes.io/{mode}": level for mode in ("enforce", "audit", "warn")}
    cluster.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}})


def delete_namespaces(cluster: Cluster, names: list[str]) -> list[str]:
    for name in names:
        cluster.api.delete("Namespace", name)
    deadline = time.monotonic() + 300
    left = list(names)
    while left and time.monotonic() < deadline:
        time.sleep(3)
        left = [n for n in left if cluster.api.get("Namespace", n) is not None]
    return left


def throwaway_postgres(cluster: Cluster, ns: str) -> str:
    """A PostgreSQL Deployment + Service in `ns` (baseline: the official image starts as root); its URL."""
    password = secrets.token_urlsafe(16)
    image = os.environ.get("FEDERANGE_E2E_POSTGRES_IMAGE", "postgres:16")
    labels = {"app.kubernetes.io/name": "e2e-postgres"}
    cluster.apply(
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "postgres", "namespace": ns, "labels": labels},
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {
                        "containers": [
                            {
                                "name": "postgres",
                                "image": image,
                                "env": [
                                    {"name": "POSTGRES_PASSWORD", "value": password},
                                    {"name": "POSTGRES_DB", "value": "federange"},
                                ],
                                "ports": [{"containerPort": 5432}],
                                "readinessProbe": {
                                    "exec": {"command": ["pg_isready", "-U", "postgres"]},
                                    "periodSeconds": 2,
                                },
                            }
                        ]
                    },
                },
            },
        }
    )
    cluster.apply(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "postgres", "namespace": ns},
            "spec": {"selector": labels, "ports": [{"port": 5432, "targetPort": 5432}]},
        }
    )
    deadline = time.monotonic() + 300
    while cluster.ready_replicas(ns, "postgres")[0] < 1:
        if time.monotonic() > deadline:
            raise AssertionError(f"the throwaway PostgreSQL ({image}) in {ns} did not become ready in 300 s")
        time.sleep(3)
    return f"postgresql+psycopg://postgres:{password}@postgres.{ns}.svc:5432/federange"


def secret(cluster: Cluster, ns: str, name: str, key: str, value: str) -> None:
    cluster.apply(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": name, "namespace": ns},
            "stringData": {key: value},
        }
    )


def test_helm_install_makes_a_ready_api_and_upgrade_migrates_again(cluster: Cluster) -> None:
    run = uuid.uuid4().hex[:6]
    ns, db_ns = f"fr-e2e-{run}", f"fr-e2e-{run}-db"
    created = [ns]
    image = os.environ.get("FEDERANGE_E2E_FEDERANGE_IMAGE", IMAGE)
    repository, _, tag = image.rpartition(":")
    timeout = os.environ.get("FEDERANGE_E2E_INSTALL_TIMEOUT", "600")
    try:
        namespace(cluster, ns, "restricted")
        url = os.environ.get("FEDERANGE_E2E_DATABASE_URL", "")
        if not url:
            namespace(cluster, db_ns, "baseline")
            created.append(db_ns)
            url = throwaway_postgres(cluster, db_ns)
        secret(cluster, ns, "federange-database", "url", url)
        secret(cluster, ns, "federange-secret-key", "secret-key", secrets.token_urlsafe(48))
        values = ["--set", f"image.repository={repository}", "--set", f"image.tag={tag}"]
        install = ["--namespace", ns, "--wait", "--timeout", f"{timeout}s", *values]
        cluster.helm("install", RELEASE, str(CHART), *install)

        api = cluster.apps.read_namespaced_deployment(name=f"{RELEASE}-federange-api", namespace=ns)
        assert (api.status.ready_replicas or 0) == api.spec.replicas == 2
        scheduler = cluster.apps.read_namespaced_deployment(
            name=f"{RELEASE}-federange-scheduler", namespace=ns
        )
        assert (scheduler.status.ready_replicas or 0) == scheduler.spec.replicas == 2
        ready = cluster.core.connect_get_namespaced_service_proxy_with_path(
            f"{RELEASE}-federange-api:http", ns, path="ready"
        )
        assert "ready" in str(ready), ready

        cluster.helm("upgrade", RELEASE, str(CHART), *install, "--set", "config.hold_ttl_seconds=900")
        status = cluster.helm("status", RELEASE, "--namespace", ns)
        assert "REVISION: 2" in status and "STATUS: deployed" in status, status
        tested = cluster.helm("test", RELEASE, "--namespace", ns, "--logs", "--timeout", "300s")
        assert '"status":"ready"' in tested.replace(" ", ""), tested
    finally:
        with contextlib.suppress(AssertionError):  # no release (install failed): the namespace goes anyway
            cluster.helm("uninstall", RELEASE, "--namespace", ns, "--wait", "--timeout", "300s")
        left = delete_namespaces(cluster, created)
        assert not left, f"namespaces still terminating after the chart e2e test: {left}"
