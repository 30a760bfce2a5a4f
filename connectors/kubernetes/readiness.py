"""An instance's status from what the cluster reports: a pure function of the namespace, Deployments,
Pods, Events and entry Services of the instance.

Failure reasons come from where Kubernetes puts them: container statuses (ErrImagePull,
ImagePullBackOff, CrashLoopBackOff with the last exit code, CreateContainerConfigError), the pod phase
(evicted), the Deployment's ReplicaFailure condition and the ReplicaSet's FailedCreate events (a pod the
quota or an admission policy refused). A host that is merely slow (scheduling, pulling, starting, probe
not yet passing) is pending, with the most telling reason available, which `wait_ready` reports on timeout.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from connectors.base import LABEL_HOST, Endpoint, HostStatus, InstanceStatus, Phase
from connectors.kubernetes.naming import ANNOTATION_DEPLOY_ERROR, ANNOTATION_HOSTS

#: Container waiting reasons that will not resolve by themselves.
FAILING_WAIT_REASONS = frozenset(
    {
        "CrashLoopBackOff",
        "CreateContainerConfigError",
        "CreateContainerError",
        "ErrImageNeverPull",
        "ErrImagePull",
        "ImagePullBackOff",
        "InvalidImageName",
        "RunContainerError",
    }
)


@dataclass(frozen=True, kw_only=True)
class Observed:
    """Everything of one instance the cluster reported, as raw API objects."""

    namespace: dict[str, Any] | None
    deployments: Sequence[dict[str, Any]] = ()
    pods: Sequence[dict[str, Any]] = ()
    events: Sequence[dict[str, Any]] = ()
    services: Sequence[dict[str, Any]] = ()
    resource_version: str = ""


def _meta(obj: dict[str, Any]) -> dict[str, Any]:
    meta: dict[str, Any] = obj.get("metadata") or {}
    return meta


def _host_of(obj: dict[str, Any]) -> str:
    return str((_meta(obj).get("labels") or {}).get(LABEL_HOST, ""))


def _event_time(event: dict[str, Any]) -> str:
    return str(
        event.get("lastTimestamp") or event.get("eventTime") or _meta(event).get("creationTimestamp") or ""
    )


def _current_pod(pods: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    live = [p for p in pods if not _meta(p).get("deletionTimestamp")] or list(pods)
    if not live:
        return None
    return max(live, key=lambda p: (str(_meta(p).get("creationTimestamp", "")), str(_meta(p).get("name"))))


def _pod_state(pod: dict[str, Any]) -> tuple[str, str]:
    """("ready" | "failed" | "pending", reason)."""
    status = pod.get("status") or {}
    if status.get("phase") == "Failed":
        detail = ": ".join(x for x in (status.get("reason"), status.get("message")) if x)
        return "failed", f"pod failed{': ' + detail if detail else ''}"
    waiting_reason = ""
    for container in status.get("containerStatuses") or []:
        state = container.get("state") or {}
        waiting = state.get("waiting") or {}
        reason = waiting.get("reason") or ""
        if reason in FAILING_WAIT_REASONS:
            text = reason + (f": {waiting['message']}" if waiting.get("message") else "")
            last = ((container.get("lastState") or {}).get("terminated")) or {}
            if "exitCode" in last:
                text += f" (last exit code {last['exitCode']}, {container.get('restartCount', 0)} restarts)"
            return "failed", text
        if reason:
            waiting_reason = reason
        terminated = state.get("terminated") or {}
        if terminated:
            waiting_reason = f"container exited with code {terminated.get('exitCode')}"
    conditions = {c.get("type"): c for c in status.get("conditions") or []}
    if (conditions.get("Ready") or {}).get("status") == "True":
        return "ready", ""
    scheduled = conditions.get("PodScheduled") or {}
    if scheduled.get("status") == "False":
        detail = ": ".join(x for x in (scheduled.get("reason"), scheduled.get("message")) if x)
        return "pending", detail or "not scheduled yet"
    if waiting_reason:
        return "pending", waiting_reason
    if status.get("phase") == "Running":
        return "pending", "running, readiness probe not passed yet"
    return "pending", "starting"


def _warnings_for(host: str, pod_names: set[str], events: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    replica_set = re.compile(rf"^{re.escape(host)}-[a-z0-9]+$")
    out = []
    for event in events:
        if event.get("type") != "Warning":
            continue
        involved = event.get("involvedObject") or {}
        kind, name = involved.get("kind"), str(involved.get("name", ""))
        if (
            (kind == "Pod" and name in pod_names)
            or (kind == "ReplicaSet" and replica_set.match(name))
            or (kind == "Deployment" and name == host)
        ):
            out.append(event)
    return sorted(out, key=_event_time)


def host_status(
    host: str,
    *,
    deployment: dict[str, Any] | None,
    pods: Sequence[dict[str, Any]],
    events: Sequence[dict[str, Any]],
) -> tuple[HostStatus, bool]:
    """The host's status and whether it has failed (as opposed to being not ready yet)."""
    if deployment is None:
        return HostStatus(name=host, ready=False, reason="not created"), False
    pod = _current_pod(pods)
    warnings = _warnings_for(host, {str(_meta(p).get("name")) for p in pods}, events)
    if pod is None:
        for condition in (deployment.get("status") or {}).get("conditions") or []:
            if condition.get("type") == "ReplicaFailure" and condition.get("status") == "True":
                reason = f"{condition.get('reason', 'ReplicaFailure')}: {condition.get('message', '')}"
                return HostStatus(name=host, ready=False, reason=reason), True
        refused = [e for e in warnings if e.get("reason") == "FailedCreate"]
        if refused:
            return HostStatus(
                name=host, ready=False, reason=f"FailedCreate: {refused[-1].get('message')}"
            ), True
        return HostStatus(name=host, ready=False, reason="no pod yet"), False
    state, reason = _pod_state(pod)
    if state == "ready":
        return HostStatus(name=host, ready=True), False
    if state == "pending" and warnings and reason in {"starting", "ContainerCreating"}:
        latest = warnings[-1]
        reason = f"{latest.get('reason')}: {latest.get('message')}"
    return HostStatus(name=host, ready=False, reason=reason), state == "failed"


