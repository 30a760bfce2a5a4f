"""The tenancy boundary of one instance: its Namespace, a ResourceQuota equal to what was booked, and a
LimitRange.

The quota is the booking made concrete: `requests.*` and `limits.*` are both the scenario's footprint
(the hosts' reserved cpu/memory, i.e. limits where declared, else requests) and `pods` is the number of
hosts. Every rendered container declares requests and limits, so the quota admits exactly the instance
and nothing more: a pod started by hand in the namespace, or a second replica, is refused by the API.
"""

from __future__ import annotations

from typing import Any

from connectors.base import InstanceSpec
from connectors.kubernetes.naming import ANNOTATION_HOSTS, ANNOTATION_SCENARIO_REF
from connectors.kubernetes.security import PodSecurityLevel
from scenarios.footprint import footprint

GPU_RESOURCE = "nvidia.com/gpu"
QUOTA_NAME = "booked-footprint"
LIMIT_RANGE_NAME = "container-defaults"


def cpu(millicores: int) -> str:
    return f"{millicores}m"


def memory(mib: int) -> str:
    return f"{mib}Mi"


def namespace(instance: InstanceSpec, *, name: str, level: PodSecurityLevel) -> dict[str, Any]:
    labels = {
        **instance.labels(),
        "pod-security.kubernetes.io/enforce": level.value,
        "pod-security.kubernetes.io/enforce-version": "latest",
        "pod-security.kubernetes.io/warn": level.value,
        "pod-security.kubernetes.io/audit": level.value,
    }
    annotations = {
        ANNOTATION_SCENARIO_REF: instance.scenario.ref,
        ANNOTATION_HOSTS: ",".join(sorted(h.name for h in instance.scenario.spec.hosts)),
    }
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": name, "labels": labels, "annotations": annotations},
    }


def resource_quota(
    instance: InstanceSpec, *, namespace: str, node_ports: int, load_balancers: int
) -> dict[str, Any]:
    booked = footprint(instance.scenario)
    hard = {
        "pods": str(booked.hosts),
        "requests.cpu": cpu(booked.cpu_millicores),
        "limits.cpu": cpu(booked.cpu_millicores),
        "requests.memory": memory(booked.memory_mib),
        "limits.memory": memory(booked.memory_mib),
        "services.nodeports": str(node_ports),
        "services.loadbalancers": str(load_balancers),
        "persistentvolumeclaims": "0",
    }
    if booked.gpus:
        hard[f"requests.{GPU_RESOURCE}"] = str(booked.gpus)
    return {
        "apiVersion": "v1",
        "kind": "ResourceQuota",
        "metadata": {"name": QUOTA_NAME, "namespace": namespace, "labels": instance.labels()},
        "spec": {"hard": hard},
    }


def limit_range(instance: InstanceSpec, *, namespace: str) -> dict[str, Any]:
    """Defaults for a container that declares nothing (none of ours; a guard for anything else) and a
    per-container ceiling of the largest host, so no single container can take the whole quota."""
    hosts = instance.scenario.spec.hosts
    reserved = [h.resources.reserved for h in hosts]
    requests = [h.resources.requests for h in hosts]
    return {
        "apiVersion": "v1",
        "kind": "LimitRange",
        "metadata": {"name": LIMIT_RANGE_NAME, "namespace": namespace, "labels": instance.labels()},
        "spec": {
            "limits": [
                {
                    "type": "Container",
                    "max": {
                        "cpu": cpu(max(r.cpu_millicores for r in reserved)),
                        "memory": memory(max(r.memory_mib for r in reserved)),
                    },
                    "default": {
                        "cpu": cpu(min(r.cpu_millicores for r in reserved)),
                        "memory": memory(min(r.memory_mib for r in reserved)),
                    },
                    "defaultRequest": {
                        "cpu": cpu(min(r.cpu_millicores for r in requests)),
                        "memory": memory(min(r.memory_mib for r in requests)),
                    },
                }
            ]
        },
    }
