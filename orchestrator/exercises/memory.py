"""The in-memory unit of work: the fake beside the lifecycle's ports, for pure tests and simulations.

`MemoryWorld` holds what a database would (exercises, instances, stage records, events, due actions,
organisations, ranges, their health, the audit log, bookings) and opens units of work on it with
`transactions()`. A unit of work that raises rolls everything back, as a database transaction does, so
the lifecycle's "every check before the first write" and "a refusal leaves nothing behind" hold here too.
The booking engine is the real `BookingService` over the real in-memory booking store.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from orchestrator.booking.memory import InMemoryBookingStore
from orchestrator.booking.service import BookingService
from orchestrator.catalogue.health import RangeHealth
from orchestrator.catalogue.scenario_facts import ScenarioHandle, ScenarioPin
from orchestrator.domain.actions import ActionStatus, DueAction
from orchestrator.domain.catalogue import Organisation, RangeRecord
from orchestrator.domain.clock import Clock
from orchestrator.domain.errors import NotFound
from orchestrator.exercises.model import (
    Claimable,
    Exercise,
    ExerciseEvent,
    ExerciseKind,
    ExerciseStatus,
    Instance,
    Stage,
    StageOutcome,
    StageRecord,
    WarmPool,
    log_text,
)
from orchestrator.identity.audit import AuditEvent
from orchestrator.identity.principals import Principal


@dataclass
class _State:
    exercises: dict[str, Exercise] = field(default_factory=dict)
    instances: dict[str, Instance] = field(default_factory=dict)
    stages: dict[str, list[StageRecord]] = field(default_factory=dict)
    events: list[ExerciseEvent] = field(default_factory=list)
    actions: dict[str, DueAction] = field(default_factory=dict)
    organisations: dict[str, Organisation] = field(default_factory=dict)
    ranges: dict[str, RangeRecord] = field(default_factory=dict)
    health: dict[str, RangeHealth] = field(default_factory=dict)
    audit: list[AuditEvent] = field(default_factory=list)
    scenarios: dict[str, ScenarioHandle] = field(default_factory=dict)
    used: set[str] = field(default_factory=set)
    pools: dict[str, WarmPool] = field(default_factory=dict)
    #: team link digest -> instance id (live links only)
    team_links: dict[str, str] = field(default_factory=dict)
    bookings: InMemoryBookingStore = field(default_factory=InMemoryBookingStore)


class MemoryExercises:
    """The ExerciseStore port over the world's dictionaries (locks are no-ops: one thread)."""

    def __init__(self, state: _State) -> None:
        self._s = state

    def add_exercise(self, exercise: Exercise) -> None:
        self._s.exercises[exercise.id] = exercise

    def get_exercise(
        self, exercise_id: str, *, lock: bool = False, placement: bool = True
    ) -> Exercise | None:
        return self._s.exercises.get(exercise_id)

    def save_exercise(self, exercise: Exercise) -> None:
        self._s.exercises[exercise.id] = exercise

    def list_exercises(
        self, *, owner_organisation_id: str | None, kind: ExerciseKind | None, statuses: Sequence[str] | None
    ) -> Sequence[Exercise]:
        return sorted(
            (
                e
                for e in self._s.exercises.values()
                if owner_organisation_id in (None, e.owner_organisation_id)
                and kind in (None, e.kind)
                and (statuses is None or e.status.value in statuses)
            ),
            key=lambda e: (e.start, e.id),
        )

    def add_instance(self, instance: Instance) -> None:
        self._s.instances[instance.id] = instance
        self.start_stage(instance_id=instance.id, stage=instance.stage, at=instance.created_at)

    def get_instance(self, instance_id: str, *, lock: bool = False) -> Instance | None:
        return self._s.instances.get(instance_id)

    def save_instance(self, instance: Instance, *, locked: bool = False) -> None:
        self._s.instances[instance.id] = instance

    def lock_exercise_of(self, instance_id: str, *, shared: bool = False) -> Exercise | None:
        found = self._s.instances.get(instance_id)
        return None if found is None else self._s.exercises.get(found.exercise_id)

    def instances_of(self, exercise_id: str) -> Sequence[Instance]:
        return sorted(
            (i for i in self._s.instances.values() if i.exercise_id == exercise_id), key=lambda i: i.team
        )

    def instance_page(self, exercise_id: str, *, offset: int, limit: int) -> Sequence[Instance]:
        return list(self.instances_of(exercise_id))[offset : offset + limit]

    def stage_counts(self, exercise_id: str, *, booking_id: str | None = None) -> Mapping[Stage, int]:
        counts: dict[Stage, int] = {}
        for i in self._s.instances.values():
            if i.exercise_id == exercise_id and booking_id in (None, i.booking_id):
                counts[i.stage] = counts.get(i.stage, 0) + 1
        return counts

    def instances_on(self, range_id: str, *, stages: Sequence[Stage]) -> Sequence[Instance]:
        return [i for i in self._s.instances.values() if i.range_id == range_id and i.stage in stages]

    def known_instance_ids(self, instance_ids: Sequence[str]) -> set[str]:
        return {i for i in instance_ids if i in self._s.instances}

    def start_stage(
        self,
        *,
        instance_id: str,
        stage: Stage,
        at: datetime,
        log: Sequence[str] = (),
        finished: StageOutcome | None = None,
    ) -> None:
        history = self._s.stages.setdefault(instance_id, [])
        record = StageRecord(
            id=str(uuid.uuid4()),
            instance_id=instance_id,
            stage=stage,
            attempt=1 + sum(1 for r in history if r.stage is stage),
            outcome=finished or StageOutcome.RUNNING,
            started_at=at,
            finished_at=at if finished else None,
            error="",
            log=log_text(log),
        )
        history.append(record)

    def _update_stage(self, record_id: str, **changes: Any) -> None:
        for history in self._s.stages.values():
            for n, record in enumerate(history):
                if record.id == record_id:
                    history[n] = replace(record, **changes)
                    return

    def append_stage_log(self, instance_id: str, lines: Sequence[str]) -> None:
        history = self._s.stages.get(instance_id, [])
        if history and lines:
            self._update_stage(history[-1].id, log=history[-1].log + log_text(lines))

    def close_running_stage(
        self, instance_id: str, *, outcome: StageOutcome, at: datetime, error: str = ""
    ) -> None:
        history = self._s.stages.get(instance_id, [])
        if history and history[-1].outcome is StageOutcome.RUNNING:
            self._update_stage(history[-1].id, outcome=outcome, finished_at=at, error=error)

    def stages_of(self, instance_id: str) -> Sequence[StageRecord]:
        return list(self._s.stages.get(instance_id, ()))

    def stages_of_many(self, instance_ids: Sequence[str]) -> Mapping[str, Sequence[StageRecord]]:
        return {i: self.stages_of(i) for i in instance_ids}

    def replace_team_link(
        self, *, instance_id: str, digest: str, prefix: str, created_by: str, at: datetime
    ) -> None:
        self._s.team_links = {d: i for d, i in self._s.team_links.items() if i != instance_id}
        self._s.team_links[digest] = instance_id

    def instance_for_team_link(self, digest: str) -> Instance | None:
        instance_id = self._s.team_links.get(digest)
        return None if instance_id is None else self._s.instances.get(instance_id)

    def add_event(self, event: ExerciseEvent) -> None:
        self._s.events.append(event)

    def events_of(self, exercise_id: str) -> Sequence[ExerciseEvent]:
        return [e for e in self._s.events if e.exercise_id == exercise_id]


