"""Hosts as Kubernetes workloads: one Deployment (one replica, Recreate) and Services per host.

Every host gets a headless Service named after it, so `<host>` resolves inside the instance (and
`<host>.<namespace>.svc` from the cluster) straight to the pod's address: every port of the pod is
addressable by name, and NetworkPolicies, not the Service, decide what passes. An entry host also gets an
`<host>-entry` Service of the range's access type (NodePort or LoadBalancer, `externalTrafficPolicy:
Local` so the entry NetworkPolicy sees the team's real source address).

Pods never get a service-account token (`automountServiceAccountToken: false`) nor service-link
environment variables: a team that owns a host must not be able to talk to the Kubernetes API or learn
about other services.
"""

from __future__ import annotations

from typing import Any

from connectors.base import LABEL_HOST, LABEL_INSTANCE, LABEL_SEGMENT, InstanceSpec
from connectors.kubernetes.images import image_of
from connectors.kubernetes.injection import Injection
from connectors.kubernetes.naming import (
    ANNOTATION_CONFIG_DIGEST,
    entry_service_name,
    port_name,
    segment_label,
)
from connectors.kubernetes.network import AccessMode
from connectors.kubernetes.security import container_security_context, pod_security_context
from connectors.kubernetes.tenancy import GPU_RESOURCE, cpu, memory
from scenarios.model import Host, Readiness


def pod_labels(instance: InstanceSpec, host: Host) -> dict[str, str]:
    """Instance labels, the host, its primary segment (informational) and one membership label per
    segment (what NetworkPolicies select on)."""
    labels = {**instance.labels(), LABEL_HOST: host.name, LABEL_SEGMENT: host.segments[0]}
    for segment in host.segments:
        labels[segment_label(segment)] = "true"
    return labels


def selector(instance: InstanceSpec, host: Host) -> dict[str, str]:
    return {LABEL_INSTANCE: instance.instance_id, LABEL_HOST: host.name}


def _named_ports(host: Host) -> list[tuple[str, int, str]]:
    """(name, port, protocol); the scenario's names when they are unique, generated ones otherwise."""
    given = [p.name for p in host.ports]
    use_given = all(given) and len(set(given)) == len(given)
    return [
        (p.name if use_given and p.name else port_name(p.port, p.protocol.value), p.port, p.protocol.value)
        for p in host.ports
    ]


def _probe(readiness: Readiness) -> dict[str, Any]:
    probe: dict[str, Any]
    if readiness.tcp_port is not None:
        probe = {"tcpSocket": {"port": readiness.tcp_port}}
    elif readiness.http is not None:
        probe = {"httpGet": {"path": readiness.http.path, "port": readiness.http.port}}
    else:
        probe = {"exec": {"command": list(readiness.exec or [])}}
    probe.update(
        {
            "initialDelaySeconds": readiness.initial_delay_seconds,
            "periodSeconds": readiness.period_seconds,
            "timeoutSeconds": readiness.timeout_seconds,
            "failureThreshold": readiness.failure_threshold,
        }
    )
    return probe


def _resources(host: Host) -> dict[str, Any]:
    requests = host.resources.requests
    limits = host.resources.reserved
    out: dict[str, Any] = {
        "requests": {"cpu": cpu(requests.cpu_millicores), "memory": memory(requests.memory_mib)},
        "limits": {"cpu": cpu(limits.cpu_millicores), "memory": memory(limits.memory_mib)},
    }
    if host.resources.gpus:
        out["limits"][GPU_RESOURCE] = str(host.resources.gpus)
        out["requests"][GPU_RESOURCE] = str(host.resources.gpus)
    return out


def _scenario_volumes(host: Host) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    volumes, mounts = [], []
    for volume in host.volumes:
        name = f"vol-{volume.name}"
        if volume.host_path is not None:
            volumes.append({"name": name, "hostPath": {"path": volume.host_path}})
        else:
            volumes.append({"name": name, "emptyDir": {"sizeLimit": memory(volume.size_mib)}})
        mounts.append({"name": name, "mountPath": volume.mount_path})
    return volumes, mounts


def deployment(
    instance: InstanceSpec, host: Host, *, namespace: str, injected: Injection, registry: str = ""
) -> dict[str, Any]:
    container: dict[str, Any] = {
        "name": host.name,
        "image": image_of(host, registry=registry),
        "imagePullPolicy": "IfNotPresent",
        "resources": _resources(host),
        "securityContext": container_security_context(host),
    }
    if injected.command is not None:
        container["command"] = injected.command
    if injected.args is not None:
        container["args"] = injected.args
    if injected.env:
        container["env"] = injected.env
    if host.ports:
        container["ports"] = [
            {"name": name, "containerPort": port, "protocol": protocol}
            for name, port, protocol in _named_ports(host)
        ]
    if host.readiness is not None:
        container["readinessProbe"] = _probe(host.readiness)
    volumes, mounts = _scenario_volumes(host)
    volumes += injected.volumes
    mounts += injected.mounts
    if mounts:
        container["volumeMounts"] = mounts

    pod_spec: dict[str, Any] = {
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "terminationGracePeriodSeconds": host.termination_grace_seconds,
        "securityContext": pod_security_context(host),
        "containers": [container],
    }
    if host.security.host_network:
        pod_spec["hostNetwork"] = True
    else:
        pod_spec["hostname"] = host.name
    if host.security.host_pid:
        pod_spec["hostPID"] = True
    if volumes:
        pod_spec["volumes"] = volumes

    labels = pod_labels(instance, host)
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": host.name, "namespace": namespace, "labels": labels},
        "spec": {
            "replicas": 1,
            "revisionHistoryLimit": 1,
            "strategy": {"type": "Recreate"},
            "selector": {"matchLabels": selector(instance, host)},
            "template": {
                "metadata": {
                    "labels": dict(labels),
                    "annotations": {ANNOTATION_CONFIG_DIGEST: injected.digest},
                },
                "spec": pod_spec,
            },
        },
    }


def services(
    instance: InstanceSpec, host: Host, *, namespace: str, access: AccessMode
) -> list[dict[str, Any]]:
    labels = {**instance.labels(), LABEL_HOST: host.name}
    ports = [
        {"name": name, "port": port, "targetPort": port, "protocol": protocol}
        for name, port, protocol in _named_ports(host)
    ]
    internal: dict[str, Any] = {"clusterIP": "None", "selector": selector(instance, host)}
    if ports:
        internal["ports"] = ports
    out = [
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": host.name, "namespace": namespace, "labels": labels},
            "spec": internal,
        }
    ]
    if host.entry and ports and access is not AccessMode.NONE:
        out.append(
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {
                    "name": entry_service_name(host.name),
                    "namespace": namespace,
                    "labels": {**labels, "federange.eu/entry": "true"},
                },
                "spec": {
                    "type": access.value,
                    "externalTrafficPolicy": "Local",
                    "selector": selector(instance, host),
                    "ports": ports,
                },
            }
        )
    return out
