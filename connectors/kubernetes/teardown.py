"""Teardown of many instances at once: delete every instance namespace first, then wait for all of them
in one watch (what `kubectl delete namespace a b c ...` does), instead of deleting and waiting per
instance.

Deletes go out in parallel (`workers` at a time, under the connector's rate limit); each namespace is
checked to carry its instance's labels first and is never deleted otherwise. The wait is one watch on
Federange's namespaces from the resourceVersion of a list taken after the deletes; a watch that ends
(server timeout, broken stream) is followed by a fresh list, and the whole wait is bounded by `timeout`.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from connectors.base import LABEL_MANAGED_BY, MANAGED_BY, ConnectorError, ConnectorRefusal
from connectors.kubernetes.apiserver import ApiServer

log = logging.getLogger(__name__)

Failure = ConnectorError | ConnectorRefusal


def _meta(obj: Mapping[str, Any]) -> dict[str, Any]:
    meta: dict[str, Any] = obj.get("metadata") or {}
    return meta


def delete_namespaces(
    api: ApiServer,
    namespaces: Mapping[str, str],
    *,
    owned: Callable[[Mapping[str, Any], str], bool],
    workers: int,
    timeout: float,
    window: float,
) -> dict[str, Failure]:
    """Delete each namespace (name -> instance id) and wait until all are gone; returns the failures by
    instance id (absent namespaces are success)."""
    failures: dict[str, Failure] = {}

    def delete(item: tuple[str, str]) -> str | None:
        name, instance_id = item
        try:
            existing = api.get("Namespace", name)
            if existing is None:
                return None
            if not owned(existing, instance_id):
                raise ConnectorRefusal(
                    f"namespace {name} does not carry the labels of instance {instance_id}; not deleting it"
                )
            api.delete("Namespace", name)
        except (ConnectorError, ConnectorRefusal) as exc:
            failures[instance_id] = exc
            return None
        return name

    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(namespaces)))) as pool:
        pending = {n for n in pool.map(delete, namespaces.items()) if n is not None}
    deadline = time.monotonic() + timeout
    while pending:
        try:
            items, version = api.list("Namespace", label_selector=f"{LABEL_MANAGED_BY}={MANAGED_BY}")
        except ConnectorError as exc:
            for name in pending:
                failures[namespaces[name]] = exc
            return failures
        present = {str(_meta(n).get("name")) for n in items}
        pending &= present
        remaining = deadline - time.monotonic()
        if not pending:
            break
        if remaining <= 0:
            for name in sorted(pending):
                failures[namespaces[name]] = ConnectorError(
                    f"namespace {name} of instance {namespaces[name]} is still terminating after {timeout:g}s"
                    + _conditions(next(n for n in items if _meta(n).get("name") == name)),
                    retryable=True,
                )
            break
        _await_deletions(api, pending, version, min(remaining, window))
    log.info("tore down %d instance namespace(s), %d failed", len(namespaces), len(failures))
    return failures


def _conditions(namespace: Mapping[str, Any]) -> str:
    conditions = (namespace.get("status") or {}).get("conditions") or []
    detail = "; ".join(
        f"{c.get('type')}: {c.get('message')}" for c in conditions if c.get("status") == "True"
    )
    return f" ({detail})" if detail else ""


def _await_deletions(api: ApiServer, pending: set[str], version: str, window: float) -> None:
    """Drop names from `pending` as their DELETED events arrive, for at most `window` seconds."""
    started = time.monotonic()
    events = api.watch(
        "Namespace",
        namespace=None,
        resource_version=version,
        timeout=window,
        label_selector=f"{LABEL_MANAGED_BY}={MANAGED_BY}",
    )
    try:
        with contextlib.closing(events):
            for event in events:
                if event.get("type") == "DELETED":
                    pending.discard(str(_meta(event.get("object") or {}).get("name")))
                elif event.get("type") == "ERROR":
                    return  # e.g. 410 Gone: the caller lists again
                if not pending or time.monotonic() - started >= window:
                    return
    except ConnectorError as exc:
        log.debug("watching namespaces failed (%s); listing again", exc.reason)
        time.sleep(min(window, 0.5))
