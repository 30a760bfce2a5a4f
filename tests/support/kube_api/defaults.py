"""What the API double does to every written object before storing it: server-owned fields (status,
deletionTimestamp), defaults and allocations (namespace name label, Service cluster IPs and node ports,
LoadBalancer addresses, quota status), then validation - names, Deployment selectors (matching their
template and immutable) and, unless switched off, the official JSON schema (strict)."""

from __future__ import annotations

import copy
import ipaddress
import itertools
import json
import re
from typing import Any

from tests.support.kube_api import schema
from tests.support.kube_api.selectors import match_label_selector
from tests.support.kube_api.status import Fail
from tests.support.kube_api.store import BY_KIND

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
_LABEL_NAMES = {"Namespace", "Service"}  # kinds whose names must be DNS labels (<= 63)


class Defaults:
    def __init__(self, *, validate: bool) -> None:
        self.validate = validate
        self._cluster_ips = itertools.count(10)
        self._node_ports = itertools.count(30000)

    def prepare(self, obj: dict[str, Any], old: dict[str, Any] | None) -> dict[str, Any]:
        """Server-owned fields, defaults and allocations, then validation."""
        kind, meta = obj["kind"], obj["metadata"]
        name = meta["name"]
        pattern = _DNS_LABEL if kind in _LABEL_NAMES else _DNS_SUBDOMAIN
        limit = 63 if kind in _LABEL_NAMES else 253
        if not pattern.match(name) or len(name) > limit:
            raise Fail(
                422,
                "Invalid",
                f'{kind} "{name}" is invalid: metadata.name: Invalid value: "{name}": '
                f"must be a lowercase RFC 1123 {'label' if limit == 63 else 'subdomain'} "
                f"of at most {limit} characters",
            )
        if BY_KIND[kind].has_status:
            obj.pop("status", None)
            if old is not None and "status" in old:
                obj["status"] = copy.deepcopy(old["status"])
        if old is not None and old["metadata"].get("deletionTimestamp"):
            meta["deletionTimestamp"] = old["metadata"]["deletionTimestamp"]
        if kind == "Namespace":
            meta.setdefault("labels", {})["kubernetes.io/metadata.name"] = name
            obj.setdefault("spec", {"finalizers": ["kubernetes"]})
            obj.setdefault("status", {"phase": "Active"})
        elif kind == "Service":
            self._allocate(obj, old)
        elif kind == "ResourceQuota":
            obj["status"] = {"hard": copy.deepcopy((obj.get("spec") or {}).get("hard") or {}), "used": {}}
        elif kind == "Deployment":
            self._check_deployment(obj, old)
        if self.validate:
            try:
                schema.validate(obj)
            except schema.SchemaError as exc:
                raise Fail(422, "Invalid", f'{kind} "{name}" is invalid: {exc}') from exc
        return obj

    def _check_deployment(self, obj: dict[str, Any], old: dict[str, Any] | None) -> None:
        spec = obj.get("spec") or {}
        name = obj["metadata"]["name"]
        selector = spec.get("selector") or {}
        labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
        if not selector or not match_label_selector(selector, labels):
            raise Fail(
                422,
                "Invalid",
                f'Deployment.apps "{name}" is invalid: spec.template.metadata.labels: '
                f"Invalid value: {json.dumps(labels)}: `selector` does not match template `labels`",
            )
        if old is not None and (old.get("spec") or {}).get("selector") != selector:
            raise Fail(
                422,
                "Invalid",
                f'Deployment.apps "{name}" is invalid: spec.selector: Invalid value: '
                f"{json.dumps(selector)}: field is immutable",
            )

    def _allocate(self, obj: dict[str, Any], old: dict[str, Any] | None) -> None:
        spec = obj.setdefault("spec", {})
        old_spec = (old or {}).get("spec") or {}
        spec.setdefault("type", "ClusterIP")
        if spec.get("clusterIP") != "None":
            spec["clusterIP"] = (
                old_spec.get("clusterIP")
                if old_spec.get("clusterIP") not in (None, "None")
                else str(ipaddress.ip_address("10.96.0.0") + next(self._cluster_ips))
            )
        if spec["type"] in ("NodePort", "LoadBalancer"):
            previous = {
                (p.get("port"), p.get("protocol", "TCP")): p.get("nodePort")
                for p in old_spec.get("ports") or []
            }
            for port in spec.get("ports") or []:
                port.setdefault("protocol", "TCP")
                port.setdefault(
                    "nodePort", previous.get((port["port"], port["protocol"])) or next(self._node_ports)
                )
        if spec["type"] == "LoadBalancer":
            obj["status"] = {
                "loadBalancer": {"ingress": [{"ip": f"203.0.113.{next(self._cluster_ips) % 250 + 1}"}]}
            }
        else:
            obj.setdefault("status", {"loadBalancer": {}})
