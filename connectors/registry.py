"""Connectors by kind name, through the `federange.connectors` entry-point group.

The orchestrator reaches concrete connectors only through here; unknown kinds fail at start-up with the
list of known ones.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from importlib.metadata import entry_points
from typing import Any, cast

from connectors.base import Connector

GROUP = "federange.connectors"


class UnknownConnectorKind(LookupError):
    def __init__(self, kind: str, known: Iterable[str]) -> None:
        self.kind = kind
        self.known = sorted(known)
        known_text = ", ".join(self.known) or "none installed"
        super().__init__(f"unknown connector kind '{kind}' (known: {known_text})")


def known_kinds() -> list[str]:
    return sorted({ep.name for ep in entry_points(group=GROUP)})


def ensure_known(kinds: Iterable[str]) -> None:
    known = set(known_kinds())
    for kind in kinds:
        if kind not in known:
            raise UnknownConnectorKind(kind, known)


def connector_class(kind: str) -> type[Connector]:
    for ep in entry_points(group=GROUP):
        if ep.name == kind:
            return cast("type[Connector]", ep.load())
    raise UnknownConnectorKind(kind, known_kinds())


def load(kind: str, config: Mapping[str, Any]) -> Connector:
    """Build the connector for `kind` from a range's connector config (public fields and secrets merged)."""
    factory: Any = connector_class(kind)
    connector: Connector = factory(config)
    return connector
