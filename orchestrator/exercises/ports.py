"""What the exercise lifecycle needs from the rest of the system, as Protocols.

The database layer implements the stores inside one unit of work (`Unit`); `Transactions` opens one.
Lifecycle handlers open short transactions around connector calls, never one spanning a deploy: a
deploy takes minutes, a row lock must not.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from connectors.base import Connector, Resources
from orchestrator.catalogue.health import RangeHealth
from orchestrator.domain.actions import DueAction
from orchestrator.domain.catalogue import Organisation, RangeRecord
from orchestrator.exercises.model import (
    Exercise,
    ExerciseEvent,
    ExerciseKind,
    Instance,
    Stage,
    StageOutcome,
    StageRecord,
)
from orchestrator.identity.audit import AuditEvent
from orchestrator.identity.principals import Principal
from scenarios.model import Scenario


class ExerciseStore(Protocol):
    def add_exercise(self, exercise: Exercise) -> None: ...
    def get_exercise(self, exercise_id: str, *, lock: bool = False) -> Exercise | None: ...
    def save_exercise(self, exercise: Exercise) -> None: ...
    def list_exercises(
        self, *, owner_organisation_id: str | None, kind: ExerciseKind | None, statuses: Sequence[str] | None
    ) -> Sequence[Exercise]: ...

    def add_instance(self, instance: Instance) -> None: ...
    def get_instance(self, instance_id: str, *, lock: bool = False) -> Instance | None: ...
    def save_instance(self, instance: Instance) -> None: ...
    def instances_of(self, exercise_id: str) -> Sequence[Instance]: ...
    def instances_on(self, range_id: str, *, stages: Sequence[Stage]) -> Sequence[Instance]: ...
    def known_instance_ids(self, instance_ids: Sequence[str]) -> set[str]: ...

    def start_stage(self, *, instance_id: str, stage: Stage, at: datetime) -> StageRecord: ...
    def append_stage_log(self, record_id: str, lines: Sequence[str]) -> None: ...
    def finish_stage(
        self, record_id: str, *, outcome: StageOutcome, at: datetime, error: str = ""
    ) -> None: ...
    def stages_of(self, instance_id: str) -> Sequence[StageRecord]: ...

    def add_event(self, event: ExerciseEvent) -> None: ...
    def events_of(self, exercise_id: str) -> Sequence[ExerciseEvent]: ...


class ActionScheduler(Protocol):
    def schedule(
        self,
        *,
        kind: str,
        object_kind: str,
        object_id: str,
        due_at: datetime,
        now: datetime,
        payload: Mapping[str, Any] | None = None,
        max_attempts: int = 5,
    ) -> DueAction: ...

    def cancel_for(self, *, object_kind: str, object_id: str, kinds: Sequence[str] | None = None) -> int: ...
    def list_for(self, *, object_kind: str, object_id: str) -> list[DueAction]: ...


class CatalogueReader(Protocol):
    def get_organisation(self, organisation_id: str) -> Organisation | None: ...
    def get_range(self, ref: str) -> RangeRecord | None: ...
    def list_ranges(
        self, *, country: str | None, capability: str | None, status: str | None
    ) -> Sequence[RangeRecord]: ...
    def add_audit(self, event: AuditEvent) -> None: ...
    def health_of(self, range_ids: Sequence[str]) -> Mapping[str, RangeHealth]: ...


@dataclass(frozen=True, kw_only=True)
class FreeCapacity:
    """What one owner may still book on a range over a window: per dimension, with the instant of the
    bottleneck (for reasons such as "free 12000 cpu millicores < 16000 needed at ...")."""

    free: Resources
    at: Mapping[str, datetime]


class BookingPort(Protocol):
    """The booking engine as the exercise lifecycle uses it (atomic, inside the caller's transaction)."""

    def free_for(
        self,
        *,
        range_ids: Sequence[str],
        start: datetime,
        end: datetime,
        owner_organisation_id: str,
        owner_country: str,
    ) -> Mapping[str, FreeCapacity]: ...

    def book(
        self,
        actor: Principal,
        *,
        owner_organisation_id: str,
        items: Sequence[tuple[str, Resources]],
        start: datetime,
        end: datetime,
        purpose: str,
        reference: str,
        request_id: str,
    ) -> list[str]:
        """Book every item (one per range) or none (raises Refused with every reason); returns the booking
        ids in item order. `request_id` makes it idempotent: repeating it returns the same bookings."""
        ...

    def status(self, booking_ids: Sequence[str]) -> Mapping[str, str]: ...
    def activate(self, booking_ids: Sequence[str]) -> None: ...
    def release(self, booking_ids: Sequence[str]) -> None: ...
    def cancel(self, actor: Principal, booking_ids: Sequence[str], *, reason: str) -> None: ...
    def renew(self, actor: Principal, booking_ids: Sequence[str], *, end: datetime) -> None: ...
    def reduce(self, actor: Principal, booking_id: str, *, demand: Resources, reason: str) -> None:
        """Lower a booking's demand to `demand` (never needs admission: it only frees capacity)."""
        ...


@dataclass(frozen=True, kw_only=True)
class ScenarioHandle:
    """A scenario version ready to deploy: its document (as stored, what connectors and provisioners
    are handed), the parsed document, and where its files (playbooks) live."""

    name: str
    version: str
    document: str
    scenario: Scenario
    base_dir: Path | None


class ScenarioSource(Protocol):
    def resolve(self, ref: str) -> ScenarioHandle:
        """`name` or `name@version` -> the newest matching version; raises NotFound."""
        ...

    def mark_used(self, name: str, version: str) -> None: ...


class Unit(Protocol):
    """One transaction's view of everything the lifecycle touches."""

    @property
    def exercises(self) -> ExerciseStore: ...
    @property
    def actions(self) -> ActionScheduler: ...
    @property
    def catalogue(self) -> CatalogueReader: ...
    @property
    def bookings(self) -> BookingPort: ...
    @property
    def scenarios(self) -> ScenarioSource: ...


Transactions = Callable[[], AbstractContextManager[Unit]]
ConnectorFactory = Callable[[RangeRecord], Connector]