class MemoryActions:
    """The ActionScheduler port; `due` lists what a scheduler would claim at a given instant."""

    def __init__(self, state: _State) -> None:
        self._s = state

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
    ) -> DueAction:
        action = DueAction(
            id=str(uuid.uuid4()),
            kind=kind,
            object_kind=object_kind,
            object_id=object_id,
            due_at=due_at,
            payload=dict(payload or {}),
            max_attempts=max_attempts,
        )
        self._s.actions[action.id] = action
        return action

    def cancel_for(self, *, object_kind: str, object_id: str, kinds: Sequence[str] | None = None) -> int:
        cancelled = 0
        for a in list(self._s.actions.values()):
            if (
                a.object_kind == object_kind
                and a.object_id == object_id
                and a.status is ActionStatus.PENDING
                and (not kinds or a.kind in kinds)
            ):
                self._s.actions[a.id] = replace(a, status=ActionStatus.CANCELLED)
                cancelled += 1
        return cancelled

    def list_for(self, *, object_kind: str, object_id: str) -> list[DueAction]:
        return sorted(
            (a for a in self._s.actions.values() if (a.object_kind, a.object_id) == (object_kind, object_id)),
            key=lambda a: (a.due_at, a.id),
        )

    def due(self, now: datetime) -> list[DueAction]:
        """Pending actions due by `now`, oldest first."""
        pending = [
            a for a in self._s.actions.values() if a.status is ActionStatus.PENDING and a.due_at <= now
        ]
        return sorted(pending, key=lambda a: (a.due_at, a.id))

    def finish(self, action_id: str, *, error: str = "", retry_at: datetime | None = None) -> None:
        """Mark an action run: done, or failed (and pending again at `retry_at` while attempts remain)."""
        a = self._s.actions[action_id]
        attempts = a.attempts + 1
        if not error:
            self._s.actions[action_id] = replace(a, status=ActionStatus.DONE, attempts=attempts)
        elif retry_at is not None and attempts < a.max_attempts:
            self._s.actions[action_id] = replace(a, attempts=attempts, due_at=retry_at, last_error=error)
        else:
            self._s.actions[action_id] = replace(
                a, status=ActionStatus.FAILED, attempts=attempts, last_error=error
            )


