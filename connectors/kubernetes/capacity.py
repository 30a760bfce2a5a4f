"""Observed capacity of a cluster: what schedulable nodes offer, minus what running pods requested.

Only nodes an instance pod can land on count: Ready, not cordoned, and without NoSchedule/NoExecute
taints (instance pods carry no tolerations). Requests, not usage, are subtracted, because the scheduler
admits pods by requests: that is the room a new instance actually has. Free capacity is summed per node
and floored at zero on each, so one overcommitted node does not hide another's room.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from kubernetes.utils import parse_quantity as _parse_quantity

from connectors.kubernetes.tenancy import GPU_RESOURCE

_MIB = Decimal(1024 * 1024)
#: The client library's own Kubernetes quantity parser ("1500m", "16Gi", "1e3"), typed.
parse_quantity: Callable[[str], Decimal] = _parse_quantity


@dataclass(frozen=True, kw_only=True)
class Amounts:
    cpu_millicores: int = 0
    memory_mib: int = 0
    gpus: int = 0

    def minus(self, other: Amounts) -> Amounts:
        return Amounts(
            cpu_millicores=max(0, self.cpu_millicores - other.cpu_millicores),
            memory_mib=max(0, self.memory_mib - other.memory_mib),
            gpus=max(0, self.gpus - other.gpus),
        )

    def plus(self, other: Amounts) -> Amounts:
        return Amounts(
            cpu_millicores=self.cpu_millicores + other.cpu_millicores,
            memory_mib=self.memory_mib + other.memory_mib,
            gpus=self.gpus + other.gpus,
        )


def amounts(resources: dict[str, Any]) -> Amounts:
    """A `{cpu, memory, nvidia.com/gpu}` quantity map as millicores, MiB and GPUs (rounded down)."""

    def quantity(key: str) -> Decimal:
        value = resources.get(key)
        return parse_quantity(value) if value is not None else Decimal(0)

    return Amounts(
        cpu_millicores=int(quantity("cpu") * 1000),
        memory_mib=int(quantity("memory") / _MIB),
        gpus=int(quantity(GPU_RESOURCE)),
    )


def schedulable(node: dict[str, Any]) -> bool:
    spec = node.get("spec") or {}
    if spec.get("unschedulable"):
        return False
    if any(t.get("effect") in ("NoSchedule", "NoExecute") for t in spec.get("taints") or []):
        return False
    conditions = (node.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def pod_requests(pod: dict[str, Any]) -> Amounts:
    total = Amounts()
    for container in (pod.get("spec") or {}).get("containers") or []:
        total = total.plus(amounts((container.get("resources") or {}).get("requests") or {}))
    return total


def observed(nodes: Sequence[dict[str, Any]], pods: Sequence[dict[str, Any]]) -> tuple[Amounts, Amounts]:
    """(total allocatable, free) over the schedulable nodes."""
    requested: dict[str, Amounts] = {}
    for pod in pods:
        node_name = (pod.get("spec") or {}).get("nodeName")
        phase = (pod.get("status") or {}).get("phase")
        if not node_name or phase in ("Succeeded", "Failed"):
            continue
        requested[node_name] = requested.get(node_name, Amounts()).plus(pod_requests(pod))
    total = free = Amounts()
    for node in nodes:
        if not schedulable(node):
            continue
        name = (node.get("metadata") or {}).get("name", "")
        allocatable = amounts((node.get("status") or {}).get("allocatable") or {})
        total = total.plus(allocatable)
        free = free.plus(allocatable.minus(requested.get(name, Amounts())))
    return total, free
