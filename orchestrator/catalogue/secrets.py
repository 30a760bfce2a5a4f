"""Which connector config fields are secrets (encrypted at rest, never returned by the API)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

SECRET_FIELDS = frozenset(
    {"kubeconfig", "token", "password", "private_key", "client_key", "ssh_key", "ca_key", "secret", "key"}
)
SECRET_SUFFIXES = ("_token", "_password", "_key", "_secret", "_kubeconfig")


def is_secret_field(name: str) -> bool:
    lowered = name.lower()
    return lowered in SECRET_FIELDS or lowered.endswith(SECRET_SUFFIXES)


def split_config(config: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """Split a connector config into (public part, secret part); secret values must be strings."""
    public: dict[str, Any] = {}
    hidden: dict[str, str] = {}
    for name, value in config.items():
        if is_secret_field(name):
            hidden[name] = value if isinstance(value, str) else str(value)
        else:
            public[name] = value
    return public, hidden
