"""A real Kubernetes cluster as a contract harness, for the e2e suite.

Configuration (environment):

    FEDERANGE_E2E_KUBECONFIG       path of a kubeconfig (required; the suite skips without it)
    FEDERANGE_E2E_CONTEXT          context to use (default: the kubeconfig's current context)
    FEDERANGE_E2E_IMAGE            a pullable image with busybox tools (default busybox:1.36)
    FEDERANGE_E2E_READY_TIMEOUT    seconds an instance may take to become ready (default 180)

Everything the suite creates lives in namespaces named `e2e-<run>-...` (a fresh run id per session):
instances labelled as Federange instances, and one unlabelled `e2e-<run>-scratch` holding a target no
instance may reach; `sweep()` deletes every one of them at the end, also after failures.
The credentials need what docs/kubernetes.md lists for a range (namespaces, the namespaced kinds Federange
applies, pods and events, cluster-wide lists of nodes, deployments and pods) plus pods/exec, and create
on pods and services for the scratch namespace.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from connectors import registry
from connectors.base import LABEL_HOST, LABEL_INSTANCE, LABEL_MANAGED_BY, MANAGED_BY, Connector, InstanceSpec
from connectors.kubernetes.connector import KubernetesConnector
from connectors.kubernetes.render import KIND_ORDER, render_instance
from scenarios.model import Scenario
from tests.contract.harness import contract_scenario, written_by_federange

ENV_KUBECONFIG = "FEDERANGE_E2E_KUBECONFIG"

#: The isolation smoke test's scenario (`{image}`: the e2e image); its matrix is also checked offline by
#: tests/unit/kubernetes/test_isolation.py.
ISOLATION = """
apiVersion: federange/v1
kind: Scenario
metadata: {{name: e2e-isolation, version: 1.0.0, title: Isolation smoke test}}
spec:
  segments: [{{name: front}}, {{name: back}}, {{name: other}}]
  hosts:
    - name: web
      image: {image}
      command: [httpd, -f, -p, "8080", -h, /www]
      ports: [{{port: 8080}}]
      segments: [back]
      files: [{{path: /www/index.html, content: "federange e2e\\n"}}]
      readiness: {{tcp_port: 8080}}
      resources:
        requests: {{cpu_millicores: 20, memory_mib: 16}}
        limits: {{cpu_millicores: 100, memory_mib: 32}}
    - name: client
      image: {image}
      command: [sleep, "3600"]
      segments: [front]
      resources:
        requests: {{cpu_millicores: 20, memory_mib: 16}}
        limits: {{cpu_millicores: 100, memory_mib: 32}}
    - name: peer
      image: {image}
      command: [sleep, "3600"]
      segments: [back]
      resources:
        requests: {{cpu_millicores: 20, memory_mib: 16}}
        limits: {{cpu_millicores: 100, memory_mib: 32}}
    - name: stranger
      image: {image}
      command: [sleep, "3600"]
      segments: [other]
      resources:
        requests: {{cpu_millicores: 20, memory_mib: 16}}
        limits: {{cpu_millicores: 100, memory_mib: 32}}
  flows:
    - from: {{segment: front, hosts: [client]}}
      to: {{segment: back, hosts: [web]}}
      ports: [{{port: 8080}}]
