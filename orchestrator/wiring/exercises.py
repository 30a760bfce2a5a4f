"""Wiring of the exercise lifecycle: its unit of work and the connectors by range."""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property
from typing import TYPE_CHECKING

from connectors import registry
from connectors.base import Connector
from orchestrator.db.actions_store import SqlActionStore
from orchestrator.db.catalogue_store import SqlCatalogueStore
from orchestrator.db.exercise_store import SqlExerciseStore
from orchestrator.db.uow import UnitOfWork
from orchestrator.domain.catalogue import RangeRecord
from orchestrator.exercises.ports import Transactions, Unit
from orchestrator.wiring.bookings import EngineBookings
from orchestrator.wiring.scenario_source import CatalogueScenarios

if TYPE_CHECKING:
    from orchestrator.wiring import Services

log = logging.getLogger(__name__)


class ExerciseUnit:
    """One unit of work seen as the exercise lifecycle's `Unit`."""

    def __init__(self, uow: UnitOfWork, services: Services) -> None:
        self._uow = uow
        self._services = services

    @cached_property
    def exercises(self) -> SqlExerciseStore:
        return self._uow.exercises

    @cached_property
    def actions(self) -> SqlActionStore:
        return self._uow.actions

    @cached_property
    def catalogue(self) -> SqlCatalogueStore:
        return self._uow.catalogue

    @cached_property
    def bookings(self) -> EngineBookings:
        store = self._uow.bookings
        return EngineBookings(self._services.booking(store), store)

    @cached_property
    def scenarios(self) -> CatalogueScenarios:
        return CatalogueScenarios(self._services.scenarios(self._uow.scenarios))


def transactions(services: Services) -> Transactions:
    """Opens a unit of work per call: the short transactions lifecycle handlers use around I/O."""

    @contextmanager
    def open_unit() -> Iterator[Unit]:
        with services.uow() as uow:
            yield ExerciseUnit(uow, services)

    return open_unit


class ConnectorCache:
    """One connector per range and connector configuration, reused across actions (connectors are
    thread-safe and keep their HTTP clients); a changed configuration builds a new one."""

    def __init__(self) -> None:
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
        connector = registry.load(record.connector.kind, config)
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
