"""The federation connector's config: where the peer answers, which of its ranges, our peer token
(secret: sealed at rest, never shown) and, for mutual TLS, the CA the peer's certificate is checked
against and our client certificate and key (the key secret). Imports no HTTP client (the orchestrator
reads it to seal)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from connectors.base import ConfigProblem
from connectors.schema import ConfigModel, Secret


class FederationConfig(ConfigModel):
    #: The peer's base URL (`https://lv.example.eu`); the federation API is under /federation/v1.
    base_url: str = Field(min_length=1, max_length=500, pattern=r"^https?://[^\s/]+(/[^\s]*)?$")
    #: The range's slug at the peer (empty: the peer itself, for the handshake and its published ranges).
    range: str = Field(default="", max_length=63)
    #: The peer's name here (refusals are reported as "<peer>/<range>: <reason>").
    peer: str = Field(default="", max_length=63)
    #: The peer token the peer issued to us (role `peer`).
    token: Annotated[str, Secret()] = Field(min_length=1, max_length=500)
    #: Every call is bounded by this (seconds): a slow peer is a refusal naming it, never a hang.
    timeout_seconds: float = Field(default=10.0, gt=0, le=300)
    #: How often `wait_ready` asks the peer for the instance's status (seconds).
    ready_poll_seconds: float = Field(default=0.5, gt=0, le=60)
    #: TLS (`https://` base URL): the CA certificate(s) the peer's certificate must chain to (PEM text;
    #: empty: the system's CAs), and our client certificate (PEM, chain after it) and private key (PEM)
    #: for a peer that requires mutual TLS. Without them nothing changes.
    tls_ca: str = Field(default="", max_length=200_000)
    tls_cert: str = Field(default="", max_length=200_000)
    tls_key: Annotated[str, Secret()] = Field(default="", max_length=200_000)

    def problems(self) -> list[ConfigProblem]:
        found = []
        if bool(self.tls_cert) != bool(self.tls_key):
            found.append(ConfigProblem(path=("tls_cert",), reason="tls_cert and tls_key go together"))
        if (self.tls_ca or self.tls_cert) and not self.base_url.startswith("https://"):
            found.append(ConfigProblem(path=("base_url",), reason="TLS material needs an https:// base URL"))
        return found
