"""The simulated scheduler and kubelets of the API double.

- scheduler: a pod goes to the first node whose allocatable minus requested fits it, else it stays
  `Unschedulable` (with a `FailedScheduling` event) and is retried;
- kubelet: a scheduled pod starts after `start_delay` and turns Ready after `ready_delay`, unless its
  container is scripted to fail. The script is the image and command, the way a test names its intent:
  an image tagged `:missing` fails to pull (ErrImagePull, then ImagePullBackOff), `:crashloop` - or a
  command `sh -c "exit N"` with N != 0 - exits and crash-loops (CrashLoopBackOff with the exit code),
  `:unready` runs but never passes readiness.
"""

from __future__ import annotations

import copy
import enum
import itertools
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from kubernetes.utils import parse_quantity

from tests.support.kube_api.store import Key, now

if TYPE_CHECKING:
    from tests.support.kube_api.cluster import Cluster


@dataclass(frozen=True)
class NodeSpec:
    name: str
    address: str
    cpu: str = "8"
    memory: str = "32Gi"
    pods: int = 110


@dataclass
class Timing:
    start_delay: float = 0.02
    ready_delay: float = 0.03
    namespace_delete_delay: float = 0.05
    retry_interval: float = 1.0


class Script(enum.Enum):
    READY = "ready"
    CRASH = "crash"
    PULL_ERROR = "pull-error"
    NEVER_READY = "never-ready"


_EXIT = re.compile(r"^\s*exit\s+(\d+)\s*$")


def script_of(container: dict[str, Any]) -> tuple[Script, int]:
    image = str(container.get("image", ""))
    tag = image.rsplit(":", 1)[1] if ":" in image.rsplit("/", 1)[-1] else ""
    if tag == "missing":
        return Script.PULL_ERROR, 0
    if tag == "crashloop":
        return Script.CRASH, 1
    if tag == "unready":
        return Script.NEVER_READY, 0
    words = list(container.get("command") or []) + list(container.get("args") or [])
    if len(words) >= 3 and words[0].rsplit("/", 1)[-1] in ("sh", "bash") and words[1] == "-c":
        m = _EXIT.match(words[2])
        if m and int(m.group(1)) != 0:
            return Script.CRASH, int(m.group(1))
    return Script.READY, 0


def _requests(pod: dict[str, Any]) -> tuple[Decimal, Decimal]:
    cpu = memory = Decimal(0)
    for container in pod.get("spec", {}).get("containers") or []:
        requests = (container.get("resources") or {}).get("requests") or {}
        cpu += parse_quantity(requests.get("cpu", "0"))
        memory += parse_quantity(requests.get("memory", "0"))
    return cpu, memory


