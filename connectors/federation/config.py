"""The federation connector's config: where the peer answers, which of its ranges, and our peer token
(secret: sealed at rest, never shown). Imports no HTTP client (the orchestrator reads it to seal)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

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
