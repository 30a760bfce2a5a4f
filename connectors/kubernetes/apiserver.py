"""The connector's one door to a cluster's API server: REST calls over the official client's ApiClient,
with a client-side rate limit, bounded timeouts and retries.

Retry policy (tenacity): a call is retried with exponential backoff and jitter, or after the server's
`Retry-After`, when the server answers 429 or 5xx or the connection fails or times out - every call
Federange makes is idempotent (server-side apply, delete, get, list), so repeating one is safe. A 4xx
answer (validation 422, forbidden 403, conflict 409, ...) is never retried: it becomes an `ApiError`
carrying the API server's own message at once. After the last attempt the error says how many were made.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Generator, Sequence
from dataclasses import dataclass
from typing import Any

import urllib3
from kubernetes import client
from kubernetes.client.exceptions import ApiException
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential,
    wait_random,
)

from connectors.base import ConnectorError
from connectors.kubernetes.ratelimit import TokenBucket

log = logging.getLogger(__name__)

APPLY_PATCH = "application/apply-patch+yaml"
MERGE_PATCH = "application/merge-patch+json"


@dataclass(frozen=True)
class Kind:
    name: str
    prefix: str
    plural: str
    namespaced: bool


KINDS: dict[str, Kind] = {
    k.name: k
    for k in (
        Kind("Namespace", "/api/v1", "namespaces", False),
        Kind("Node", "/api/v1", "nodes", False),
        Kind("Pod", "/api/v1", "pods", True),
        Kind("Event", "/api/v1", "events", True),
        Kind("Service", "/api/v1", "services", True),
        Kind("ConfigMap", "/api/v1", "configmaps", True),
        Kind("Secret", "/api/v1", "secrets", True),
        Kind("ResourceQuota", "/api/v1", "resourcequotas", True),
        Kind("LimitRange", "/api/v1", "limitranges", True),
        Kind("Deployment", "/apis/apps/v1", "deployments", True),
        Kind("NetworkPolicy", "/apis/networking.k8s.io/v1", "networkpolicies", True),
    )
}


def path(kind: str, *, namespace: str | None = None, name: str | None = None) -> str:
    """The REST path of a collection (no name; all namespaces when `namespace` is None) or object."""
    k = KINDS[kind]
    out = k.prefix
    if k.namespaced and namespace is not None:
        out += f"/namespaces/{namespace}"
    out += f"/{k.plural}"
    if name is not None:
        out += f"/{name}"
    return out


class ApiError(ConnectorError):
    """The API server answered with an error status; `status` is the HTTP code (0: no answer)."""

    def __init__(self, reason: str, *, status: int, retry_after: float | None = None) -> None:
        super().__init__(reason, retryable=status in {0, 429} or status >= 500)
        self.status = status
        self.retry_after = retry_after


def _transient(exc: BaseException) -> bool:
    return isinstance(exc, ApiError) and exc.retryable


class _Wait:
    """The server's Retry-After when it sent one (capped), else exponential backoff with jitter."""

    def __init__(self, *, initial: float, maximum: float) -> None:
        self.maximum = maximum
        self.backoff = wait_exponential(multiplier=initial, max=maximum) + wait_random(0, initial)

    def __call__(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome is not None else None
        if isinstance(exc, ApiError) and exc.retry_after is not None:
            return min(exc.retry_after, max(self.maximum, 1.0))
        return float(self.backoff(state))


def _retry_after(headers: Any) -> float | None:
    value = headers.get("Retry-After") if headers is not None else None
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def _message(body: bytes) -> str:
    try:
        status = json.loads(body)
    except ValueError:
        return body.decode(errors="replace")[:500]
    if isinstance(status, dict):
        return str(status.get("message") or status.get("reason") or status)
    return str(status)[:500]


@dataclass(frozen=True, kw_only=True)
class RetryPolicy:
    attempts: int = 5
    initial: float = 0.2
    maximum: float = 5.0


class ApiServer:
    """REST calls to one API server. Thread-safe: the underlying urllib3 pool is."""

    def __init__(
        self,
        api: client.ApiClient,
        *,
        limiter: TokenBucket,
        retry: RetryPolicy,
        connect_timeout: float,
        request_timeout: float,
    ) -> None:
        self.api = api
        self.limiter = limiter
        self.retry = retry
        self.connect_timeout = connect_timeout
        self.request_timeout = request_timeout

    @property
    def host(self) -> str:
        return str(self.api.configuration.host)

    def close(self) -> None:
        self.api.close()  # type: ignore[no-untyped-call]

    # -- one HTTP exchange -------------------------------------------------------------------------

    def _send(
        self,
        method: str,
        resource_path: str,
        *,
        query: Sequence[tuple[str, str]] = (),
        body: Any = None,
        content_type: str | None = None,
        read_timeout: float | None = None,
    ) -> Any:
        self.limiter.acquire()
        headers = {"Accept": "application/json"}
        if content_type is not None:
            headers["Content-Type"] = content_type
        method, url, headers, body, _ = self.api.param_serialize(
            method=method,
            resource_path=resource_path,
            query_params=list(query),
            header_params=headers,
            body=body,
            auth_settings=["BearerToken"],
        )
        timeout = (self.connect_timeout, read_timeout or self.request_timeout)
        where = f"{method} {resource_path}"
        try:
            return self.api.call_api(method, url, header_params=headers, body=body, _request_timeout=timeout)
        except urllib3.exceptions.HTTPError as exc:
            raise ApiError(
                f"{where}: the API server at {self.host} did not answer ({exc})", status=0
            ) from exc
        except ApiException as exc:  # raised by the client before any answer (TLS setup)
            raise ConnectorError(f"{where}: {exc.reason}") from exc

    def _exchange(self, method: str, resource_path: str, **options: Any) -> dict[str, Any]:
        response = self._send(method, resource_path, **options)
        try:
            data = response.read()
        except urllib3.exceptions.HTTPError as exc:
            raise ApiError(f"{method} {resource_path}: the answer broke off ({exc})", status=0) from exc
        if not 200 <= response.status <= 299:
            raise ApiError(
                f"{method} {resource_path}: {response.status} {_message(data)}",
                status=response.status,
                retry_after=_retry_after(response.headers),
            )
        decoded = json.loads(data) if data else {}
        if not isinstance(decoded, dict):
            raise ApiError(f"{method} {resource_path}: expected a JSON object", status=response.status)
        return decoded

    def call(self, method: str, resource_path: str, **options: Any) -> dict[str, Any]:
        """One REST call with the retry policy; raises ApiError (a ConnectorError) when it finally fails."""
        retrying = Retrying(
            stop=stop_after_attempt(self.retry.attempts),
            wait=_Wait(initial=self.retry.initial, maximum=self.retry.maximum),
            retry=retry_if_exception(_transient),
            reraise=True,
            before_sleep=lambda state: log.warning(
                "retrying %s %s after attempt %s: %s",
                method,
                resource_path,
                state.attempt_number,
                state.outcome.exception() if state.outcome is not None else "",
            ),
        )
        try:
            result: dict[str, Any] = retrying(self._exchange, method, resource_path, **options)
        except ApiError as exc:
            if exc.retryable and self.retry.attempts > 1:
                raise ApiError(
                    f"{exc.reason} (gave up after {self.retry.attempts} attempts)",
                    status=exc.status,
                    retry_after=exc.retry_after,
                ) from exc
            raise
        return result

    # -- typed helpers ------------------------------------------------------------------------------

    def version(self) -> dict[str, Any]:
        return self.call("GET", "/version")

    def get(self, kind: str, name: str, *, namespace: str | None = None) -> dict[str, Any] | None:
        try:
            return self.call("GET", path(kind, namespace=namespace, name=name))
        except ApiError as exc:
            if exc.status == 404:
                return None
            raise

    def list(
        self,
        kind: str,
        *,
        namespace: str | None = None,
        label_selector: str = "",
        field_selector: str = "",
    ) -> tuple[list[dict[str, Any]], str]:
        """The items and the list's resourceVersion (to watch from)."""
        query = []
        if label_selector:
            query.append(("labelSelector", label_selector))
        if field_selector:
            query.append(("fieldSelector", field_selector))
        answer = self.call("GET", path(kind, namespace=namespace), query=query)
        items = answer.get("items") or []
        return list(items), str((answer.get("metadata") or {}).get("resourceVersion", ""))

    def apply(self, obj: dict[str, Any], *, field_manager: str) -> dict[str, Any]:
        """Server-side apply of `obj` (created when absent), taking over conflicting fields (force)."""
        meta = obj["metadata"]
        return self.call(
            "PATCH",
            path(obj["kind"], namespace=meta.get("namespace"), name=meta["name"]),
            query=[("fieldManager", field_manager), ("force", "true")],
            body=obj,
            content_type=APPLY_PATCH,
        )

    def merge_patch(
        self, kind: str, name: str, *, namespace: str | None = None, patch: dict[str, Any], field_manager: str
    ) -> dict[str, Any] | None:
        try:
            return self.call(
                "PATCH",
                path(kind, namespace=namespace, name=name),
                query=[("fieldManager", field_manager)],
                body=patch,
                content_type=MERGE_PATCH,
            )
        except ApiError as exc:
            if exc.status == 404:
                return None
            raise

    def delete(
        self, kind: str, name: str, *, namespace: str | None = None, propagation: str = "Background"
    ) -> bool:
        """Delete one object; False when it was already gone."""
        try:
            self.call(
                "DELETE",
                path(kind, namespace=namespace, name=name),
                body={"apiVersion": "v1", "kind": "DeleteOptions", "propagationPolicy": propagation},
                content_type="application/json",
            )
        except ApiError as exc:
            if exc.status == 404:
                return False
            raise
        return True

    def watch(
        self,
        kind: str,
        *,
        namespace: str | None,
        resource_version: str,
        timeout: float,
        label_selector: str = "",
    ) -> Generator[dict[str, Any], None, None]:
        """Watch events (`{"type": ..., "object": ...}`) from `resource_version` for at most `timeout`
        seconds (server-side `timeoutSeconds`, and a client read timeout just past it). Ends quietly when
        the server closes the stream or the connection breaks; the caller re-lists."""
        seconds = max(1, int(timeout))
        query = [("watch", "true"), ("timeoutSeconds", str(seconds)), ("allowWatchBookmarks", "true")]
        if resource_version:
            query.append(("resourceVersion", resource_version))
        if label_selector:
            query.append(("labelSelector", label_selector))
        resource_path = path(kind, namespace=namespace)
        response = self._send("GET", resource_path, query=query, read_timeout=seconds + 5.0)
        raw = response.response
        finished = False
        try:
            if response.status != 200:
                data = response.read()
                finished = True
                raise ApiError(
                    f"watch {resource_path}: {response.status} {_message(data)}", status=response.status
                )
            pending = b""
            for chunk in raw.stream(amt=None, decode_content=True):
                pending += chunk
                while b"\n" in pending:
                    line, pending = pending.split(b"\n", 1)
                    if line.strip():
                        yield json.loads(line)
            finished = True
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            log.debug("watch %s ended: %s", resource_path, exc)
        finally:
            if not finished:
                raw.close()  # a half-read stream must not go back to the pool
            raw.release_conn()