"""


def kubeconfig_from_env() -> tuple[str, str] | None:
    """(kubeconfig text, context) or None when the suite should skip; a set but unreadable path is an
    error, not a skip: someone meant to run against a cluster."""
    location = os.environ.get(ENV_KUBECONFIG, "").strip()
    if not location:
        return None
    path = Path(location).expanduser()
    if not path.is_file():
        raise RuntimeError(f"{ENV_KUBECONFIG}={location} does not name a readable kubeconfig file")
    return path.read_text(encoding="utf-8"), os.environ.get("FEDERANGE_E2E_CONTEXT", "")


class ClusterHarness:
    kind = "kubernetes"

    def __init__(self, kubeconfig: str, context: str) -> None:
        self.kubeconfig = kubeconfig
        self.context = context
        self.image = os.environ.get("FEDERANGE_E2E_IMAGE", "busybox:1.36")
        self.ready_timeout = float(os.environ.get("FEDERANGE_E2E_READY_TIMEOUT", "180"))
        self.prefix = f"e2e-{uuid.uuid4().hex[:6]}"
        self.config: dict[str, Any] = {
            "kubeconfig": kubeconfig,
            "namespace_prefix": self.prefix,
            "watch_window": 5,
            "teardown_timeout": 300,
            "qps": 20,
            "burst": 40,
        }
        if context:
            self.config["context"] = context
        self.own = KubernetesConnector(self.config)
        self.scratch_namespace = f"{self.prefix}-scratch"

    # -- the Harness protocol -----------------------------------------------------------------------

    def connector(self) -> Connector:
        return registry.load("kubernetes", self.config)

    def scenario(self) -> Scenario:
        return contract_scenario(image=self.image)

    def failing_scenario(self) -> Scenario:
        return contract_scenario(image=self.image, failing=True)

    def arrange_partial_failure(self, instance: InstanceSpec) -> None:
        """A real API refusal part-way: the namespace already holds a `target` Deployment whose selector
        differs from the rendered one (as after a hand edit), so applying it fails with 422 (the selector
        is immutable) after the namespace, its policies and the first host were applied."""
        namespace = self.own.namespace(instance.instance_id)
        rendered = render_instance(instance, namespace_prefix=self.prefix)
        self.own.api.apply(rendered[0], field_manager="federange-e2e")
        conflict = {"e2e.federange.eu/conflict": "yes"}
        self.own.api.apply(
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": "target", "namespace": namespace, "labels": instance.labels()},
                "spec": {
                    "replicas": 0,
                    "selector": {"matchLabels": conflict},
                    "template": {
                        "metadata": {"labels": conflict},
                        "spec": {"containers": [{"name": "target", "image": self.image}]},
                    },
                },
            },
            field_manager="federange-e2e",
        )

    def _objects(self, instance_id: str) -> list[tuple[str, dict[str, Any]]]:
        """(kind, object) of everything Federange wrote for the instance. List items carry no `kind` (a
        real API server sets it on the list only), and Kubernetes puts objects of its own in every
        namespace (kube-root-ca.crt), which are not the instance's."""
        namespace = self.own.namespace(instance_id)
        found = []
        existing = self.own.api.get("Namespace", namespace)
        if existing is not None:
            found.append(("Namespace", existing))
        for kind in KIND_ORDER[1:]:
            items, _ = self.own.api.list(kind, namespace=namespace)
            found += [(kind, item) for item in items if written_by_federange(item)]
        return found

    def leftovers(self, instance_id: str) -> Sequence[str]:
        return sorted(f"{kind}/{o['metadata']['name']}" for kind, o in self._objects(instance_id))

    def labels(self, instance_id: str) -> Sequence[Mapping[str, str]]:
        namespace = self.own.namespace(instance_id)
        pods, _ = self.own.api.list("Pod", namespace=namespace)
        objects = [o for _, o in self._objects(instance_id)]
        return [o["metadata"].get("labels") or {} for o in [*objects, *pods]]

    # -- cleanup and exec ---------------------------------------------------------------------------

    def sweep(self) -> list[str]:
        """Delete every namespace this run created (instances by prefix and Federange labels, and the
        scratch namespace); returns the names that were still there."""
        items, _ = self.own.api.list("Namespace", label_selector=f"{LABEL_MANAGED_BY}={MANAGED_BY}")
        mine = [n["metadata"]["name"] for n in items if n["metadata"]["name"].startswith(f"{self.prefix}-")]
        if self.own.api.get("Namespace", self.scratch_namespace) is not None:
            mine.append(self.scratch_namespace)  # not an instance: no Federange labels
        for name in mine:
            self.own.api.delete("Namespace", name)
        deadline = time.monotonic() + 300
        while mine and time.monotonic() < deadline:
            mine = [name for name in mine if self.own.api.get("Namespace", name) is not None]
            time.sleep(2)
        return mine

    def pod_of(self, instance_id: str, host: str) -> dict[str, Any]:
        pods, _ = self.own.api.list(
            "Pod",
            namespace=self.own.namespace(instance_id),
            label_selector=f"{LABEL_INSTANCE}={instance_id},{LABEL_HOST}={host}",
        )
        running = [p for p in pods if p.get("status", {}).get("phase") == "Running"]
        if not running:
            raise AssertionError(f"host {host} of {instance_id} has no running pod")
        return running[0]

    def address_of(self, instance_id: str, host: str) -> str:
        """The host's pod address: what its (headless) Service name resolves to."""
        return str(self.pod_of(instance_id, host)["status"]["podIP"])

    def exec(
        self, instance_id: str, host: str, command: list[str], *, timeout: float = 20
    ) -> tuple[int, str]:
        """Run `command` in the host's container; its exit code and its output (stdout and stderr)."""
        pod = self.pod_of(instance_id, host)["metadata"]["name"]
        return self.run(self.own.namespace(instance_id), pod, host, command, timeout=timeout)

    def run(
        self, namespace: str, pod: str, container: str, command: list[str], *, timeout: float = 20
    ) -> tuple[int, str]:
        """Run `command` in a container through the API (no kubectl): exit code (-1 when none came back)
        and everything it wrote."""
        from kubernetes import client, config
        from kubernetes.stream import stream

        api_client = config.new_client_from_config_dict(
            yaml.safe_load(self.kubeconfig), context=self.context or None, persist_config=False
        )
        try:
            session = stream(
                client.CoreV1Api(api_client).connect_get_namespaced_pod_exec,
                pod,
                namespace,
                container=container,
                command=command,
                stderr=True,
                stdin=False,
                stdout=True,
                tty=False,
                _preload_content=False,
            )
            session.run_forever(timeout=timeout)
            output = session.read_stdout() + session.read_stderr()
            code = session.returncode
            session.close()
            return (-1 if code is None else int(code)), output
        finally:
            api_client.close()

    # -- a target outside every instance --------------------------------------------------------------

    def scratch_target(self) -> ScratchTarget:
        """A Service in a scratch namespace of this run (deleted by `sweep`): a TCP listener that no
        scenario flow allows, plus a witness pod beside it that proves the listener answers. Isolation
        tests aim egress there instead of at any address outside the cluster."""
        namespace = self.scratch_namespace
        labels = {"e2e.federange.eu/run": self.prefix}
        manager = "federange-e2e"
        self.own.api.apply(
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace, "labels": labels}},
            field_manager=manager,
        )
        for name, command in (
            ("target", ["httpd", "-f", "-p", "8080", "-h", "/tmp"]),
            ("witness", ["sleep", "3600"]),
        ):
            self.own.api.apply(
                _scratch_pod(namespace, name, self.image, command, labels), field_manager=manager
            )
        self.own.api.apply(
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": "target", "namespace": namespace, "labels": labels},
                "spec": {
                    "selector": {"e2e.federange.eu/pod": "target"},
                    "ports": [{"name": "tcp", "port": 8080, "targetPort": 8080, "protocol": "TCP"}],
                },
            },
            field_manager=manager,
        )
        deadline = time.monotonic() + self.ready_timeout
        while True:
            pods, _ = self.own.api.list("Pod", namespace=namespace)
            ready = {
                p["metadata"]["name"]
                for p in pods
                if any(
                    c.get("type") == "Ready" and c.get("status") == "True"
                    for c in (p.get("status") or {}).get("conditions") or []
                )
            }
            if {"target", "witness"} <= ready:
                break
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"the scratch pods never became ready: {sorted(ready)} of target, witness"
                )
            time.sleep(2)
        service = self.own.api.get("Service", "target", namespace=namespace)
        assert service is not None
        return ScratchTarget(
            namespace=namespace, witness="witness", address=str(service["spec"]["clusterIP"]), port=8080
        )


