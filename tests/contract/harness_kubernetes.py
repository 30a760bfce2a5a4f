"""The Kubernetes connector under the contract, against the in-process Kubernetes API server.

The real `kubernetes` client talks HTTP to tests/support/kube_api; its simulated kubelet starts the
contract scenario's hosts, and crash-loops the failing scenario's `sh -c "exit 3"` host. The connector's
token holds exactly the RBAC rules the range chart ships (helm/federange-range/connector-rules.yaml).
A partial failure is a scripted 500 on the second host's Deployment, after the namespace and the first
host exist.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from connectors import registry
from connectors.base import LABEL_INSTANCE, Connector, InstanceSpec
from connectors.kubernetes.connector import KubernetesConnector
from connectors.kubernetes.naming import namespace_name
from connectors.kubernetes.render import KIND_ORDER
from scenarios.model import Scenario
from tests.contract.harness import contract_scenario, written_by_federange
from tests.support.kube_api import KubeApiServer
from tests.support.kube_api.rbac import shipped_rules

MARKS = ()
IMAGE = "registry.example/tools:1"


class KubernetesHarness:
    kind = "kubernetes"
    ready_timeout = 10.0

    def __init__(self, server: KubeApiServer) -> None:
        self.server = server
        token = server.grant("federange-range", shipped_rules())
        self.config: dict[str, Any] = server.connector_config(
            token=token,
            qps=0,
            watch_window=1,
            retry_attempts=3,
            retry_initial=0.01,
            retry_max=0.05,
            teardown_timeout=10,
        )
        self._shared: Connector | None = None

    def connector(self) -> Connector:
        # One connector for the whole module, closed with the harness: no client socket outlives it.
        if self._shared is None:
            self._shared = registry.load("kubernetes", self.config)
        return self._shared

    def close(self) -> None:
        if isinstance(self._shared, KubernetesConnector):
            self._shared.close()

    def scenario(self) -> Scenario:
        return contract_scenario(image=IMAGE)

    def failing_scenario(self) -> Scenario:
        return contract_scenario(image=IMAGE, failing=True)

    def arrange_partial_failure(self, instance: InstanceSpec) -> None:
        namespace = namespace_name(instance.instance_id)
        self.server.faults.add(
            method="PATCH", path=f"/namespaces/{namespace}/deployments/target$", status=500, times=None
        )

    def _objects(self, instance_id: str) -> list[dict[str, Any]]:
        namespace = namespace_name(instance_id)
        found = [o for o in self.server.objects("Namespace") if o["metadata"]["name"] == namespace]
        for kind in KIND_ORDER[1:]:
            # What Kubernetes itself puts in every namespace (kube-root-ca.crt) is not the instance's.
            found += [o for o in self.server.objects(kind, namespace) if written_by_federange(o)]
        # Anything labelled with the instance elsewhere would be an orphan too.
        for kind in KIND_ORDER[1:]:
            found += [
                o
                for o in self.server.objects(kind)
                if o["metadata"].get("namespace") != namespace
                and (o["metadata"].get("labels") or {}).get(LABEL_INSTANCE) == instance_id
            ]
        return found

    def leftovers(self, instance_id: str) -> Sequence[str]:
        return sorted(
            f"{o['kind']}/{o['metadata'].get('namespace', '')}/{o['metadata']['name']}"
            for o in self._objects(instance_id)
        )

    def labels(self, instance_id: str) -> Sequence[Mapping[str, str]]:
        namespace = namespace_name(instance_id)
        pods = self.server.objects("Pod", namespace)
        return [o["metadata"].get("labels") or {} for o in [*self._objects(instance_id), *pods]]


@contextmanager
def harness() -> Iterator[KubernetesHarness]:
    with KubeApiServer() as server:
        h = KubernetesHarness(server)
        try:
            yield h
        finally:
            h.close()
