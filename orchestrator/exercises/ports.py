"""What the exercise lifecycle needs from the rest of the system, as Protocols.

The database layer implements the stores inside one unit of work; `Transactions` opens one.
Lifecycle handlers open short transactions around connector calls, never one spanning a deploy: a
deploy takes minutes, a row lock must not.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any, Protocol

from connectors.base import Connector
from orchestrator.booking.service import BookingService
from orchestrator.catalogue.health import RangeHealth
from orchestrator.catalogue.scenario_facts import ScenarioHandle, ScenarioPin
from orchestrator.domain.actions import DueAction
from orchestrator.domain.catalogue import Organisation, RangeRecord
from orchestrator.exercises.model import (
    Claimable,
    Exercise,
    ExerciseEvent,
    ExerciseKind,
    Instance,
    Stage,
    StageOutcome,
    StageRecord,
    WarmPool,
)
from orchestrator.identity.audit import AuditEvent
from orchestrator.identity.principals import Principal


class ExerciseStore(Protocol):
    def add_exercise(self, exercise: Exercise) -> None: ...
    def get_exercise(
        self, exercise_id: str, *, lock: bool = False, placement: bool = True
    ) -> Exercise | None:
        """The exercise (locked for update with `lock`); without `placement`, its placement is
        PLACEMENT_NOT_LOADED (cheap whatever the exercise's size) and saving it keeps the stored one."""
        ...

    def save_exercise(self, exercise: Exercise) -> None: ...
    def list_exercises(
        self, *, owner_organisation_id: str | None, kind: ExerciseKind | None, statuses: Sequence[str] | None
    ) -> Sequence[Exercise]: ...

    def add_instance(self, instance: Instance) -> None:
        """A new instance and its first stage record (its stage, running since it was created)."""
        ...

    def get_instance(self, instance_id: str, *, lock: bool = False) -> Instance | None: ...
    def lock_exercise_of(self, instance_id: str, *, shared: bool = False) -> Exercise | None:
        """The instance's exercise (without its placement), locked in one statement (None: no such
        instance): for update, or with `shared` for share (a team's step, beside the exercise's other
        teams' steps; a change of the exercise itself waits for them)."""
        ...

    def save_instance(self, instance: Instance, *, locked: bool = False) -> None:
        """Store the instance's new state (LookupError when it does not exist). `locked`: this
        transaction read it under its lock or its exercise's, so it exists; the write may go out with
        the next statement or the COMMIT (db.engine.write_later)."""
        ...

    def instances_of(self, exercise_id: str) -> Sequence[Instance]: ...
    def instance_page(self, exercise_id: str, *, offset: int, limit: int) -> Sequence[Instance]:
        """One page of an exercise's instances, ordered by team."""
        ...

    def stage_counts(self, exercise_id: str, *, booking_id: str | None = None) -> Mapping[Stage, int]:
        """How many instances of the exercise (on one booking, when given) are in each stage: one
        aggregate query, so deciding the exercise status never loads the instances."""
        ...

    def instances_on(self, range_id: str, *, stages: Sequence[Stage]) -> Sequence[Instance]: ...
    def known_instance_ids(self, instance_ids: Sequence[str]) -> set[str]: ...

    def start_stage(
        self,
        *,
        instance_id: str,
        stage: Stage,
        at: datetime,
        log: Sequence[str] = (),
        finished: StageOutcome | None = None,
    ) -> None:
        """Open the instance's next stage record (its log starting with `log`); with `finished`, the
        record is closed at once with that outcome. One statement, which may go out with the next one
        or the COMMIT (db.engine.write_later), like closing the running record."""
        ...

    def append_stage_log(self, instance_id: str, lines: Sequence[str]) -> None:
        """Append to the log of the instance's latest stage record (one statement)."""
        ...

    def close_running_stage(
        self, instance_id: str, *, outcome: StageOutcome, at: datetime, error: str = ""
    ) -> None:
        """Finish the instance's latest stage record if it is still running (one statement)."""
        ...

    def stages_of(self, instance_id: str) -> Sequence[StageRecord]: ...
    def stages_of_many(self, instance_ids: Sequence[str]) -> Mapping[str, Sequence[StageRecord]]:
        """The stage histories of several instances at once (one query), in order."""
        ...

    def replace_team_link(
        self, *, instance_id: str, digest: str, prefix: str, created_by: str, at: datetime
    ) -> None:
        """Store a team link's digest for an instance, revoking the instance's earlier links."""
        ...

    def instance_for_team_link(self, digest: str) -> Instance | None:
        """The instance of the live team link with this digest."""
        ...

    def add_event(self, event: ExerciseEvent) -> None: ...
    def events_of(self, exercise_id: str) -> Sequence[ExerciseEvent]: ...


class PoolStore(Protocol):
    """Warm pools (see exercises.pools); the pool's exercise, instances and booking live in the other
    stores under the pool's id."""

    def add_pool(self, pool: WarmPool) -> None: ...
    def get_pool(self, pool_id: str) -> WarmPool | None: ...
    def save_pool(self, pool: WarmPool) -> None: ...
    def pools_on(self, range_id: str) -> Sequence[WarmPool]: ...
    def active_pools(self) -> Sequence[WarmPool]:
        """Pools whose exercise is not over (scheduled, deploying or running)."""
        ...

    def next_claimable(self, pin: ScenarioPin, *, now: datetime, lock: bool = False) -> Claimable | None:
        """The longest-ready instance of a live pool of exactly this scenario document, with its pool and
        its range's facts (None: none ready); with `lock`, that one instance locked for the claim, skipping
        rows another transaction holds (a second launch at the same moment gets the next one)."""
        ...


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


class ScenarioSource(Protocol):
    def resolve(self, actor: Principal, ref: str) -> ScenarioHandle:
        """`[owner/]name[@version]` as the actor may use it (a bare name: its organisation's, then the
        library's); the newest matching version; raises NotFound."""
        ...

    def pinned(self, pin: ScenarioPin) -> ScenarioHandle:
        """Exactly the document an exercise booked; raises when it is gone or changed."""
        ...

    def mark_used(self, handle: ScenarioHandle) -> None: ...


class UnitOfWork(Protocol):
    """One transaction: the stores the lifecycle touches and the booking engine's use cases on it."""

    @property
    def exercises(self) -> ExerciseStore: ...
    @property
    def actions(self) -> ActionScheduler: ...
    @property
    def catalogue(self) -> CatalogueReader: ...
    @property
    def booking(self) -> BookingService: ...
    @property
    def scenarios(self) -> ScenarioSource: ...
    @property
    def pools(self) -> PoolStore: ...


Transactions = Callable[[], AbstractContextManager[UnitOfWork]]
#: Every per-instance value (flags, passwords) of a scenario for one instance id, derived from the seed.
InstanceValues = Callable[[ScenarioHandle, str], Mapping[str, str]]
ConnectorFactory = Callable[[RangeRecord], Connector]
