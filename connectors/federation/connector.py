"""A peer's published range: every call goes to the peer's federation API (/federation/v1) over httpx.

The peer keeps the range's credentials, calendar and policies; this connector holds only the peer token
it was given. Refusals come back as the peer worded them, prefixed with where they came from
("<peer>/<range>: ..."); a peer that cannot be reached within `timeout_seconds` is a ConnectorError
naming it (retryable), never a hang.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import Any

import httpx

from connectors.base import (
    ConnectorError,
    ConnectorRefusal,
    Endpoint,
    HostStatus,
    InstanceRecord,
    InstanceSpec,
    InstanceStatus,
    Phase,
    ProbeResult,
    ProvisioningTarget,
    RemoteHold,
    Requester,
    Resources,
    poll_until_settled,
)
from connectors.federation.config import FederationConfig
from connectors.schema import parse

PREFIX = "/federation/v1"
API_VERSION = "federation/v1"


class FederationConnector:
    kind = "federation"
    config_schema = FederationConfig

    def __init__(self, config: Mapping[str, Any] | None = None) -> None:
        self.config = parse(FederationConfig, config, kind=self.kind)
        self.peer = self.config.peer or self.config.base_url
        self.range = self.config.range
        self._lock = threading.Lock()
        self._client: httpx.Client | None = None

    # -- HTTP --------------------------------------------------------------------------------------
    @property
    def client(self) -> httpx.Client:
        with self._lock:
            if self._client is None:
                self._client = httpx.Client(
                    base_url=self.config.base_url.rstrip("/") + PREFIX,
                    headers={"Authorization": f"Bearer {self.config.token}"},
                    timeout=self.config.timeout_seconds,
                )
            return self._client

    def close(self) -> None:
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            client.close()

    @property
    def where(self) -> str:
        return f"{self.peer}/{self.range}"

    def _call(self, method: str, path: str, *, json: Any = None, params: Any = None) -> httpx.Response:
        try:
            response = self.client.request(method, path, json=json, params=params)
        except httpx.TimeoutException as exc:
            raise ConnectorError(
                f"peer {self.peer} did not answer within {self.config.timeout_seconds:g}s "
                f"({type(exc).__name__})",
                retryable=True,
            ) from exc
        except (httpx.HTTPError, httpx.InvalidURL, ValueError) as exc:  # ValueError: a host name IDNA refuses
            raise ConnectorError(f"peer {self.peer} unreachable: {exc}", retryable=True) from exc
        return response

    def _checked(self, response: httpx.Response, *, absent_ok: bool = False) -> httpx.Response:
        """Map the peer's problem+json answers: 409 refusals and 422 invalid input are refusals (the
        peer's words, prefixed with the peer's name), 5xx and others errors."""
        if response.is_success or (absent_ok and response.status_code == 404):
            return response
        try:
            body = response.json()
        except ValueError:
            body = {}
        reasons = body.get("reasons") or [body.get("detail") or response.text[:300] or response.reason_phrase]
        if response.status_code in (409, 422, 403, 404):
            raise ConnectorRefusal("; ".join(self._attributed(str(r)) for r in reasons))
        raise ConnectorError(
            f"peer {self.peer} answered {response.status_code}: {'; '.join(str(r) for r in reasons)}",
            retryable=response.status_code >= 500,
        )

    def _attributed(self, reason: str) -> str:
        """'<peer>/<range>: ...' when the peer's reason starts with the range's slug, else '<peer>: ...'."""
        if reason.startswith(f"{self.range}:") or reason.startswith(f"{self.range} "):
            return f"{self.peer}/{reason}"
        return f"{self.where}: {reason}"

    # -- the Connector Protocol --------------------------------------------------------------------
    def probe(self) -> ProbeResult:
        try:
            response = self._checked(self._call("GET", f"/ranges/{self.range}"))
        except (ConnectorError, ConnectorRefusal) as exc:
            return ProbeResult(
                healthy=False,
                version="",
                observed_free=Resources(),
                observed_total=Resources(),
                reason=exc.reason,
            )
        body = response.json()
        healthy = body.get("status") == "active"
        return ProbeResult(
            healthy=healthy,
            version=str(body.get("api", "")),
            observed_free=Resources.from_dict(body.get("free", {})),
            observed_total=Resources.from_dict(body.get("capacity", {})),
            reason="" if healthy else f"{self.where}: range is {body.get('status')}",
        )

    def deploy(self, *, instance: InstanceSpec) -> InstanceStatus:
        body = {
            "instance_id": instance.instance_id,
            "range": self.range,
            "exercise": instance.exercise,
            "team": instance.team,
            "scenario_document": instance.scenario_document,
            "values": dict(instance.values),
        }
        return _status(self._checked(self._call("POST", "/instances", json=body)).json())

    def wait_ready(self, *, instance_id: str, timeout: float) -> InstanceStatus:
        return poll_until_settled(
            lambda: self.status(instance_id=instance_id),
            instance_id=instance_id,
            timeout=timeout,
            pauses=(self.config.ready_poll_seconds,),
        )

    def status(self, *, instance_id: str) -> InstanceStatus:
        response = self._checked(self._call("GET", f"/instances/{instance_id}"), absent_ok=True)
        if response.status_code == 404:
            return InstanceStatus(instance_id=instance_id, phase=Phase.ABSENT)
        return _status(response.json())

    def teardown(self, *, instance_id: str) -> None:
        self._checked(self._call("DELETE", f"/instances/{instance_id}"), absent_ok=True)

    def list_instances(self) -> Sequence[InstanceRecord]:
        response = self._checked(self._call("GET", "/instances", params={"range": self.range}))
        return [
            InstanceRecord(
                instance_id=r["instance_id"],
                exercise=r.get("exercise", ""),
                team=r.get("team", ""),
                phase=Phase(r.get("phase", "pending")),
            )
            for r in response.json()
        ]

    def provisioning_target(self, *, instance_id: str) -> ProvisioningTarget:
        raise ConnectorError(
            f"{self.where}: a peer's range is provisioned by its home instance; it hands out no way in"
        )

    # -- RemotePeer ---------------------------------------------------------------------------------
    def handshake(self) -> Mapping[str, Any]:
        root = self.config.base_url.rstrip("/") + PREFIX  # the API's root itself, without a trailing slash
        body: Mapping[str, Any] = self._checked(self._call("GET", root)).json()
        if body.get("api") != API_VERSION:
            raise ConnectorRefusal(f"peer {self.peer} speaks {body.get('api')!r}, not {API_VERSION}")
        return body

    def published_ranges(self) -> Sequence[Mapping[str, Any]]:
        found: Sequence[Mapping[str, Any]] = self._checked(self._call("GET", "/ranges")).json()
        return found

    # -- RemoteCalendar ----------------------------------------------------------------------------
    def availability(self, *, start: str, end: str) -> Resources:
        response = self._checked(
            self._call("GET", f"/ranges/{self.range}/availability", params={"start": start, "end": end})
        )
        return Resources.from_dict(response.json().get("free", {}))

    def hold(
        self, *, key: str, start: str, end: str, demand: Resources, requester: Requester | None = None
    ) -> RemoteHold:
        body: dict[str, Any] = {
            "key": key,
            "range": self.range,
            "start": start,
            "end": end,
            "demand": demand.as_dict(),
        }
        if requester is not None:
            body["for_organisation"] = {
                "id": requester.id,
                "name": requester.name,
                "country": requester.country,
            }
        return _hold(self._checked(self._call("POST", "/holds", json=body)).json())

    def find_hold(self, *, key: str) -> RemoteHold | None:
        response = self._checked(self._call("GET", "/holds", params={"key": key, "range": self.range}))
        found = response.json()
        return _hold(found[0]) if found else None

    def confirm(self, *, hold_id: str) -> RemoteHold:
        return _hold(self._checked(self._call("POST", f"/holds/{hold_id}/confirm")).json())

    def release(self, *, hold_id: str) -> RemoteHold:
        return _hold(self._checked(self._call("POST", f"/holds/{hold_id}/release")).json())

    def renew(self, *, hold_id: str, end: str) -> RemoteHold:
        return _hold(self._checked(self._call("POST", f"/holds/{hold_id}/renew", json={"end": end})).json())


def _hold(body: Mapping[str, Any]) -> RemoteHold:
    return RemoteHold(
        id=str(body["id"]),
        key=str(body.get("key", "")),
        status=str(body["status"]),
        start=str(body["start"]),
        end=str(body["end"]),
        expires_at=body.get("expires_at"),
    )


def _status(body: Mapping[str, Any]) -> InstanceStatus:
    return InstanceStatus(
        instance_id=str(body["instance_id"]),
        phase=Phase(body["phase"]),
        hosts=tuple(
            HostStatus(name=h["name"], ready=bool(h["ready"]), reason=h.get("reason", ""))
            for h in body.get("hosts", [])
        ),
        endpoints=tuple(
            Endpoint(
                host=e["host"],
                port=int(e["port"]),
                protocol=e.get("protocol", "TCP"),
                address=e.get("address", ""),
                url=e.get("url", ""),
            )
            for e in body.get("endpoints", [])
        ),
        reason=str(body.get("reason", "")),
    )
