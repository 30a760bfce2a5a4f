"""The simulated control plane and kubelets behind the API double.

One background thread runs timed work items (a small heap), reacting to store changes:
- deployment controller: keeps `replicas` pods of the current template (Recreate: old-template pods are
  deleted first); a pod admission refuses (quota, Pod Security) becomes a `ReplicaFailure` condition on the
  Deployment and a `FailedCreate` Warning event on its ReplicaSet name, retried every second;
- scheduler and kubelets: see kubelet.py;
- namespace controller: a deleted namespace is Terminating until its content is gone (after
  `namespace_delete_delay`), then disappears;
- garbage collector: pods of a deleted Deployment go with it;
- root-CA publisher and service-account controller: every new namespace gets a `kube-root-ca.crt`
  ConfigMap and a `default` ServiceAccount right after it is created, without anyone's labels (what a
  real control plane puts there, and what code that lists a namespace's content must expect).
"""

from __future__ import annotations

import copy
import hashlib
import heapq
import itertools
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tests.support.kube_api.admission import Refused, admit_pod
from tests.support.kube_api.kubelet import Kubelet, NodeSpec, Timing
from tests.support.kube_api.store import BY_KIND, Change, Key, Store, now

log = logging.getLogger(__name__)

#: The stand-in for the cluster's CA certificate in every namespace's `kube-root-ca.crt`.
ROOT_CA = "-----BEGIN CERTIFICATE-----\nZmVkZXJhbmdlIGRvdWJsZQ==\n-----END CERTIFICATE-----\n"


@dataclass(order=True)
class _Work:
    due: float
    seq: int
    call: Callable[..., None] = field(compare=False)
    args: tuple[Any, ...] = field(compare=False)