class Kubelet:
    def __init__(self, cluster: Cluster, *, nodes: list[NodeSpec], timing: Timing) -> None:
        self.cluster = cluster
        self.store = cluster.store
        self.nodes = nodes
        self.timing = timing
        self._pod_ips = itertools.count(2)

    def _pod(self, key: Key, uid: str) -> dict[str, Any] | None:
        entry = self.store.get(key)
        if entry is None or entry.obj["metadata"]["uid"] != uid:
            return None
        return copy.deepcopy(entry.obj)

    def _owner_changed(self, pod: dict[str, Any]) -> None:
        for owner in pod["metadata"].get("ownerReferences") or []:
            self.cluster.after(
                0, self.cluster.deployment_status, ("Deployment", pod["metadata"]["namespace"], owner["name"])
            )

    def schedule(self, key: Key, uid: str) -> None:
        with self.store.lock:
            pod = self._pod(key, uid)
            if pod is None or pod["spec"].get("nodeName"):
                return
            cpu, memory = _requests(pod)
            chosen = None
            for index, node in enumerate(self.nodes):
                used_cpu = used_memory = Decimal(0)
                count = 0
                for other in self.store.items("Pod"):
                    if other["spec"].get("nodeName") == node.name:
                        c, m = _requests(other)
                        used_cpu, used_memory, count = used_cpu + c, used_memory + m, count + 1
                if (
                    used_cpu + cpu <= parse_quantity(node.cpu)
                    and used_memory + memory <= parse_quantity(node.memory)
                    and count < node.pods
                ):
                    chosen = (index, node)
                    break
            if chosen is None:
                message = (
                    f"0/{len(self.nodes)} nodes are available: {len(self.nodes)} Insufficient cpu or memory."
                )
                pod["status"]["conditions"] = [
                    {"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": message}
                ]
                self.store.put(pod)
                self.cluster.event(
                    key[1] or "",
                    {"kind": "Pod", "name": key[2], "uid": uid},
                    type_="Warning",
                    reason="FailedScheduling",
                    message=message,
                )
                self.cluster.after(self.timing.retry_interval, self.schedule, key, uid)
                return
            index, node = chosen
            pod["spec"]["nodeName"] = node.name
            pod["status"] = {
                "phase": "Pending",
                "hostIP": node.address,
                "podIP": f"10.244.{index}.{next(self._pod_ips) % 250 + 2}",
                "conditions": [{"type": "PodScheduled", "status": "True"}],
                "containerStatuses": [
                    {
                        "name": c["name"],
                        "image": c["image"],
                        "ready": False,
                        "restartCount": 0,
                        "state": {"waiting": {"reason": "ContainerCreating"}},
                    }
                    for c in pod["spec"]["containers"]
                ],
            }
            self.store.put(pod)
            self.cluster.event(
                key[1] or "",
                {"kind": "Pod", "name": key[2], "uid": uid},
                type_="Normal",
                reason="Scheduled",
                message=f"Successfully assigned {key[1]}/{key[2]} to {node.name}",
            )
        self.cluster.after(self.timing.start_delay, self.start_containers, key, uid)

    def _set_containers(self, pod: dict[str, Any], **fields: Any) -> None:
        for status in pod["status"]["containerStatuses"]:
            status.update(copy.deepcopy(fields))

    def start_containers(self, key: Key, uid: str) -> None:
        with self.store.lock:
            pod = self._pod(key, uid)
            if pod is None:
                return
            script, code = script_of(pod["spec"]["containers"][0])
            involved = {"kind": "Pod", "name": key[2], "uid": uid}
            image = pod["spec"]["containers"][0]["image"]
            if script is Script.PULL_ERROR:
                message = f'failed to pull and unpack image "{image}": not found'
                self._set_containers(pod, state={"waiting": {"reason": "ErrImagePull", "message": message}})
                self.store.put(pod)
                self.cluster.event(
                    key[1] or "",
                    involved,
                    type_="Warning",
                    reason="Failed",
                    message=f'Failed to pull image "{image}": {message}',
                )
                self.cluster.after(self.timing.start_delay, self._pull_backoff, key, uid)
            elif script is Script.CRASH:
                self._set_containers(
                    pod,
                    restartCount=1,
                    state={
                        "waiting": {
                            "reason": "CrashLoopBackOff",
                            "message": "back-off 10s restarting failed container="
                            + pod["spec"]["containers"][0]["name"],
                        }
                    },
                    lastState={"terminated": {"exitCode": code, "reason": "Error"}},
                )
                pod["status"]["phase"] = "Running"
                self.store.put(pod)
                self.cluster.event(
                    key[1] or "",
                    involved,
                    type_="Warning",
                    reason="BackOff",
                    message="Back-off restarting failed container",
                )
            else:
                pod["status"]["phase"] = "Running"
                pod["status"]["startTime"] = now()
                self._set_containers(pod, state={"running": {"startedAt": now()}})
                self.store.put(pod)
                self.cluster.event(
                    key[1] or "", involved, type_="Normal", reason="Started", message="Started container"
                )
                if script is Script.READY:
                    self.cluster.after(self.timing.ready_delay, self._ready, key, uid)
            self._owner_changed(pod)

    def _pull_backoff(self, key: Key, uid: str) -> None:
        with self.store.lock:
            pod = self._pod(key, uid)
            if pod is None:
                return
            image = pod["spec"]["containers"][0]["image"]
            self._set_containers(
                pod,
                state={
                    "waiting": {"reason": "ImagePullBackOff", "message": f'Back-off pulling image "{image}"'}
                },
            )
            self.store.put(pod)

    def _ready(self, key: Key, uid: str) -> None:
        with self.store.lock:
            pod = self._pod(key, uid)
            if pod is None:
                return
            self._set_containers(pod, ready=True)
            pod["status"]["conditions"] = [
                {"type": "PodScheduled", "status": "True"},
                {"type": "Initialized", "status": "True"},
                {"type": "ContainersReady", "status": "True"},
                {"type": "Ready", "status": "True"},
            ]
            self.store.put(pod)
            self._owner_changed(pod)
