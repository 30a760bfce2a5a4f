"""Warm pools: ready instances of a scenario kept on a range, claimed by environments at once.

A range's operators (or an admin) keep a pool of `min_ready` instances of one scenario document on their
range (`WarmPool`). The pool is an exercise of kind `pool`, owned by the range's operator organisation:
its one booking holds `max_ready` instances' worth of capacity for the pool's window (placement checks
the range as for any exercise: capabilities, security policy, free capacity), and its instances deploy
through the ordinary lifecycle. While unclaimed, an instance counts against that booking only.

`POST /api/v1/environments` for exactly the pool's scenario document (and no placement constraints)
claims the pool's longest-ready instance: the environment books its own capacity on the pool's range
(the researcher's quota and the range's sharing policy apply as for any launch; the range needs room for
that booking beside the pool's, which keeps room for the refill), the instance moves into
the environment (ready, its stage history kept) and leaves the pool's booking, and a `pool.refill` due
action tops the pool up in the background (fresh instances, to keep `min_ready` on their way). A claim
locks the claimed instance's row only (others being claimed are skipped), never the pool's exercise, so
it does not wait for the pool's refills. A claim that cannot book
(quota, policy) falls back to an ordinary launch.

Per-instance values (flags, passwords) derive from the instance's id, so every pooled instance already
has values of its own; nobody sees them before the claim (a pool's exercise is not readable through the
exercise or environment routes, and gives no access details), so none needs re-materialising.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import timedelta

from orchestrator.booking.requests import BookingItem, BookingRequest
from orchestrator.booking.selection import Selection
from orchestrator.catalogue.scenario_facts import ScenarioHandle
from orchestrator.domain.bookings import BookingStatus, Purpose
from orchestrator.domain.catalogue import RangeRecord
from orchestrator.domain.clock import Clock
from orchestrator.domain.errors import FieldProblem, InvalidInput, NotFound, Refused
from orchestrator.exercises import schedule
from orchestrator.exercises.events import note
from orchestrator.exercises.lifecycle import Runtime
from orchestrator.exercises.model import (
    EXERCISE_MACHINE,
    Exercise,
    ExerciseDraft,
    ExerciseKind,
    ExerciseStatus,
    Instance,
    Stage,
    WarmPool,
)
from orchestrator.exercises.placing import owner_of, place_draft
from orchestrator.exercises.ports import Transactions, UnitOfWork
from orchestrator.exercises.service import Detail, ExerciseService, new_instance_id
from orchestrator.exercises.stages import log_lines, stamp
from orchestrator.identity import audit, permissions
from orchestrator.identity.permissions import Action
from orchestrator.identity.principals import SYSTEM, Principal
from orchestrator.placement.request import Constraints, Team
from orchestrator.placement.result import Assignment, Placement, RangeOutcome, Verdict

#: Instance stages that occupy the pool's booking (a failed one until it is torn down).
OCCUPYING = frozenset({Stage.BOOKED, Stage.DEPLOYING, Stage.PROVISIONING, Stage.READY, Stage.FAILED})
#: Instance stages on their way to ready (or ready): what `min_ready` counts.
COMING = frozenset({Stage.BOOKED, Stage.DEPLOYING, Stage.PROVISIONING, Stage.READY})
MAX_POOL = 500


@dataclass(frozen=True, kw_only=True)
class PoolView:
    pool: WarmPool
    exercise: Exercise
    range_slug: str
    stages: Mapping[Stage, int] = field(default_factory=dict)


class PoolService:
    def __init__(self, *, exercises: ExerciseService) -> None:
        self.exercises = exercises
        self.unit: UnitOfWork = exercises.unit
        self.clock: Clock = exercises.clock

    # -- reading ---------------------------------------------------------------------------------
    def _range(self, actor: Principal, ref: str, action: Action) -> RangeRecord:
        record = self.unit.catalogue.get_range(ref)
        if record is None:
            raise NotFound(f"range '{ref}' does not exist")
        permissions.require(actor, action, operator=record.operator_organisation_id)
        return record

    def _view(self, pool: WarmPool, record: RangeRecord | None = None) -> PoolView:
        exercise = self.unit.exercises.get_exercise(pool.id)
        if exercise is None:
            raise NotFound(f"warm pool '{pool.id}' does not exist")
        record = record or self.unit.catalogue.get_range(pool.range_id)
        return PoolView(
            pool=pool,
            exercise=exercise,
            range_slug="" if record is None else record.slug,
            stages=self.unit.exercises.stage_counts(pool.id),
        )

    def _pool(self, actor: Principal, pool_id: str, action: Action) -> tuple[WarmPool, RangeRecord]:
        pool = self.unit.pools.get_pool(pool_id)
        record = None if pool is None else self.unit.catalogue.get_range(pool.range_id)
        if pool is None or record is None:
            raise NotFound(f"warm pool '{pool_id}' does not exist")
        permissions.require(actor, action, operator=record.operator_organisation_id)
        return pool, record

    def get(self, actor: Principal, pool_id: str) -> PoolView:
        pool, record = self._pool(actor, pool_id, Action.POOL_READ)
        return self._view(pool, record)

    def list_on(self, actor: Principal, range_ref: str) -> list[PoolView]:
        record = self._range(actor, range_ref, Action.POOL_READ)
        return [self._view(p, record) for p in self.unit.pools.pools_on(record.id)]

    # -- keeping ---------------------------------------------------------------------------------
    def create(
        self,
        actor: Principal,
        *,
        range_ref: str,
        scenario: str,
        min_ready: int,
        max_ready: int,
        lifetime: timedelta,
    ) -> PoolView:
        """Book `max_ready` instances' worth of the range for `lifetime` and deploy `min_ready` now."""
        record = self._range(actor, range_ref, Action.POOL_MANAGE)
        problems = []
        if not 1 <= max_ready <= MAX_POOL:
            problems.append(FieldProblem("max_ready", f"must be between 1 and {MAX_POOL}"))
        if not 0 <= min_ready <= max_ready:
            problems.append(FieldProblem("min_ready", f"must be between 0 and max_ready ({max_ready})"))
        if lifetime <= timedelta(0):
            problems.append(FieldProblem("hours", "must be positive"))
        if problems:
            raise InvalidInput(problems)
        handle = self.unit.scenarios.resolve(actor, scenario)
        now = self.clock.now()
        owner_id = record.operator_organisation_id
        draft = ExerciseDraft(
            name=f"warm pool of {handle.ref} on {record.slug}",
            scenario=scenario,
            teams=tuple(Team(name=f"pool-{n:03d}", organisation="", country="") for n in range(max_ready)),
            start=now,
            end=now + lifetime,
            lead=timedelta(0),
            warn_before_end=timedelta(0),
            constraints=Constraints(include_ranges=frozenset({record.id})),
            strategy="pack",
            kind=ExerciseKind.POOL,
        )
        placement = place_draft(
            self.unit, self.exercises.plugins, draft, handle, owner=owner_of(self.unit, owner_id), now=now
        )
        if not placement.feasible:
            raise Refused(list(placement.reasons) or [f"range '{record.slug}' cannot hold the pool"])
        pool_id = str(uuid.uuid4())
        exercise = Exercise.scheduled(
            draft,
            id=pool_id,
            owner_organisation_id=owner_id,
            created_by=actor.id,
            scenario=handle.pin,
            placement=placement,
            now=now,
        )
        self.unit.booking.create_request(
            SYSTEM.acting_through(pool_id),
            BookingRequest(
                items=[BookingItem(range_ref=b.range_id, demand=b.demand) for b in placement.bookings()],
                start=draft.start,
                end=draft.end,
                purpose=Purpose.POOL,
                reference=pool_id,
                hold=False,
                request_id=pool_id,
                new_request=True,
            ),
            owner_organisation_id=owner_id,
        )
        self.unit.exercises.add_exercise(exercise)
        pool = WarmPool(
            id=pool_id,
            range_id=record.id,
            min_ready=min_ready,
            max_ready=max_ready,
            created_at=now,
            updated_at=now,
        )
        self.unit.pools.add_pool(pool)
        schedule.schedule_exercise(self.unit.actions, exercise, now=now)
        self.unit.scenarios.mark_used(handle)
        refill(self.unit, self.clock, pool)
        note(
            self.unit, self.clock, pool_id, f"keeps {min_ready} (at most {max_ready}) ready on {record.slug}"
        )
        self.exercises.audit(
            actor,
            "pool.create",
            kind="pool",
            object_id=pool_id,
            range_id=record.id,
            organisation_id=owner_id,
            after={"scenario": handle.ref, "min_ready": min_ready, "max_ready": max_ready},
        )
        return self._view(pool, record)

    def resize(self, actor: Principal, pool_id: str, *, min_ready: int) -> PoolView:
        """Keep another number ready, within the booked `max_ready`."""
        pool, record = self._pool(actor, pool_id, Action.POOL_MANAGE)
        if not 0 <= min_ready <= pool.max_ready:
            raise InvalidInput(
                FieldProblem("min_ready", f"must be between 0 and the pool's max_ready ({pool.max_ready})")
            )
        self.unit.exercises.get_exercise(pool.id, lock=True)
        changed = replace(pool, min_ready=min_ready, updated_at=self.clock.now())
        self.unit.pools.save_pool(changed)
        refill(self.unit, self.clock, changed)
        self.exercises.audit(
            actor,
            "pool.resize",
            kind="pool",
            object_id=pool.id,
            range_id=record.id,
            organisation_id=record.operator_organisation_id,
            before={"min_ready": pool.min_ready},
            after={"min_ready": min_ready},
        )
        return self._view(changed, record)

    def delete(self, actor: Principal, pool_id: str) -> PoolView:
        """Tear the unclaimed instances down now and give the booking back (claimed ones are not the
        pool's any more: they live on with their environments)."""
        pool, record = self._pool(actor, pool_id, Action.POOL_MANAGE)
        exercise = self.unit.exercises.get_exercise(pool.id, lock=True)
        if exercise is None or exercise.status in (ExerciseStatus.DONE, ExerciseStatus.CANCELLED):
            return self._view(pool, record)
        now = self.clock.now()
        self.unit.actions.cancel_for(object_kind="exercise", object_id=pool.id)
        counts = self.unit.exercises.stage_counts(pool.id)
        if not any(n for stage, n in counts.items() if stage is not Stage.DONE):
            # Nothing of the pool is on the range: end it and give the booking back at once.
            _give_back(self.unit, pool.id)
            status = exercise.status
            if status is not ExerciseStatus.TEARING_DOWN:
                status = EXERCISE_MACHINE.move(status, ExerciseStatus.TEARING_DOWN)
            updated = replace(
                exercise,
                status=EXERCISE_MACHINE.move(status, ExerciseStatus.CANCELLED),
                cancelled_by=actor.name,
                updated_at=now,
            )
        else:
            schedule.teardown_exercise(self.unit.actions, pool.id, due_at=now, now=now)
            updated = replace(exercise, cancelled_by=actor.name, updated_at=now)
        self.unit.exercises.save_exercise(updated)
        note(self.unit, self.clock, pool.id, f"deleted by {actor.name}", level="warning")
        self.exercises.audit(
            actor,
            "pool.delete",
            kind="pool",
            object_id=pool.id,
            range_id=record.id,
            organisation_id=record.operator_organisation_id,
        )
        return self._view(pool, record)


