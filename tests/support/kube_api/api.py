"""The REST semantics of the API double: the real paths and verbs, JSON in and out, Status errors.

Served: discovery (`/version`, `/api`, `/apis`), get, list (labelSelector, fieldSelector), watch (from a
resourceVersion, with timeoutSeconds; 410 Gone past the history), create (POST), replace (PUT),
server-side apply (PATCH application/apply-patch+yaml with fieldManager and force), merge patch (PATCH
application/merge-patch+json; strategic merge patch is treated as a merge patch) and delete, for the
kinds in `store.RESOURCES`. Every write is validated against the official schema (strict) and a few
semantic rules a real server enforces (names, Deployment selectors matching and immutable), then
admitted (namespace exists and is not terminating; quota and Pod Security for pods).

As a real server: the items of a list carry no `kind` or `apiVersion` (only the list does); requests
made with a token are authorised by RBAC first (rbac.py: server-side apply of an absent object needs
`create` besides `patch`), and SelfSubjectAccessReview answers from the same rules.
"""

from __future__ import annotations

import copy
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import yaml

from tests.support.kube_api import merging
from tests.support.kube_api.admission import Refused, admit_pod, namespace_open
from tests.support.kube_api.cluster import Cluster
from tests.support.kube_api.defaults import Defaults
from tests.support.kube_api.rbac import Attributes, Authorizer, access_review, verb_of
from tests.support.kube_api.selectors import SelectorError, field_matcher, label_matcher
from tests.support.kube_api.status import Fail, status_body
from tests.support.kube_api.store import BY_KIND, BY_PATH, ResourceType, Store, now

KUBERNETES_VERSION = {
    "major": "1",
    "minor": "33",
    "gitVersion": "v1.33.1-federange-double",
    "platform": "linux/amd64",
}


#: SelfSubjectAccessReview: what may I do? (open to every authenticated user, see rbac.py)
ACCESS_REVIEW_PATH = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"


def _item(obj: dict[str, Any]) -> dict[str, Any]:
    """An object as a list response carries it: without `kind` and `apiVersion`."""
    item = copy.deepcopy(obj)
    item.pop("kind", None)
    item.pop("apiVersion", None)
    return item


@dataclass
class Reply:
    code: int
    body: dict[str, Any]


@dataclass
class Stream:
    events: Iterator[dict[str, Any]]
    headers: dict[str, str] = field(default_factory=dict)