#: What the isolation test needs of a cluster beyond the connector contract, probed before it runs.
FEATURES = ("exec", "cluster DNS", "NetworkPolicy enforcement")


def probe_features(harness: ClusterHarness, scratch: ScratchTarget) -> dict[str, str]:
    """For each of FEATURES, why the cluster lacks it ("" when it has it), found out in the scratch
    namespace: exec runs `true` in the witness; DNS resolves `kubernetes.default.svc.cluster.local` there;
    enforcement puts the target behind a deny-all-ingress NetworkPolicy and expects the witness's probe
    to be refused or dropped (a network plugin that ignores policies lets it through). The policy is
    removed again afterwards."""
    from tests.support import probe
    from tests.support.lookup import nslookup_addresses

    missing = dict.fromkeys(FEATURES, "")
    code, output = harness.run(scratch.namespace, scratch.witness, scratch.witness, ["true"])
    if code != 0:
        missing["exec"] = f"pods/exec does not run commands here (exit {code}: {output.strip()[:200]})"
        for feature in FEATURES[1:]:
            missing[feature] = "not probed: it needs exec"
        return missing
    _, output = harness.run(
        scratch.namespace,
        scratch.witness,
        scratch.witness,
        ["nslookup", "kubernetes.default.svc.cluster.local"],
    )
    if not nslookup_addresses(output):
        missing["cluster DNS"] = (
            f"kubernetes.default.svc.cluster.local does not resolve in a pod: {output[:200]!r}"
        )
    target = probe.Target(scratch.address, scratch.port)
    policy = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "e2e-deny-target", "namespace": scratch.namespace},
        "spec": {
            "podSelector": {"matchLabels": {"e2e.federange.eu/pod": "target"}},
            "policyTypes": ["Ingress"],
        },
    }
    harness.own.api.apply(policy, field_manager="federange-e2e")
    try:
        outcome = probe.Outcome.REACHED
        for _ in range(10):  # policies can take a few seconds to be programmed
            code, output = harness.run(
                scratch.namespace, scratch.witness, scratch.witness, probe.command(target)
            )
            outcome = probe.verdict(output, code, target=f"{target} behind a deny-all policy")
            if outcome in probe.NOT_REACHED:
                break
            time.sleep(3)
        if outcome is probe.Outcome.REACHED:
            missing["NetworkPolicy enforcement"] = (
                "the network plugin does not enforce NetworkPolicies: a pod behind a deny-all ingress policy "
                "still answered (use Calico, Cilium, Antrea, kube-router, kindnet >= 0.24, k3s' default...)"
            )
    finally:
        harness.own.api.delete("NetworkPolicy", "e2e-deny-target", namespace=scratch.namespace)
    return missing


@dataclass(frozen=True)
class ScratchTarget:
    namespace: str
    witness: str  # a pod in the same namespace (no policies there): it must reach the target
    address: str  # the Service's cluster IP
    port: int


def _scratch_pod(
    namespace: str, name: str, image: str, command: list[str], labels: Mapping[str, str]
) -> dict[str, Any]:
    """A busybox pod that meets Pod Security `restricted` (whatever the cluster enforces by default)."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {**labels, "e2e.federange.eu/pod": name},
        },
        "spec": {
            "securityContext": {
                "runAsNonRoot": True,
                "runAsUser": 65534,
                "seccompProfile": {"type": "RuntimeDefault"},
            },
            "containers": [
                {
                    "name": name,
                    "image": image,
                    "command": command,
                    "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}},
                    "resources": {
                        "requests": {"cpu": "20m", "memory": "16Mi"},
                        "limits": {"cpu": "100m", "memory": "32Mi"},
                    },
                }
            ],
        },
    }