def _give_back(unit: UnitOfWork, pool_id: str) -> None:
    for booking in unit.booking.get(SYSTEM, Selection.request(pool_id)):
        if booking.status in (BookingStatus.ACTIVE, BookingStatus.CONFIRMED):
            unit.booking.release(SYSTEM, Selection.booking(booking.id))


def refill(unit: UnitOfWork, clock: Clock, pool: WarmPool) -> int:
    """Add fresh instances (deployed now, in the background) until `min_ready` are ready or on their
    way, never more than `max_ready` on the pool's booking; returns how many were added. The caller holds
    the pool exercise's lock (or made the pool in this transaction)."""
    exercise = unit.exercises.get_exercise(pool.id, placement=False)
    now = clock.now()
    if exercise is None or exercise.status not in _KEEPING or now >= exercise.end:
        return 0
    counts = unit.exercises.stage_counts(pool.id)
    coming = sum(n for stage, n in counts.items() if stage in COMING)
    occupying = sum(n for stage, n in counts.items() if stage in OCCUPYING)
    wanted = min(pool.min_ready - coming, pool.max_ready - occupying)
    if wanted <= 0:
        return 0
    booking_id = next(
        (b.id for b in unit.booking.get(SYSTEM, Selection.request(pool.id)) if b.range_id == pool.range_id),
        None,
    )
    for _ in range(wanted):
        instance_id = new_instance_id()
        instance = Instance(
            id=instance_id,
            exercise_id=pool.id,
            team=f"pool-{instance_id}",  # unique for good: claimed instances leave, names never repeat
            team_organisation="",
            team_country="",
            range_id=pool.range_id,
            booking_id=booking_id,
            stage=Stage.BOOKED,
            stage_reason="",
            failed_stage=None,
            endpoints=(),
            created_at=now,
            updated_at=now,
        )
        unit.exercises.add_instance(instance)
        schedule.schedule_deploy(unit.actions, instance, at=now, now=now, fresh=True)
    return wanted