class KubeApi:
    def __init__(self, store: Store, cluster: Cluster, *, validate: bool = True) -> None:
        self.store = store
        self.cluster = cluster
        self.defaults = Defaults(validate=validate)
        self.authorizer = Authorizer()
        self.stopping = threading.Event()

    # -- routing ------------------------------------------------------------------------------------

    def handle(
        self,
        method: str,
        path: str,
        query: dict[str, list[str]],
        content_type: str,
        body: bytes,
        *,
        token: str | None = None,
    ) -> Reply | Stream:
        """One request; `token` None: the double itself (no authorisation)."""

        def q(name: str, default: str = "") -> str:
            return query.get(name, [default])[0]

        def authorise(kind: ResourceType, verb: str, **where: str) -> None:
            if token is not None:
                self.authorizer.require(
                    token, Attributes(verb=verb, group=kind.group, resource=kind.plural, **where)
                )

        if path == "/version":
            return Reply(200, dict(KUBERNETES_VERSION))
        if path == "/api":
            return Reply(200, {"kind": "APIVersions", "versions": ["v1"]})
        if path == "/apis":
            groups = sorted({r.group_version for r in BY_KIND.values() if r.group_version != "v1"})
            return Reply(
                200,
                {
                    "kind": "APIGroupList",
                    "apiVersion": "v1",
                    "groups": [
                        {
                            "name": gv.split("/")[0],
                            "versions": [{"groupVersion": gv, "version": gv.split("/")[1]}],
                            "preferredVersion": {"groupVersion": gv, "version": gv.split("/")[1]},
                        }
                        for gv in groups
                    ],
                },
            )
        if path == ACCESS_REVIEW_PATH and method == "POST":
            return Reply(
                201, access_review(self.authorizer, token or "", self._decode(body, content_type) or {})
            )
        parts = [p for p in path.split("/") if p]
        if len(parts) >= 2 and parts[0] == "api":
            prefix, rest = f"/api/{parts[1]}", parts[2:]
        elif len(parts) >= 3 and parts[0] == "apis":
            prefix, rest = f"/apis/{parts[1]}/{parts[2]}", parts[3:]
        else:
            raise Fail(404, "NotFound", f"the server could not find the requested resource ({path})")
        namespace: str | None = None
        if len(rest) >= 3 and rest[0] == "namespaces" and rest[2] not in ("status", "finalize"):
            namespace, rest = rest[1], rest[2:]
        if not rest:
            return Reply(
                200,
                {
                    "kind": "APIResourceList",
                    "groupVersion": prefix.split("/", 2)[-1],
                    "resources": [
                        {"name": r.plural, "kind": r.kind, "namespaced": r.namespaced}
                        for r in BY_KIND.values()
                        if r.prefix == prefix
                    ],
                },
            )
        rtype = BY_PATH.get((prefix, rest[0]))
        if rtype is None:
            raise Fail(404, "NotFound", f"the server could not find the requested resource ({path})")
        name = rest[1] if len(rest) > 1 else None
        subresource = rest[2] if len(rest) > 2 else None
        if rtype.namespaced and name is not None and namespace is None:
            raise Fail(404, "NotFound", f"the server could not find the requested resource ({path})")
        authorise(
            rtype,
            verb_of(method, named=name is not None, watch=q("watch") in ("true", "1")),
            subresource=subresource or "",
            namespace=namespace or "",
            name=name or "",
        )

        if method == "GET" and name is None:
            if q("watch") in ("true", "1"):
                return self._watch(rtype, namespace, query)
            return Reply(200, self._list(rtype, namespace, q("labelSelector"), q("fieldSelector")))
        if method == "GET":
            return Reply(200, self._get(rtype, namespace, name or ""))
        data = self._decode(body, content_type)
        if method == "POST" and name is None:
            return Reply(201, self._create(rtype, namespace, data))
        if name is None:
            raise Fail(405, "MethodNotAllowed", f"{method} is not supported on a collection here")
        if method == "PUT":
            return Reply(
                200, self._replace(rtype, namespace, name, data, status_only=subresource == "status")
            )
        if method == "PATCH":
            if content_type.startswith("application/apply-patch"):
                manager = q("fieldManager")
                if not manager:
                    raise Fail(400, "BadRequest", "fieldManager is required for apply requests")
                return self._apply(
                    rtype,
                    namespace,
                    name,
                    data,
                    manager=manager,
                    force=q("force") == "true",
                    may_create=lambda: authorise(rtype, "create", namespace=namespace or "", name=name),
                )
            if content_type.startswith(
                ("application/merge-patch+json", "application/strategic-merge-patch+json")
            ):
                return Reply(
                    200, self._merge(rtype, namespace, name, data, manager=q("fieldManager") or "unknown")
                )
            raise Fail(
                415,
                "UnsupportedMediaType",
                f"the body of the request was in an unknown format: {content_type}",
            )
        if method == "DELETE":
            return Reply(200, self._delete(rtype, namespace, name))
        raise Fail(405, "MethodNotAllowed", f"{method} is not allowed")

    @staticmethod
    def _decode(body: bytes, content_type: str) -> Any:
        if not body:
            return {}
        try:
            return json.loads(body)  # JSON is YAML too, and what clients send for apply patches
        except ValueError:
            if "yaml" not in content_type:
                raise Fail(400, "BadRequest", "the request body is not valid JSON") from None
        try:
            return yaml.load(body, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        except yaml.YAMLError as exc:
            raise Fail(400, "BadRequest", f"the request body is not valid: {exc}") from exc

    # -- reads --------------------------------------------------------------------------------------

    def _get(self, rtype: ResourceType, namespace: str | None, name: str) -> dict[str, Any]:
        entry = self.store.get((rtype.kind, namespace if rtype.namespaced else None, name))
        if entry is None:
            raise Fail(404, "NotFound", f'{rtype.plural} "{name}" not found')
        return copy.deepcopy(entry.obj)

    def _matcher(self, label_selector: str, field_selector: str) -> Any:
        try:
            labels = label_matcher(label_selector)
            fields = field_matcher(field_selector)
        except SelectorError as exc:
            raise Fail(400, "BadRequest", str(exc)) from exc
        return lambda obj: labels(obj["metadata"].get("labels") or {}) and fields(obj)

    def _list(
        self, rtype: ResourceType, namespace: str | None, label_selector: str, field_selector: str
    ) -> dict[str, Any]:
        matches = self._matcher(label_selector, field_selector)
        with self.store.lock:
            items = [_item(o) for o in self.store.items(rtype.kind, namespace) if matches(o)]
            version = self.store.version
        return {
            "kind": f"{rtype.kind}List",
            "apiVersion": rtype.group_version,
            "metadata": {"resourceVersion": str(version)},
            "items": items,
        }

    def _watch(self, rtype: ResourceType, namespace: str | None, query: dict[str, list[str]]) -> Stream:
        matches = self._matcher(query.get("labelSelector", [""])[0], query.get("fieldSelector", [""])[0])
        timeout = min(float(query.get("timeoutSeconds", ["1800"])[0] or 1800), 1800.0)
        since = query.get("resourceVersion", [""])[0]

        def in_scope(kind: str, obj: dict[str, Any]) -> bool:
            return (
                kind == rtype.kind
                and (namespace is None or obj["metadata"].get("namespace") == namespace)
                and bool(matches(obj))
            )

        def events() -> Iterator[dict[str, Any]]:
            with self.store.lock:
                if since in ("", "0"):
                    version = self.store.version
                    initial = [
                        copy.deepcopy(o) for o in self.store.items(rtype.kind, namespace) if matches(o)
                    ]
                else:
                    version, initial = int(since), []
            for obj in initial:
                yield {"type": "ADDED", "object": obj}
            deadline = time.monotonic() + timeout
            while not self.stopping.is_set():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return
                changes, reachable = self.store.changes_after(version)
                if not reachable:
                    yield {
                        "type": "ERROR",
                        "object": status_body(410, "Expired", f"too old resource version: {version}"),
                    }
                    return
                for change in changes:
                    version = change.version
                    if in_scope(change.kind, change.obj):
                        yield {"type": change.type, "object": copy.deepcopy(change.obj)}
                if not changes:
                    self.store.wait(version, min(remaining, 0.5))

        return Stream(events())

    # -- writes -------------------------------------------------------------------------------------

    def _identify(
        self, rtype: ResourceType, namespace: str | None, name: str | None, data: Any
    ) -> dict[str, Any]:
        if not isinstance(data, dict):
            raise Fail(400, "BadRequest", "the request body must be a JSON object")
        obj = copy.deepcopy(data)
        obj.setdefault("apiVersion", rtype.group_version)
        obj.setdefault("kind", rtype.kind)
        if obj["kind"] != rtype.kind or obj["apiVersion"] != rtype.group_version:
            raise Fail(
                400,
                "BadRequest",
                f"the body is a {obj['apiVersion']} {obj['kind']}, not a {rtype.group_version} {rtype.kind}",
            )
        meta = obj.setdefault("metadata", {})
        if name is not None and meta.get("name", name) != name:
            raise Fail(400, "BadRequest", "the name of the object does not match the name on the URL")
        if name is not None:
            meta["name"] = name
        if not meta.get("name"):
            raise Fail(
                422,
                "Invalid",
                f"{rtype.kind}: metadata.name: Required value: name or generateName is required",
            )
        if rtype.namespaced:
            if meta.get("namespace", namespace) != namespace:
                raise Fail(
                    400,
                    "BadRequest",
                    "the namespace of the provided object does not match the namespace sent on the request",
                )
            meta["namespace"] = namespace
        else:
            meta.pop("namespace", None)
        return obj

    def _managed(self, obj: dict[str, Any], old: dict[str, Any] | None, manager: str, operation: str) -> None:
        fields = [
            f
            for f in ((old or {}).get("metadata") or {}).get("managedFields") or []
            if f.get("manager") != manager
        ]
        fields.append(
            {
                "manager": manager,
                "operation": operation,
                "apiVersion": obj["apiVersion"],
                "time": now(),
                "fieldsType": "FieldsV1",
                "fieldsV1": {},
            }
        )
        obj["metadata"]["managedFields"] = fields

    def _admit_new(self, obj: dict[str, Any]) -> None:
        try:
            if obj["kind"] == "Pod":
                admit_pod(self.store, obj)
            elif BY_KIND[obj["kind"]].namespaced:
                namespace_open(self.store, obj["metadata"]["namespace"])
        except Refused as refused:
            message = refused.message
            if obj["kind"] == "Pod" and refused.code == 403:
                message = f'pods "{obj["metadata"]["name"]}" is forbidden: {message}'
            raise Fail(refused.code, refused.reason, message) from refused

    def _create(self, rtype: ResourceType, namespace: str | None, data: Any) -> dict[str, Any]:
        obj = self._identify(rtype, namespace, None, data)
        with self.store.lock:
            if self.store.get(self.store.key(obj)) is not None:
                raise Fail(409, "AlreadyExists", f'{rtype.plural} "{obj["metadata"]["name"]}" already exists')
            self._admit_new(obj)
            self._managed(obj, None, "unknown", "Update")
            stored = self.store.put(self.defaults.prepare(obj, None))
            if rtype.kind == "Pod":
                self.cluster.after(
                    0, self.cluster.kubelet.schedule, self.store.key(stored), stored["metadata"]["uid"]
                )
            return copy.deepcopy(stored)

    def _replace(
        self, rtype: ResourceType, namespace: str | None, name: str, data: Any, *, status_only: bool
    ) -> dict[str, Any]:
        obj = self._identify(rtype, namespace, name, data)
        with self.store.lock:
            entry = self.store.get(self.store.key(obj))
            if entry is None:
                raise Fail(404, "NotFound", f'{rtype.plural} "{name}" not found')
            if status_only:
                updated = copy.deepcopy(entry.obj)
                updated["status"] = obj.get("status") or {}
                return copy.deepcopy(self.store.put(updated))
            self._managed(obj, entry.obj, "unknown", "Update")
            return copy.deepcopy(self.store.put(self.defaults.prepare(obj, entry.obj)))

    def _apply(
        self,
        rtype: ResourceType,
        namespace: str | None,
        name: str,
        data: Any,
        *,
        manager: str,
        force: bool,
        may_create: Callable[[], None],
    ) -> Reply:
        """Server-side apply; `may_create` raises 403 when the caller may not create (an absent object)."""
        config = self._identify(rtype, namespace, name, data)
        if rtype.has_status:
            config.pop("status", None)
        with self.store.lock:
            entry = self.store.get(self.store.key(config))
            current = entry.obj if entry else None
            if entry is None:
                may_create()
                self._admit_new(config)
            elif not force:
                found = merging.conflicts(entry.obj, config, manager=manager, applied=entry.applied)
                if found:
                    raise Fail(
                        409, "Conflict", f"Apply failed with {len(found)} conflicts: " + ", ".join(found)
                    )
            merged = merging.apply(current, config, previous=entry.applied.get(manager) if entry else None)
            self._managed(merged, current, manager, "Apply")
            applied = {**(entry.applied if entry else {}), manager: copy.deepcopy(config)}
            stored = self.store.put(self.defaults.prepare(merged, current), applied=applied)
            return Reply(201 if entry is None else 200, copy.deepcopy(stored))

    def _merge(
        self, rtype: ResourceType, namespace: str | None, name: str, patch: Any, *, manager: str
    ) -> dict[str, Any]:
        with self.store.lock:
            entry = self.store.get((rtype.kind, namespace if rtype.namespaced else None, name))
            if entry is None:
                raise Fail(404, "NotFound", f'{rtype.plural} "{name}" not found')
            merged = merging.merge_patch(entry.obj, patch)
            merged["metadata"]["name"] = name
            self._managed(merged, entry.obj, manager, "Update")
            return copy.deepcopy(self.store.put(self.defaults.prepare(merged, entry.obj)))

    def _delete(self, rtype: ResourceType, namespace: str | None, name: str) -> dict[str, Any]:
        if rtype.kind == "Namespace":
            deleted = self.cluster.delete_namespace(name)
        else:
            deleted = self.store.remove((rtype.kind, namespace, name))
        if deleted is None:
            raise Fail(404, "NotFound", f'{rtype.plural} "{name}" not found')
        return deleted