class Cluster:
    def __init__(self, store: Store, *, nodes: list[NodeSpec], timing: Timing) -> None:
        self.store = store
        self.nodes = nodes
        self.timing = timing
        self.kubelet = Kubelet(self, nodes=nodes, timing=timing)
        self._heap: list[_Work] = []
        self._seq = itertools.count()
        self._wake = threading.Condition()
        self._stopped = False
        #: While paused, controllers create no pods (tests arrange the cluster first, then let it run).
        self.paused = False
        self._thread = threading.Thread(target=self._run, name="kube-api-cluster", daemon=True)
        store.listeners.append(self._on_change)

    # -- the work loop ------------------------------------------------------------------------------

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        with self._wake:
            self._stopped = True
            self._wake.notify_all()
        self._thread.join(timeout=5)

    def after(self, delay: float, call: Callable[..., None], *args: Any) -> None:
        with self._wake:
            heapq.heappush(self._heap, _Work(time.monotonic() + delay, next(self._seq), call, args))
            self._wake.notify_all()

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._stopped and (not self._heap or self._heap[0].due > time.monotonic()):
                    timeout = self._heap[0].due - time.monotonic() if self._heap else None
                    self._wake.wait(timeout)
                if self._stopped:
                    return
                work = heapq.heappop(self._heap)
            try:
                work.call(*work.args)
            except Exception:  # a bug in the double must not kill the cluster thread silently
                log.exception("simulated cluster work %s failed", getattr(work.call, "__name__", work.call))

    def _on_change(self, change: Change) -> None:
        meta = change.obj["metadata"]
        if change.kind == "Namespace" and change.type == "ADDED":
            self.after(0, self.namespace_defaults, meta["name"])
        elif change.kind == "Deployment":
            key: Key = ("Deployment", meta.get("namespace"), meta["name"])
            if change.type == "DELETED":
                self.after(0, self._collect_pods, meta.get("namespace"), meta["uid"])
            else:
                self.after(0, self.reconcile_deployment, key)
        elif change.kind == "Pod" and change.type == "DELETED":
            for owner in meta.get("ownerReferences") or []:
                if owner.get("kind") == "Deployment":
                    self.after(
                        0, self.reconcile_deployment, ("Deployment", meta.get("namespace"), owner["name"])
                    )

    # -- events -------------------------------------------------------------------------------------

    def event(
        self, namespace: str, involved: dict[str, Any], *, type_: str, reason: str, message: str
    ) -> None:
        with self.store.lock:
            for existing in self.store.items("Event", namespace):
                obj = existing.get("involvedObject") or {}
                if (
                    obj.get("kind") == involved["kind"]
                    and obj.get("name") == involved["name"]
                    and existing.get("reason") == reason
                    and existing.get("message") == message
                ):
                    updated = copy.deepcopy(existing)
                    updated["count"] = int(updated.get("count", 1)) + 1
                    updated["lastTimestamp"] = now()
                    self.store.put(updated)
                    return
            stamp = now()
            self.store.put(
                {
                    "apiVersion": "v1",
                    "kind": "Event",
                    "metadata": {
                        "name": self.store.unique_name(f"{involved['name']}."),
                        "namespace": namespace,
                    },
                    "involvedObject": {**involved, "namespace": namespace},
                    "type": type_,
                    "reason": reason,
                    "message": message,
                    "count": 1,
                    "firstTimestamp": stamp,
                    "lastTimestamp": stamp,
                    "source": {"component": "kube-api-double"},
                }
            )

    # -- deployments --------------------------------------------------------------------------------

    def _owned_pods(self, namespace: str, uid: str) -> list[dict[str, Any]]:
        return [
            p
            for p in self.store.items("Pod", namespace)
            if any(o.get("uid") == uid for o in p["metadata"].get("ownerReferences") or [])
        ]

    def _terminating(self, namespace: str) -> bool:
        entry = self.store.get(("Namespace", None, namespace))
        return entry is None or bool(entry.obj["metadata"].get("deletionTimestamp"))

    def reconcile_deployment(self, key: Key) -> None:
        if self.paused:
            self.after(0.05, self.reconcile_deployment, key)
            return
        with self.store.lock:
            entry = self.store.get(key)
            namespace = key[1] or ""
            if entry is None or self._terminating(namespace):
                return
            deployment = entry.obj
            template = deployment["spec"]["template"]
            template_hash = hashlib.sha256(json.dumps(template, sort_keys=True).encode()).hexdigest()[:10]
            pods = self._owned_pods(namespace, deployment["metadata"]["uid"])
            for pod in pods:
                if pod["metadata"]["labels"].get("pod-template-hash") != template_hash:
                    self.store.remove(self.store.key(pod))
            current = [p for p in pods if p["metadata"]["labels"].get("pod-template-hash") == template_hash]
            wanted = int(deployment["spec"].get("replicas", 1))
            failure = ""
            for extra in current[wanted:]:
                self.store.remove(self.store.key(extra))
            if len(current) < wanted:
                failure = self._create_pod(deployment, template, template_hash)
            self.deployment_status(key, failure=failure)

    def _create_pod(self, deployment: dict[str, Any], template: dict[str, Any], template_hash: str) -> str:
        meta = deployment["metadata"]
        namespace = meta["namespace"]
        name = self.store.unique_name(f"{meta['name']}-{template_hash}-")
        pod_meta = copy.deepcopy(template.get("metadata") or {})
        pod_meta.update(
            {
                "name": name,
                "namespace": namespace,
                "labels": {**(pod_meta.get("labels") or {}), "pod-template-hash": template_hash},
                "ownerReferences": [
                    {
                        "apiVersion": "apps/v1",
                        "kind": "Deployment",
                        "name": meta["name"],
                        "uid": meta["uid"],
                        "controller": True,
                    }
                ],
            }
        )
        spec = copy.deepcopy(template["spec"])
        spec.setdefault("restartPolicy", "Always")
        spec.setdefault("dnsPolicy", "ClusterFirst")
        spec.setdefault("schedulerName", "default-scheduler")
        pod = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": pod_meta,
            "spec": spec,
            "status": {"phase": "Pending", "conditions": []},
        }
        try:
            admit_pod(self.store, pod)
        except Refused as refused:
            message = f'Error creating: pods "{name}" is forbidden: {refused.message}'
            self.event(
                namespace,
                {"kind": "ReplicaSet", "name": f"{meta['name']}-{template_hash}"},
                type_="Warning",
                reason="FailedCreate",
                message=message,
            )
            self.after(self.timing.retry_interval, self.reconcile_deployment, self.store.key(deployment))
            return message
        stored = self.store.put(pod)
        self.after(0, self.kubelet.schedule, self.store.key(stored), stored["metadata"]["uid"])
        return ""

    def deployment_status(self, key: Key, *, failure: str = "") -> None:
        with self.store.lock:
            entry = self.store.get(key)
            if entry is None:
                return
            deployment = copy.deepcopy(entry.obj)
            pods = self._owned_pods(key[1] or "", deployment["metadata"]["uid"])
            ready = sum(
                1
                for p in pods
                if any(
                    c.get("type") == "Ready" and c.get("status") == "True"
                    for c in (p.get("status") or {}).get("conditions") or []
                )
            )
            conditions = [
                {
                    "type": "Available",
                    "status": "True" if ready else "False",
                    "reason": "MinimumReplicasAvailable" if ready else "MinimumReplicasUnavailable",
                },
            ]
            if failure:
                conditions.append(
                    {"type": "ReplicaFailure", "status": "True", "reason": "FailedCreate", "message": failure}
                )
            status = {
                "observedGeneration": deployment["metadata"].get("generation", 1),
                "replicas": len(pods),
                "updatedReplicas": len(pods),
                "readyReplicas": ready,
                "availableReplicas": ready,
                "conditions": conditions,
            }
            if deployment.get("status") != status:
                deployment["status"] = status
                self.store.put(deployment)

    def _collect_pods(self, namespace: str, uid: str) -> None:
        with self.store.lock:
            for pod in self._owned_pods(namespace, uid):
                self.store.remove(self.store.key(pod))

    # -- namespaces ---------------------------------------------------------------------------------

    def namespace_defaults(self, name: str) -> None:
        """What kube-controller-manager creates in every new namespace (no labels: not Federange's)."""
        made = {"managedFields": [{"manager": "kube-controller-manager", "operation": "Update"}]}
        with self.store.lock:
            if self._terminating(name):
                return
            if self.store.get(("ConfigMap", name, "kube-root-ca.crt")) is None:
                self.store.put(
                    {
                        "apiVersion": "v1",
                        "kind": "ConfigMap",
                        "metadata": {"name": "kube-root-ca.crt", "namespace": name, **copy.deepcopy(made)},
                        "data": {"ca.crt": ROOT_CA},
                    }
                )
            if self.store.get(("ServiceAccount", name, "default")) is None:
                self.store.put(
                    {
                        "apiVersion": "v1",
                        "kind": "ServiceAccount",
                        "metadata": {"name": "default", "namespace": name, **copy.deepcopy(made)},
                    }
                )

    def delete_namespace(self, name: str) -> dict[str, Any] | None:
        with self.store.lock:
            entry = self.store.get(("Namespace", None, name))
            if entry is None:
                return None
            namespace = copy.deepcopy(entry.obj)
            if not namespace["metadata"].get("deletionTimestamp"):
                namespace["metadata"]["deletionTimestamp"] = now()
                namespace["spec"] = {"finalizers": ["kubernetes"]}
                namespace["status"] = {"phase": "Terminating"}
                namespace = self.store.put(namespace)
                self.after(self.timing.namespace_delete_delay, self._finish_namespace, name)
            return copy.deepcopy(namespace)

    def _finish_namespace(self, name: str) -> None:
        with self.store.lock:
            order = ["Deployment"] + [k for k, r in BY_KIND.items() if r.namespaced and k != "Deployment"]
            for kind in order:
                for obj in self.store.items(kind, name):
                    self.store.remove(self.store.key(obj))
            self.store.remove(("Namespace", None, name))
