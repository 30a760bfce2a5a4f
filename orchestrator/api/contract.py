"""The OpenAPI document as the contract: every status an operation can answer, each error as
`application/problem+json` with its schema.

The statuses follow from how the API is built, so they are derived here from each operation rather than
written by hand on every route: a route that needs a token can answer 401 (no, bad or expired token), 403
(its role or organisation may not), 404 (what it names is not there or not visible), 429 (too many
failed sign-ins) and 503 (the database does not answer); one that takes input can answer 422 (invalid,
naming the field); one with a body 413 (too large); one that changes state 409 (a conflict or a refusal
with every reason). Schemathesis checks the document against the running server in CI
(tests/integration/api/test_schemathesis.py).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from orchestrator.api.actions import OPERATIONS
from orchestrator.api.problems import MEDIA_TYPE
from orchestrator.identity import permissions

#: Operations anyone may call, without a token.
PUBLIC = frozenset({"/health", "/ready", "/metrics", "/openapi.json", "/docs", "/redoc"})

PROBLEM: dict[str, Any] = {
    "title": "Problem",
    "description": "RFC 9457 problem details; `errors` names each invalid field, `reasons` lists every "
    "reason of a refusal (which range, which dimension, when, needed vs free, or which rule).",
    "type": "object",
    "required": ["type", "title", "status", "detail", "instance"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["field", "reason"],
                "properties": {"field": {"type": "string"}, "reason": {"type": "string"}},
            },
        },
        "reasons": {"type": "array", "items": {"type": "string"}},
    },
}

DESCRIPTIONS = {
    401: "No token, or a malformed, unknown, revoked or expired one",
    403: "The caller's role or organisation may not do this",
    404: "What the request names does not exist or is not visible to the caller",
    409: "A conflict with the current state, or a refusal with every reason",
    413: "The request body is too large",
    422: "Invalid input; `errors` names each field and why",
    429: "Too many failed sign-ins from this address; see Retry-After",
    502: "The range failed to do what was asked (its connector's reason)",
    503: "The database does not answer or could not finish (retry after Retry-After seconds); on /ready: "
    "not ready, the database does not answer or is not migrated",
}
_CHANGES = {"post", "put", "patch", "delete"}


def statuses(path: str, method: str, operation: dict[str, Any]) -> set[int]:
    """The error statuses `operation` can answer (see the module docstring)."""
    if path == "/ready":
        return {503}
    if path in PUBLIC:
        return set()
    out = {401, 403, 404, 429, 503}
    if operation.get("parameters") or "requestBody" in operation:
        out.add(422)
    if "requestBody" in operation:
        out.add(413)
    if method in _CHANGES:
        out.add(409)
    if path.startswith("/federation/v1/instances") or path.endswith("/stop"):
        out.add(502)
    return out


def _problem_response(status: int) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": DESCRIPTIONS[status],
        "content": {MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }
    if status in (429, 503):
        response["headers"] = {
            "Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer", "minimum": 1}}
        }
    return response


def document(app: FastAPI) -> dict[str, Any]:
    """The app's OpenAPI document with every error status declared (computed once, then cached)."""
    if app.openapi_schema is not None:
        return app.openapi_schema
    schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components.pop("HTTPValidationError", None)
    components.pop("ValidationError", None)
    components["Problem"] = PROBLEM
    for path, operations in schema.get("paths", {}).items():
        for method, operation in operations.items():
            action = OPERATIONS.get((method, path))
            if action is not None:
                operation["x-federange-action"] = action.value
                who = permissions.describe(action)
                operation["description"] = (
                    operation.get("description", "") + f"\n\nPermission `{action}`: {who}."
                ).strip()
            responses = operation.setdefault("responses", {})
            responses.pop("422", None)  # FastAPI's own validation error shape: ours is a Problem
            for status in sorted(statuses(path, method, operation)):
                declared = responses.get(str(status), {})
                described = declared.get("description", DESCRIPTIONS[status])
                responses[str(status)] = {**_problem_response(status), "description": described}
    app.openapi_schema = schema
    return schema
