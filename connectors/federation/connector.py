"""A peer's published range: every call goes to the peer's federation API (/federation/v1) over httpx.

The peer keeps the range's credentials, calendar and policies; this connector holds only the peer token
it was given. Refusals come back as the peer worded them, prefixed with where they came from
("<peer>/<range>: ..."); a peer that cannot be reached within `timeout_seconds` is a ConnectorError
naming it (retryable), never a hang. With `tls_ca` / `tls_cert` + `tls_key` the client verifies the
peer against that CA and presents our certificate (mutual TLS); a handshake the peer refuses is a
ConnectorError naming the peer and the TLS reason.
"""

from __future__ import annotations

import os
import re
import ssl
import tempfile
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
                    verify=self._tls_context() or True,
                )
            return self._client

    def _tls_context(self) -> ssl.SSLContext | None:
        """The TLS context for `tls_ca` / `tls_cert` + `tls_key` (None without them: httpx's default).

        Python's ssl loads a certificate chain only from files: the certificate and key are written to a
        private directory (0700, files 0600), loaded, and deleted at once."""
        config = self.config
        if not (config.tls_ca or config.tls_cert):
            return None
        try:
            context = ssl.create_default_context(cadata=config.tls_ca or None)
            if config.tls_cert:
                with tempfile.TemporaryDirectory(prefix="federange-peer-tls-") as folder:
                    cert, key = os.path.join(folder, "cert.pem"), os.path.join(folder, "key.pem")
                    for path, text in ((cert, config.tls_cert), (key, config.tls_key)):
                        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                        with os.fdopen(fd, "w", encoding="utf-8") as file:
                            file.write(text)
                    context.load_cert_chain(cert, key)
        except (ssl.SSLError, ValueError) as exc:
            raise ConnectorError(f"peer {self.peer}: unusable TLS material ({_tls_reason(exc)})") from None
        return context

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
            reason = self._unreachable(exc)
            raise ConnectorError(f"peer {self.peer} unreachable: {reason}", retryable=True) from exc
        return response

    def _unreachable(self, exc: Exception) -> str:
        """Why the call got no answer. A TLS error is OpenSSL's reason (the peer's certificate failed
        verification). A peer requiring mutual TLS that refuses our client certificate (or its absence)
        aborts the connection without the TLS alert reaching us (asyncio servers drop it), so a TLS
        connection closed before any answer is said as such."""
        refused = _tls_failure(exc)
        if refused is not None:
            return f"the TLS handshake failed ({_tls_reason(refused)})"
        if self.config.base_url.startswith("https://") and isinstance(
            exc, (httpx.RemoteProtocolError, httpx.ReadError)
        ):
            ours = "ours" if self.config.tls_cert else "none (no tls_cert and tls_key configured)"
            return (
                f"it closed the TLS connection without answering ({exc}): a peer requiring mutual TLS "
                f"does so for a client certificate it does not accept; we presented {ours}"
            )
        return str(exc)

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


def _tls_failure(exc: BaseException) -> ssl.SSLError | None:
    """The TLS error behind an httpx error, if any (a refused certificate, a missing client one)."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def _tls_reason(exc: BaseException) -> str:
    """OpenSSL's words without the source location ('[SSL: CERTIFICATE_VERIFY_FAILED] certificate
    verify failed: self-signed certificate in certificate chain')."""
    return re.sub(r"\s*\(_ssl\.c:\d+\)$", "", str(exc))


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
