"""RBAC in the API double: which verbs a bearer token may use, decided the way a real API server does.

A token maps to a list of RBAC PolicyRules (`apiGroups`, `resources` - `pods/exec` names a subresource -,
`verbs`, optional `resourceNames`), as a ClusterRole bound cluster-wide would grant them; a token with
`None` may do everything (cluster-admin). What a request needs:

- GET of an object `get`, of a collection `list` (`watch` with `watch=true`), POST `create`, PUT
  `update`, PATCH `patch`, DELETE `delete`;
- server-side apply of an object that does not exist yet needs `create` as well as `patch` (checked by
  api.py, which knows whether the object exists);
- pods/exec needs `create` on `pods/exec`;
- discovery (`/version`, `/api`, `/apis`, resource lists) and SelfSubjectAccessReview are open to every
  authenticated user (what the `system:basic-user` and `system:discovery` roles grant on a real cluster).

A refusal is a 403 `Forbidden` Status worded like the API server's. Every decision is recorded
(`Decision`), so a test can compare what a client actually needed with what it was granted.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tests.support.kube_api.status import Fail

#: The rules the range chart (helm/federange-range) grants Federange's connector.
SHIPPED_RULES = Path(__file__).resolve().parents[3] / "helm" / "federange-range" / "connector-rules.yaml"

#: The verbs RBAC knows for resources (what a rule's `*` stands for).
VERBS = ("get", "list", "watch", "create", "update", "patch", "delete", "deletecollection")


@dataclass(frozen=True)
class Rule:
    api_groups: frozenset[str]
    resources: frozenset[str]
    verbs: frozenset[str]
    resource_names: frozenset[str] = frozenset()

    @classmethod
    def from_policy_rule(cls, rule: Mapping[str, Any]) -> Rule:
        return cls(
            api_groups=frozenset(rule.get("apiGroups") or ()),
            resources=frozenset(rule.get("resources") or ()),
            verbs=frozenset(rule.get("verbs") or ()),
            resource_names=frozenset(rule.get("resourceNames") or ()),
        )

    def allows(self, attributes: Attributes) -> bool:
        resource = attributes.resource + (f"/{attributes.subresource}" if attributes.subresource else "")
        return (
            ("*" in self.verbs or attributes.verb in self.verbs)
            and ("*" in self.api_groups or attributes.group in self.api_groups)
            and ("*" in self.resources or resource in self.resources)
            and (not self.resource_names or attributes.name in self.resource_names)
        )


@dataclass(frozen=True)
class Attributes:
    """What one request asks to do (the `resourceAttributes` of an access review)."""

    verb: str
    group: str
    resource: str
    subresource: str = ""
    namespace: str = ""
    name: str = ""

    def permission(self) -> tuple[str, str, str]:
        """(group, resource[/subresource], verb): the unit a role grants."""
        resource = self.resource + (f"/{self.subresource}" if self.subresource else "")
        return self.group, resource, self.verb


@dataclass(frozen=True)
class Decision:
    token: str
    attributes: Attributes
    allowed: bool


def rules_of(documents: Iterable[Mapping[str, Any]]) -> list[Rule]:
    """The rules of every Role/ClusterRole among `documents` (e.g. a chart's rendered manifests), or of
    bare PolicyRule mappings."""
    found: list[Rule] = []
    for doc in documents:
        if doc.get("kind") in ("Role", "ClusterRole"):
            found += [Rule.from_policy_rule(r) for r in doc.get("rules") or []]
        elif "verbs" in doc:
            found.append(Rule.from_policy_rule(doc))
    return found


def shipped_rules() -> list[Rule]:
    """The rules operators bind for Federange (the chart's connector-rules.yaml), as the double reads them."""
    return rules_of(yaml.safe_load(SHIPPED_RULES.read_text(encoding="utf-8")))


class Authorizer:
    """Per-token rules; tokens not registered are unknown (401 is decided by the server before this)."""

    def __init__(self) -> None:
        self._rules: dict[str, list[Rule] | None] = {}
        self._lock = threading.Lock()
        self.decisions: list[Decision] = []

    def grant(self, token: str, rules: Sequence[Rule] | None) -> None:
        """`rules` None: everything (cluster-admin)."""
        with self._lock:
            self._rules[token] = None if rules is None else list(rules)

    def knows(self, token: str) -> bool:
        with self._lock:
            return token in self._rules

    def allowed(self, token: str, attributes: Attributes, *, record: bool = True) -> bool:
        with self._lock:
            rules = self._rules.get(token, [])
            ok = rules is None or any(r.allows(attributes) for r in rules)
            if record:
                self.decisions.append(Decision(token, attributes, ok))
            return ok

    def require(self, token: str, attributes: Attributes) -> None:
        if not self.allowed(token, attributes):
            raise Fail(403, "Forbidden", forbidden_message(token, attributes))

    def used(self, token: str) -> set[tuple[str, str, str]]:
        """Every (group, resource, verb) the token was allowed to use so far."""
        with self._lock:
            return {d.attributes.permission() for d in self.decisions if d.token == token and d.allowed}

    def refused(self, token: str) -> list[Attributes]:
        with self._lock:
            return [d.attributes for d in self.decisions if d.token == token and not d.allowed]


def user_of(token: str) -> str:
    return f"system:serviceaccount:federange:{token}"


def forbidden_message(token: str, a: Attributes) -> str:
    resource = a.resource + (f"/{a.subresource}" if a.subresource else "")
    target = f'{resource} "{a.name}"' if a.name else resource
    scope = f'in the namespace "{a.namespace}"' if a.namespace else "at the cluster scope"
    return (
        f'{target} is forbidden: User "{user_of(token)}" cannot {a.verb} resource "{resource}" '
        f'in API group "{a.group}" {scope}'
    )


def verb_of(method: str, *, named: bool, watch: bool) -> str:
    if method == "GET":
        return "get" if named else ("watch" if watch else "list")
    return {"POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}.get(method, "")


def access_review(authorizer: Authorizer, token: str, body: Mapping[str, Any]) -> dict[str, Any]:
    """The answer to a SelfSubjectAccessReview (`spec.resourceAttributes`), from the token's rules."""
    spec = body.get("spec") or {}
    attrs = spec.get("resourceAttributes")
    if not isinstance(attrs, Mapping) or not attrs.get("verb"):
        raise Fail(
            422,
            "Invalid",
            "SelfSubjectAccessReview.authorization.k8s.io is invalid: spec.resourceAttributes: "
            "Required value: exactly one of nonResourceAttributes or resourceAttributes must be specified",
        )
    attributes = Attributes(
        verb=str(attrs.get("verb", "")),
        group=str(attrs.get("group", "")),
        resource=str(attrs.get("resource", "")),
        subresource=str(attrs.get("subresource", "")),
        namespace=str(attrs.get("namespace", "")),
        name=str(attrs.get("name", "")),
    )
    ok = authorizer.allowed(token, attributes, record=False)
    status: dict[str, Any] = {"allowed": ok}
    if ok:
        status["reason"] = 'RBAC: allowed by ClusterRoleBinding "federange-range"'
    return {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SelfSubjectAccessReview",
        "metadata": {"creationTimestamp": None},
        "spec": dict(spec),
        "status": status,
    }