class MemoryPools:
    """The PoolStore port over the world's dictionaries."""

    def __init__(self, state: _State) -> None:
        self._s = state

    def add_pool(self, pool: WarmPool) -> None:
        self._s.pools[pool.id] = pool

    def get_pool(self, pool_id: str) -> WarmPool | None:
        return self._s.pools.get(pool_id)

    def save_pool(self, pool: WarmPool) -> None:
        self._s.pools[pool.id] = pool

    def pools_on(self, range_id: str) -> Sequence[WarmPool]:
        return sorted(
            (p for p in self._s.pools.values() if p.range_id == range_id), key=lambda p: p.created_at
        )

    def active_pools(self) -> Sequence[WarmPool]:
        active = {ExerciseStatus.SCHEDULED, *_CLAIMABLE}
        return [p for p in self._s.pools.values() if self._s.exercises[p.id].status in active]

    def next_claimable(self, pin: ScenarioPin, *, now: datetime, lock: bool = False) -> Claimable | None:
        live = {
            e.id
            for e in self._s.exercises.values()
            if e.kind is ExerciseKind.POOL and e.status in _CLAIMABLE and e.end > now and e.scenario == pin
        }
        ready = [i for i in self._s.instances.values() if i.exercise_id in live and i.stage is Stage.READY]
        if not ready:
            return None
        first = min(ready, key=lambda i: (i.ready_at or now, i.id))
        pool = self._s.pools[first.exercise_id]
        where = self._s.ranges[pool.range_id]
        return Claimable(
            instance=first,
            pool=pool,
            range_slug=where.slug,
            range_operator_organisation_id=where.operator_organisation_id,
            approval_required=where.policy.approval_required,
        )


_CLAIMABLE = frozenset({ExerciseStatus.DEPLOYING, ExerciseStatus.RUNNING})