_KEEPING = frozenset({ExerciseStatus.SCHEDULED, ExerciseStatus.DEPLOYING, ExerciseStatus.RUNNING})


def refill_all(transactions: Transactions, clock: Clock) -> int:
    """The safety net (a scheduler tick): top up every live pool, each in its own transaction under
    its exercise's lock."""
    with transactions() as unit:
        pools = list(unit.pools.active_pools())
    added = 0
    for pool in pools:
        with transactions() as unit:
            unit.exercises.get_exercise(pool.id, lock=True)
            current = unit.pools.get_pool(pool.id)
            if current is not None:
                added += refill(unit, clock, current)
    return added


def refill_pool(rt: Runtime, pool_id: str) -> None:
    """The `pool.refill` action (after a claim): top the pool up under its lock, in the background."""
    with rt.transactions() as unit:
        if unit.exercises.get_exercise(pool_id, lock=True, placement=False) is None:
            return
        pool = unit.pools.get_pool(pool_id)
        if pool is not None:
            refill(unit, rt.clock, pool)


def claim(
    service: ExerciseService, actor: Principal, draft: ExerciseDraft, handle: ScenarioHandle
) -> Detail | None:
    """Launch the environment `draft` on a ready pooled instance of its scenario (`handle`, resolved for
    the actor), or None (no pool has one ready, the launch has placement constraints, or the booking on
    the pool's range is refused). The caller (`EnvironmentService.launch`) has checked that the actor
    may launch and that the draft is valid."""
    if draft.kind is not ExerciseKind.ENVIRONMENT or draft.constraints != Constraints():
        return None
    unit, clock = service.unit, service.clock
    now = clock.now()
    # The instance row alone is locked (skipping those another launch is claiming): a claim never
    # waits for the pool's own lifecycle (its refills deploying under the pool's lock).
    # The pool and its range's facts come with the instance (one query); one instance is locked, so a
    # launch at the same moment claims the next one.
    found = unit.pools.next_claimable(handle.pin, now=now, lock=True)
    if found is None:
        return None
    instance, pool = found.instance, found.pool
    if found.approval_required and found.range_operator_organisation_id != actor.organisation_id:
        return None  # the booking would wait for the operator: not instant; launch the ordinary way
    env_id = str(uuid.uuid4())
    try:
        booked = unit.booking.create_request(
            actor.acting_through(env_id),
            BookingRequest(
                items=[BookingItem(range_ref=pool.range_id, demand=handle.demand)],
                start=draft.start,
                end=draft.end,
                purpose=Purpose.ENVIRONMENT,
                reference=env_id,
                hold=False,
                active=True,  # in use at once: the instance is deployed and ready
                request_id=env_id,
                new_request=True,
            ),
            owner_organisation_id=actor.organisation_id,
        )
    except Refused:
        return None  # an ordinary launch places it elsewhere, or says why it cannot
    (booking,) = booked.bookings
    team = draft.teams[0]
    placement = Placement(
        exercise=env_id,
        feasible=True,
        strategy=draft.strategy,
        assignments=(Assignment(team=team.name, range_id=pool.range_id, range_slug=found.range_slug),),
        ranges=(
            RangeOutcome(
                range_id=pool.range_id,
                range_slug=found.range_slug,
                verdict=Verdict.yes(),
                teams=1,
                demand=handle.demand,
            ),
        ),
    )
    exercise = replace(
        Exercise.scheduled(
            draft,
            id=env_id,
            owner_organisation_id=actor.organisation_id,
            created_by=actor.id,
            scenario=handle.pin,
            placement=placement,
            now=now,
        ),
        status=ExerciseStatus.RUNNING,
        status_reason=f"claimed a ready instance from warm pool {pool.id}",
    )
    unit.exercises.add_exercise(exercise)
    moved = replace(
        instance,
        exercise_id=env_id,
        team=team.name,
        team_organisation=team.organisation,
        team_country=team.country,
        booking_id=booking.id,
        stage_reason="claimed ready from a warm pool",
        updated_at=now,
    )
    unit.exercises.save_instance(moved, locked=True)
    log_lines(unit, moved.id, [stamp(clock, f"claimed from warm pool {pool.id} by {actor.name}")])
    schedule.schedule_exercise(unit.actions, exercise, now=now)
    unit.actions.schedule(
        kind=schedule.REFILL_POOL, object_kind="exercise", object_id=pool.id, due_at=now, now=now
    )
    claimed = note(unit, clock, env_id, f"ready at once: claimed a pooled instance on {found.range_slug}")
    audit.record(
        unit.catalogue,
        clock,
        actor,
        "environment.create",
        kind="environment",
        object_id=env_id,
        organisation_id=actor.organisation_id,
        after={"scenario": handle.ref, "range": found.range_slug, "pool": pool.id, "instance": moved.id},
    )
    return Detail(
        exercise=exercise,
        instances=(moved,),
        stages={},
        team_count=1,
        team_stages={Stage.READY: 1},
        events=(claimed,),
    )
