"""Admission in the API double: what a real API server refuses when an object is created.

- namespaced objects need an existing namespace that is not terminating (404 / 403);
- ResourceQuota: a pod must declare requests and limits for every quota'd cpu/memory resource, and the
  namespace's pods together must stay within `hard` (pods, requests.*, limits.*) - "exceeded quota";
- Pod Security admission, for the level in the namespace's `pod-security.kubernetes.io/enforce` label:
  every control of the Pod Security Standards (tests/support/pod_security.py, which the chart's tests
  apply too).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from kubernetes.utils import parse_quantity

from tests.support import pod_security
from tests.support.kube_api.store import Store


class Refused(Exception):
    def __init__(self, code: int, reason: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message


def namespace_open(store: Store, namespace: str) -> dict[str, Any]:
    entry = store.get(("Namespace", None, namespace))
    if entry is None:
        raise Refused(404, "NotFound", f'namespaces "{namespace}" not found')
    if entry.obj["metadata"].get("deletionTimestamp"):
        raise Refused(
            403,
            "Forbidden",
            f"unable to create new content in namespace {namespace} because it is being terminated",
        )
    return entry.obj


def _sum(pod: dict[str, Any], section: str, resource: str) -> Decimal:
    total = Decimal(0)
    for container in pod.get("spec", {}).get("containers") or []:
        value = ((container.get("resources") or {}).get(section) or {}).get(resource)
        if value is not None:
            total += parse_quantity(value)
    return total


def check_quota(store: Store, pod: dict[str, Any]) -> None:
    namespace = pod["metadata"]["namespace"]
    quotas = store.items("ResourceQuota", namespace)
    if not quotas:
        return
    live = [
        p
        for p in store.items("Pod", namespace)
        if (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")
        and p["metadata"]["name"] != pod["metadata"]["name"]
    ]
    for quota in quotas:
        hard = (quota.get("spec") or {}).get("hard") or {}
        name = quota["metadata"]["name"]
        for key, limit in sorted(hard.items()):
            if key == "pods":
                used, asked = Decimal(len(live)), Decimal(1)
            elif key.startswith(("requests.", "limits.")) and key.split(".", 1)[1] in ("cpu", "memory"):
                section, resource = key.split(".", 1)
                for container in pod.get("spec", {}).get("containers") or []:
                    if ((container.get("resources") or {}).get(section) or {}).get(resource) is None:
                        raise Refused(
                            403,
                            "Forbidden",
                            f"failed quota: {name}: must specify {key}",
                        )
                used = sum((_sum(p, section, resource) for p in live), Decimal(0))
                asked = _sum(pod, section, resource)
            else:
                continue
            if used + asked > parse_quantity(limit):
                raise Refused(
                    403,
                    "Forbidden",
                    f"exceeded quota: {name}, requested: {key}={asked}, used: {key}={used}, "
                    f"limited: {key}={limit}",
                )


def check_pod_security(store: Store, pod: dict[str, Any]) -> None:
    namespace = store.get(("Namespace", None, pod["metadata"]["namespace"]))
    labels = (namespace.obj["metadata"].get("labels") or {}) if namespace else {}
    level = labels.get("pod-security.kubernetes.io/enforce", "privileged")
    if level == "privileged":
        return
    problems = pod_security.violations(pod.get("spec") or {}, level, metadata=pod.get("metadata"))
    if problems:
        raise Refused(
            403,
            "Forbidden",
            f'violates PodSecurity "{level}:latest": ' + ", ".join(problems),
        )


def admit_pod(store: Store, pod: dict[str, Any]) -> None:
    namespace_open(store, pod["metadata"]["namespace"])
    check_pod_security(store, pod)
    check_quota(store, pod)