class MemoryCatalogue:
    """The CatalogueReader port: organisations, ranges, their health, and the audit log."""

    def __init__(self, state: _State) -> None:
        self._s = state

    def get_organisation(self, organisation_id: str) -> Organisation | None:
        return self._s.organisations.get(organisation_id)

    def get_range(self, ref: str) -> RangeRecord | None:
        found = self._s.ranges.get(ref)
        return found or next((r for r in self._s.ranges.values() if r.slug == ref), None)

    def list_ranges(
        self, *, country: str | None, capability: str | None, status: str | None
    ) -> Sequence[RangeRecord]:
        return sorted(
            (
                r
                for r in self._s.ranges.values()
                if country in (None, r.country)
                and (capability is None or capability in r.capabilities)
                and status in (None, r.status.value)
            ),
            key=lambda r: r.slug,
        )

    def add_audit(self, event: AuditEvent) -> None:
        self._s.audit.append(event)

    def put_health(self, health: RangeHealth) -> None:
        self._s.health[health.range_id] = health

    def health_of(self, range_ids: Sequence[str]) -> Mapping[str, RangeHealth]:
        return {i: self._s.health[i] for i in range_ids if i in self._s.health}


class MemoryScenarios:
    """The ScenarioSource port over handles given to the world (`MemoryWorld.add_scenario`)."""

    def __init__(self, state: _State) -> None:
        self._s = state

    def resolve(self, actor: Principal, ref: str) -> ScenarioHandle:
        """By `[owner/]name[@version]`, among handles the actor's organisation owns or the library's."""
        owned, _, version = ref.partition("@")
        owner, _, name = owned.rpartition("/")
        found = [
            h
            for h in self._s.scenarios.values()
            if h.name == name
            and version in ("", h.version)
            and (owner == h.owner if owner else h.organisation_id in (None, actor.organisation_id))
        ]
        if not found:
            raise NotFound(f"scenario '{ref}' does not exist")
        return max(found, key=lambda h: h.version)

    def pinned(self, pin: ScenarioPin) -> ScenarioHandle:
        found = self._s.scenarios.get(pin.ref)
        if found is None or (pin.digest and found.digest != pin.digest):
            raise NotFound(f"scenario {pin.ref} with digest {pin.digest[:12]} does not exist")
        return found

    def mark_used(self, handle: ScenarioHandle) -> None:
        self._s.used.add(handle.ref)


class MemoryUnitOfWork:
    """One transaction's view of the world (see `MemoryWorld.transactions`)."""

    def __init__(self, state: _State, *, clock: Clock, hold_ttl: timedelta) -> None:
        self.exercises = MemoryExercises(state)
        self.actions = MemoryActions(state)
        self.catalogue = MemoryCatalogue(state)
        self.scenarios = MemoryScenarios(state)
        self.pools = MemoryPools(state)
        self.booking = BookingService(store=state.bookings, clock=clock, hold_ttl=hold_ttl)


class MemoryWorld:
    """Everything a database holds for the lifecycle, in memory; `transactions` is the `Transactions` port."""

    def __init__(self, *, clock: Clock, hold_ttl: timedelta = timedelta(minutes=10)) -> None:
        self.clock = clock
        self.hold_ttl = hold_ttl
        self.state = _State()

    @contextmanager
    def transactions(self) -> Iterator[MemoryUnitOfWork]:
        """A unit of work; an exception inside the block restores the world as it was before it."""
        before = copy.deepcopy(self.state)
        try:
            yield MemoryUnitOfWork(self.state, clock=self.clock, hold_ttl=self.hold_ttl)
        except BaseException:
            self.state = before
            raise

    def add_organisation(self, organisation: Organisation) -> None:
        self.state.organisations[organisation.id] = organisation
        self.state.bookings.organisations[organisation.id] = organisation

    def add_range(self, record: RangeRecord) -> None:
        self.state.ranges[record.id] = record
        self.state.bookings.put_range(record.snapshot())

    def add_scenario(self, handle: ScenarioHandle) -> None:
        self.state.scenarios[handle.ref] = handle