def _endpoints(observed: Observed, *, access_address: str) -> tuple[Endpoint, ...]:
    node_of: dict[str, str] = {}
    for pod in observed.pods:
        host_ip = (pod.get("status") or {}).get("hostIP")
        if host_ip and not _meta(pod).get("deletionTimestamp"):
            node_of[_host_of(pod)] = str(host_ip)
    out = []
    for service in observed.services:
        labels = _meta(service).get("labels") or {}
        if labels.get("federange.eu/entry") != "true":
            continue
        host = _host_of(service)
        spec = service.get("spec") or {}
        ingress = ((service.get("status") or {}).get("loadBalancer") or {}).get("ingress") or [{}]
        for port in spec.get("ports") or []:
            protocol = str(port.get("protocol", "TCP"))
            if spec.get("type") == "LoadBalancer":
                address = str(ingress[0].get("ip") or ingress[0].get("hostname") or "")
                reachable = port.get("port")
            else:
                address = access_address or node_of.get(host, "")
                reachable = port.get("nodePort")
            url = f"{protocol.lower()}://{address}:{reachable}" if address and reachable else ""
            out.append(
                Endpoint(host=host, port=int(port["port"]), protocol=protocol, address=address, url=url)
            )
    return tuple(sorted(out, key=lambda e: (e.host, e.port, e.protocol)))


def instance_status(instance_id: str, observed: Observed, *, access_address: str = "") -> InstanceStatus:
    ns = observed.namespace
    if ns is None:
        return InstanceStatus(instance_id=instance_id, phase=Phase.ABSENT)
    meta = _meta(ns)
    if meta.get("deletionTimestamp") or (ns.get("status") or {}).get("phase") == "Terminating":
        return InstanceStatus(
            instance_id=instance_id, phase=Phase.TERMINATING, reason="the instance namespace is being deleted"
        )
    annotations = meta.get("annotations") or {}
    expected = {h for h in str(annotations.get(ANNOTATION_HOSTS, "")).split(",") if h}
    deployments = {_host_of(d): d for d in observed.deployments}
    hosts: list[HostStatus] = []
    failed: list[HostStatus] = []
    for name in sorted(expected | set(deployments)):
        pods = [p for p in observed.pods if _host_of(p) == name]
        status, broken = host_status(
            name, deployment=deployments.get(name), pods=pods, events=observed.events
        )
        hosts.append(status)
        if broken:
            failed.append(status)
    endpoints = _endpoints(observed, access_address=access_address)
    deploy_error = annotations.get(ANNOTATION_DEPLOY_ERROR)
    if deploy_error:
        phase, reason = Phase.FAILED, f"deploy failed part-way: {deploy_error}"
    elif failed:
        phase, reason = Phase.FAILED, "; ".join(f"host {h.name}: {h.reason}" for h in failed)
    elif hosts and all(h.ready for h in hosts):
        phase, reason = Phase.READY, ""
    else:
        phase = Phase.PENDING
        reason = "; ".join(f"host {h.name}: {h.reason}" for h in hosts if not h.ready) or "no hosts yet"
    return InstanceStatus(
        instance_id=instance_id, phase=phase, hosts=tuple(hosts), endpoints=endpoints, reason=reason
    )
