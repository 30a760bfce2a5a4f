"""The Kubernetes permissions the connector uses - exactly these, no more - and a check of them against
the cluster with SelfSubjectAccessReview.

`RULES` is the connector's own statement of what it needs, as RBAC PolicyRules. The range chart
(helm/federange-range/connector-rules.yaml) ships the same rules for operators to bind, a unit test keeps
the two equal, and the contract suite runs the connector on the API double under exactly these rules.
Reasons for each: server-side apply of an object that does not exist yet needs `create` besides
`patch`; a redeploy prunes with `list` + `delete` (never the quota or limit range: their names are
fixed); teardown waits for namespaces in one `watch`; readiness lists and watches pods and reads events;
`probe` lists nodes; walkthroughs and Ansible run commands through `pods/exec` (kubectl reads the pod
first: `get`).

`missing(api)` asks the API server, for each permission, whether the connector's credentials have it
(cluster-wide: instance namespaces do not exist yet when access is checked), and returns those refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from connectors.kubernetes.apiserver import ApiServer

ACCESS_REVIEW_PATH = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"

#: (API groups, resources, verbs): what the connector needs, in the shape of RBAC PolicyRules.
RULES: tuple[tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]], ...] = (
    (("",), ("namespaces",), ("get", "list", "watch", "create", "patch", "delete")),
    (("",), ("resourcequotas", "limitranges"), ("list", "create", "patch")),
    (("",), ("configmaps", "secrets", "services"), ("list", "create", "patch", "delete")),
    (("networking.k8s.io",), ("networkpolicies",), ("list", "create", "patch", "delete")),
    (("apps",), ("deployments",), ("list", "create", "patch", "delete")),
    (("",), ("pods",), ("list", "watch")),
    (("",), ("events",), ("list",)),
    (("",), ("nodes",), ("list",)),
    (("",), ("pods/exec",), ("create",)),
    (("",), ("pods",), ("get",)),
)


@dataclass(frozen=True, order=True)
class Permission:
    """One verb on one resource (`pods/exec`: a subresource) of one API group ("": the core group)."""

    group: str
    resource: str
    verb: str

    def __str__(self) -> str:
        return f"{self.verb} {self.resource}" + (f" (API group {self.group})" if self.group else "")


def policy_rules() -> list[dict[str, Any]]:
    """RULES as RBAC PolicyRule objects (what a ClusterRole's `rules` holds)."""
    return [
        {"apiGroups": list(groups), "resources": list(resources), "verbs": list(verbs)}
        for groups, resources, verbs in RULES
    ]


def permissions_of(rules: list[dict[str, Any]]) -> set[Permission]:
    """Every (group, resource, verb) that PolicyRules grant (no wildcards expected)."""
    return {
        Permission(group, resource, verb)
        for rule in rules
        for group in rule.get("apiGroups") or ()
        for resource in rule.get("resources") or ()
        for verb in rule.get("verbs") or ()
    }


def required() -> list[Permission]:
    return sorted(permissions_of(policy_rules()))


def _review(permission: Permission) -> dict[str, Any]:
    resource, _, subresource = permission.resource.partition("/")
    attributes = {"group": permission.group, "resource": resource, "verb": permission.verb}
    if subresource:
        attributes["subresource"] = subresource
    return {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SelfSubjectAccessReview",
        "spec": {"resourceAttributes": attributes},
    }


def missing(api: ApiServer) -> list[Permission]:
    """The required permissions the API server says these credentials lack (ConnectorError when it
    cannot be asked)."""
    refused = []
    for permission in required():
        answer = api.call(
            "POST", ACCESS_REVIEW_PATH, body=_review(permission), content_type="application/json"
        )
        if not (answer.get("status") or {}).get("allowed"):
            refused.append(permission)
    return refused
