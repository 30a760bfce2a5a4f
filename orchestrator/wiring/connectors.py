"""The connectors of the ranges, built by kind name and reused per range and configuration."""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections.abc import Callable

from connectors import registry
from connectors.base import Connector
from orchestrator.domain.catalogue import RangeRecord
from orchestrator.wiring.metrics import MeteredConnector

log = logging.getLogger(__name__)

#: Wraps a range's connector once, when it is built (the hub's audit of its calls to a peer's range).
Wrap = Callable[[RangeRecord, Connector], Connector]


class ConnectorCache:
    """One connector per range and connector configuration, reused across actions (connectors are
    thread-safe and keep their HTTP clients); a changed configuration builds a new one. `peer_calls`
    wraps the connectors of kind `federation` (set by the composition root: the hub's audit)."""

    def __init__(self) -> None:
        self.peer_calls: Wrap | None = None
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[str, Connector]] = {}
        self._retired: list[Connector] = []

    def __call__(self, record: RangeRecord) -> Connector:
        config = record.connector.merged()  # secrets unsealed only here, for the connector itself
        key = hashlib.sha256(
            json.dumps([record.connector.kind, config], sort_keys=True, default=str).encode()
        ).hexdigest()
        with self._lock:
            cached = self._cache.get(record.id)
            if cached is not None and cached[0] == key:
                return cached[1]
        connector: Connector = MeteredConnector(
            registry.load(record.connector.kind, config), record.connector.kind
        )
        if record.connector.kind == "federation" and self.peer_calls is not None:
            connector = self.peer_calls(record, connector)
        with self._lock:
            replaced = self._cache.get(record.id)
            if replaced is not None:  # an action may still be using it: close it at shutdown
                self._retired.append(replaced[1])
            self._cache[record.id] = (key, connector)
        return connector

    def close(self) -> None:
        """Close every connector built (their HTTP clients and sockets); the cache is empty afterwards."""
        with self._lock:
            built = [c for _, c in self._cache.values()] + self._retired
            self._cache.clear()
            self._retired.clear()
        for connector in built:
            connector.close()
