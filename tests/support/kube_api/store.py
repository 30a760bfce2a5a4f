"""The API double's object store: objects by (kind, namespace, name), one resourceVersion counter, and an
event log that watches read from (so a watch from resourceVersion N sees every change after N, and a
watch from a version older than the log answers 410 Gone, as etcd compaction makes a real server do).
"""

from __future__ import annotations

import bisect
import copy
import datetime
import itertools
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

Key = tuple[str, str | None, str]


@dataclass(frozen=True)
class ResourceType:
    kind: str
    group_version: str  # "v1", "apps/v1", ...
    plural: str
    namespaced: bool
    has_status: bool = False

    @property
    def group(self) -> str:
        """The API group RBAC names ("" for the core group)."""
        return self.group_version.rpartition("/")[0]

    @property
    def prefix(self) -> str:
        return "/api/v1" if self.group_version == "v1" else f"/apis/{self.group_version}"


RESOURCES = [
    ResourceType("Namespace", "v1", "namespaces", False, True),
    ResourceType("Node", "v1", "nodes", False, True),
    ResourceType("Pod", "v1", "pods", True, True),
    ResourceType("Event", "v1", "events", True),
    ResourceType("Service", "v1", "services", True, True),
    ResourceType("ConfigMap", "v1", "configmaps", True),
    ResourceType("Secret", "v1", "secrets", True),
    ResourceType("ServiceAccount", "v1", "serviceaccounts", True),
    ResourceType("ResourceQuota", "v1", "resourcequotas", True, True),
    ResourceType("LimitRange", "v1", "limitranges", True),
    ResourceType("Deployment", "apps/v1", "deployments", True, True),
    ResourceType("NetworkPolicy", "networking.k8s.io/v1", "networkpolicies", True),
]
BY_KIND = {r.kind: r for r in RESOURCES}
BY_PATH = {(r.prefix, r.plural): r for r in RESOURCES}


def now() -> str:
    return datetime.datetime.now(tz=datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Change:
    version: int
    kind: str
    type: str  # ADDED | MODIFIED | DELETED
    obj: dict[str, Any]


@dataclass
class Entry:
    obj: dict[str, Any]
    applied: dict[str, dict[str, Any]] = field(default_factory=dict)  # field manager -> last config


class Store:
    def __init__(self, *, history: int = 20_000) -> None:
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)
        self.objects: dict[Key, Entry] = {}
        self.version = 0
        self.history = history
        self.log: list[Change] = []
        self._names = itertools.count(1)
        self.listeners: list[Callable[[Change], None]] = []

    def key(self, obj: dict[str, Any]) -> Key:
        meta = obj["metadata"]
        namespaced = BY_KIND[obj["kind"]].namespaced
        return obj["kind"], meta.get("namespace") if namespaced else None, meta["name"]

    def get(self, key: Key) -> Entry | None:
        with self.lock:
            return self.objects.get(key)

    def items(self, kind: str, namespace: str | None = None) -> list[dict[str, Any]]:
        with self.lock:
            chosen = [
                (key, e.obj)
                for key, e in self.objects.items()
                if key[0] == kind and (namespace is None or key[1] == namespace)
            ]
        return [obj for _, obj in sorted(chosen, key=lambda pair: (pair[0][1] or "", pair[0][2]))]

    def _record(self, kind: str, change_type: str, obj: dict[str, Any]) -> Change:
        change = Change(self.version, kind, change_type, copy.deepcopy(obj))
        self.log.append(change)
        if len(self.log) > 2 * self.history:
            del self.log[: len(self.log) - self.history]
        self.changed.notify_all()
        for listener in self.listeners:
            listener(change)
        return change

    def put(self, obj: dict[str, Any], *, applied: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
        """Create or replace `obj` (server fields filled in), bump its resourceVersion, log the change."""
        with self.lock:
            key = self.key(obj)
            existing = self.objects.get(key)
            meta = obj.setdefault("metadata", {})
            self.version += 1
            meta["resourceVersion"] = str(self.version)
            if existing is None:
                meta["uid"] = str(uuid.uuid4())
                meta["creationTimestamp"] = now()
                meta["generation"] = 1
            else:
                old_meta = existing.obj["metadata"]
                meta["uid"] = old_meta["uid"]
                meta["creationTimestamp"] = old_meta["creationTimestamp"]
                generation = int(old_meta.get("generation", 1))
                if existing.obj.get("spec") != obj.get("spec"):
                    generation += 1
                meta["generation"] = generation
            entry = Entry(
                obj=obj, applied=applied if applied is not None else (existing.applied if existing else {})
            )
            self.objects[key] = entry
            self._record(obj["kind"], "ADDED" if existing is None else "MODIFIED", obj)
            return obj

    def remove(self, key: Key) -> dict[str, Any] | None:
        with self.lock:
            entry = self.objects.pop(key, None)
            if entry is None:
                return None
            self.version += 1
            entry.obj["metadata"]["resourceVersion"] = str(self.version)
            self._record(key[0], "DELETED", entry.obj)
            return entry.obj

    def unique_name(self, prefix: str) -> str:
        return f"{prefix}{next(self._names):05x}"

    def changes_after(self, version: int) -> tuple[list[Change], bool]:
        """Changes with a version above `version`, and False when the log no longer reaches back there."""
        with self.lock:
            if self.log and version < self.log[0].version - 1 and version < self.version:
                return [], False
            start = bisect.bisect_right(self.log, version, key=lambda c: c.version)
            return self.log[start:], True

    def wait(self, version: int, timeout: float) -> None:
        with self.changed:
            if self.version <= version:
                self.changed.wait(timeout)

    def snapshot(self) -> Iterator[dict[str, Any]]:
        with self.lock:
            return iter([copy.deepcopy(e.obj) for e in self.objects.values()])
