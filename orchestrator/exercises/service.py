"""Exercise and environment use cases: plan, create (plan + book + schedule), read, cancel, extend, retry.

Everything here runs inside the caller's unit of work: creating an exercise places the teams, books every
range in one atomic request and schedules the due actions in the same transaction, so an exercise either
exists with all its bookings and its schedule, or not at all.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from orchestrator.booking.requests import BookingItem, BookingRequest
from orchestrator.booking.selection import Selection
from orchestrator.catalogue.scenario_facts import ScenarioHandle
from orchestrator.domain.bookings import Purpose
from orchestrator.domain.clock import Clock
from orchestrator.domain.errors import Conflict, FieldProblem, Forbidden, InvalidInput, NotFound, Refused
from orchestrator.exercises import schedule
from orchestrator.exercises.events import note
from orchestrator.exercises.model import (
    EXERCISE_MACHINE,
    INSTANCE_MACHINE,
    RETRYABLE,
    Exercise,
    ExerciseDraft,
    ExerciseEvent,
    ExerciseKind,
    ExerciseStatus,
    Instance,
    Stage,
    StageRecord,
)
from orchestrator.exercises.placing import owner_of, place_draft
from orchestrator.exercises.ports import UnitOfWork
from orchestrator.exercises.views import exercise_view
from orchestrator.identity import audit, permissions
from orchestrator.identity.permissions import Action, Scope
from orchestrator.identity.principals import Principal
from orchestrator.placement.plugins import Plugins
from orchestrator.placement.result import Placement

#: Why a team got the range it did, when it got its preference.
ON_OWN_COUNTRY = "on a range in its own country"

#: Exercise statuses in which the exercise still holds bookings and may hold instances.
ACTIVE_STATUSES = (
    ExerciseStatus.SCHEDULED,
    ExerciseStatus.DEPLOYING,
    ExerciseStatus.RUNNING,
    ExerciseStatus.TEARING_DOWN,
)


def bookings_of(instances: Sequence[Instance]) -> list[str]:
    """The distinct bookings the instances hold (teams on one range share their exercise's booking)."""
    return sorted({i.booking_id for i in instances if i.booking_id})


def new_instance_id() -> str:
    """DNS-label safe, short (connectors derive namespace/container names from it), unique."""
    return "x" + uuid.uuid4().hex[:11]


#: Teams per page of an exercise's detail, unless the caller asks otherwise.
TEAMS_PER_PAGE = 500


@dataclass(frozen=True, kw_only=True)
class Detail:
    """An exercise with one page of its instances (ordered by team) and their stage histories.
    `team_count` and `team_stages` cover every instance, whatever the page."""

    exercise: Exercise
    instances: tuple[Instance, ...]
    stages: Mapping[str, Sequence[StageRecord]]
    team_count: int = 0
    team_stages: Mapping[Stage, int] = field(default_factory=dict)
    offset: int = 0
    #: Every event of the exercise, when the service has them all (a new exercise: those it wrote);
    #: None: read them from the store.
    events: tuple[ExerciseEvent, ...] | None = None


class ExerciseService:
    def __init__(self, *, unit: UnitOfWork, clock: Clock, plugins: Plugins) -> None:
        self.unit = unit
        self.clock = clock
        self.plugins = plugins

    def audit(self, actor: Principal, action: str, **fields: Any) -> None:
        """Records an audit event of a mutation in this unit of work (`fields` as audit.record takes them)."""
        audit.record(self.unit.catalogue, self.clock, actor, action, **fields)

    # -- planning --------------------------------------------------------------------------------
    def validate(self, draft: ExerciseDraft) -> None:
        problems = []
        if draft.end <= draft.start:
            problems.append(FieldProblem("end", "the exercise must end after it starts"))
        if draft.lead < timedelta(0):
            problems.append(FieldProblem("lead_minutes", "must not be negative"))
        if draft.end <= self.clock.now():
            problems.append(FieldProblem("end", "the exercise window is already over"))
        if not draft.teams:
            problems.append(FieldProblem("teams", "an exercise needs at least one team"))
        seen: set[str] = set()
        for i, team in enumerate(draft.teams):
            if team.name in seen:
                problems.append(FieldProblem(f"teams[{i}].name", f"duplicate team '{team.name}'"))
            seen.add(team.name)
        if draft.strategy not in self.plugins.strategies:
            known = ", ".join(sorted(self.plugins.strategies))
            problems.append(
                FieldProblem("constraints.strategy", f"unknown strategy '{draft.strategy}'; known: {known}")
            )
        c = draft.constraints
        if c.max_ranges is not None and c.max_ranges < c.min_ranges:
            problems.append(FieldProblem("constraints.max_ranges", "must be at least min_ranges"))
        if c.min_ranges > len(draft.teams):
            problems.append(
                FieldProblem(
                    "constraints.min_ranges",
                    f"{c.min_ranges} ranges cannot each get one of {len(draft.teams)} teams",
                )
            )
        if problems:
            raise InvalidInput(problems)

    def plan(
        self,
        actor: Principal,
        draft: ExerciseDraft,
        *,
        include_peers: bool = False,
        scenario: ScenarioHandle | None = None,
    ) -> tuple[ScenarioHandle, Placement]:
        """Place the teams without booking anything (a dry run of create). Peers' ranges take part only
        when the caller books them through their home instances (`include_peers`: the federation's
        two-phase booking, orchestrator.federation.hub). `scenario`: the draft's, already resolved for
        the actor."""
        self.require_creator(actor, draft.kind)
        self.validate(draft)
        handle = scenario or self.unit.scenarios.resolve(actor, draft.scenario)
        owner = owner_of(self.unit, actor.organisation_id)
        placement = place_draft(
            self.unit,
            self.plugins,
            draft,
            handle,
            owner=owner,
            now=self.clock.now(),
            include_peers=include_peers,
        )
        return handle, placement

    def require_creator(self, actor: Principal, kind: ExerciseKind) -> None:
        environment = kind is ExerciseKind.ENVIRONMENT
        permissions.require(actor, Action.ENVIRONMENT_LAUNCH if environment else Action.EXERCISE_CREATE)

    # -- create ----------------------------------------------------------------------------------
    def create(
        self,
        actor: Principal,
        draft: ExerciseDraft,
        *,
        planned: tuple[ScenarioHandle, Placement] | None = None,
        exercise_id: str | None = None,
        scenario: ScenarioHandle | None = None,
    ) -> Detail:
        """Plan (or take the plan made by the caller), book every range in one request and schedule.
        `planned` and `exercise_id` come from the federation's two-phase booking, which took the peers'
        holds for that plan and that id (the idempotency key) before this local part."""
        if planned is None:
            handle, placement = self.plan(actor, draft, scenario=scenario)
        else:
            self.require_creator(actor, draft.kind)
            handle, placement = planned
        if not placement.feasible:
            raise Refused(list(placement.reasons) or ["no placement satisfies the constraints"])
        now = self.clock.now()
        exercise = Exercise.scheduled(
            draft,
            id=exercise_id or str(uuid.uuid4()),
            owner_organisation_id=actor.organisation_id,
            created_by=actor.id,
            scenario=handle.pin,
            placement=placement,
            now=now,
        )
        teams = {t.name: t for t in draft.teams}
        booked = self.unit.booking.create_request(
            actor.acting_through(exercise.id),
            BookingRequest(
                items=[BookingItem(range_ref=b.range_id, demand=b.demand) for b in placement.bookings()],
                start=draft.booked_from,
                end=draft.end,
                purpose=Purpose(draft.kind.value),
                reference=exercise.id,
                hold=False,
                request_id=exercise.id,
                new_request=exercise_id is None,
            ),
            owner_organisation_id=actor.organisation_id,
        )
        booking_of = {b.range_id: b.id for b in booked.bookings}
        self.unit.exercises.add_exercise(exercise)
        instances = []
        for assignment in placement.assignments:
            booking_id = booking_of[assignment.range_id]
            team = teams[assignment.team]
            instance = Instance(
                id=new_instance_id(),
                exercise_id=exercise.id,
                team=team.name,
                team_organisation=team.organisation,
                team_country=team.country,
                range_id=assignment.range_id,
                booking_id=booking_id,
                stage=Stage.BOOKED,
                stage_reason=ON_OWN_COUNTRY if assignment.affinity else "",
                failed_stage=None,
                endpoints=(),
                created_at=now,
                updated_at=now,
            )
            self.unit.exercises.add_instance(instance)
            schedule.schedule_deploy(
                self.unit.actions, instance, at=max(exercise.deploy_at, now), now=now, fresh=True
            )
            instances.append(instance)
        schedule.schedule_exercise(self.unit.actions, exercise, now=now)
        self.unit.scenarios.mark_used(handle)
        scheduled = note(self.unit, self.clock, exercise.id, f"scheduled: {placement.summary()}")
        self.audit(
            actor,
            f"{exercise.kind.value}.create",
            kind=exercise.kind.value,
            object_id=exercise.id,
            organisation_id=exercise.owner_organisation_id,
            after=exercise_view(exercise, instances),
        )
        return Detail(
            exercise=exercise,
            instances=tuple(instances),
            stages={},
            team_count=len(instances),
            team_stages={Stage.BOOKED: len(instances)},
            events=(scheduled,),
        )

    # -- read ------------------------------------------------------------------------------------
    def _visible(self, actor: Principal, exercise_id: str, *, lock: bool = False) -> Exercise:
        exercise = self.unit.exercises.get_exercise(exercise_id, lock=lock)
        if exercise is None or exercise.kind is ExerciseKind.POOL:  # pools: /api/v1/pools, operators only
            raise NotFound(f"exercise '{exercise_id}' does not exist or belongs to another organisation")
        read = Action.ENVIRONMENT_READ if exercise.kind is ExerciseKind.ENVIRONMENT else Action.EXERCISE_READ
        try:
            permissions.require(actor, read, owner=exercise.owner_organisation_id)
        except Forbidden:
            raise NotFound(
                f"{exercise.kind.value} '{exercise_id}' does not exist or belongs to another organisation"
            ) from None
        return exercise

    def _manageable(self, actor: Principal, exercise_id: str) -> Exercise:
        exercise = self._visible(actor, exercise_id, lock=True)
        change = (
            Action.ENVIRONMENT_CHANGE if exercise.kind is ExerciseKind.ENVIRONMENT else Action.EXERCISE_CHANGE
        )
        permissions.require(actor, change, owner=exercise.owner_organisation_id)
        return exercise

    def get(
        self, actor: Principal, exercise_id: str, *, offset: int = 0, limit: int = TEAMS_PER_PAGE
    ) -> Detail:
        """The exercise with one page of teams, in a fixed number of queries whatever its size."""
        exercise = self._visible(actor, exercise_id)
        return self._detail(exercise, offset=offset, limit=limit)

    def summary(self, actor: Principal, exercise_id: str) -> Detail:
        """The exercise and its per-stage team counts, without any team (what a change returns)."""
        return self._detail(self._visible(actor, exercise_id), offset=0, limit=0)

    def _detail(self, exercise: Exercise, *, offset: int, limit: int) -> Detail:
        counts = self.unit.exercises.stage_counts(exercise.id)
        instances = (
            tuple(self.unit.exercises.instance_page(exercise.id, offset=offset, limit=limit)) if limit else ()
        )
        stages = self.unit.exercises.stages_of_many([i.id for i in instances])
        return Detail(
            exercise=exercise,
            instances=instances,
            stages=stages,
            team_count=sum(counts.values()),
            team_stages=counts,
            offset=offset,
        )

    def list(self, actor: Principal, *, kind: ExerciseKind | None, active_only: bool) -> list[Exercise]:
        read = Action.ENVIRONMENT_READ if kind is ExerciseKind.ENVIRONMENT else Action.EXERCISE_READ
        permissions.require(actor, read)
        org = None if Scope.ANY in permissions.scopes(actor.role, read) else actor.organisation_id
        statuses = [s.value for s in ACTIVE_STATUSES] if active_only else None
        return list(
            self.unit.exercises.list_exercises(owner_organisation_id=org, kind=kind, statuses=statuses)
        )

    # -- change ----------------------------------------------------------------------------------
    def cancel(self, actor: Principal, exercise_id: str) -> Exercise:
        """Before anything deployed: release the bookings and stop. Otherwise tear everything down now;
        the exercise ends as cancelled either way."""
        exercise = self._manageable(actor, exercise_id)
        if exercise.status in (ExerciseStatus.CANCELLED, ExerciseStatus.DONE):
            raise Conflict(f"{exercise.kind.value} '{exercise.name}' is already {exercise.status.value}")
        now = self.clock.now()
        instances = self.unit.exercises.instances_of(exercise.id)
        untouched = all(i.stage is Stage.BOOKED for i in instances)
        if exercise.status is ExerciseStatus.SCHEDULED and untouched:
            for booking_id in bookings_of(instances):
                self.unit.booking.cancel(
                    actor.acting_through(exercise.id),
                    Selection.booking(booking_id),
                    reason=f"{exercise.kind.value} cancelled",
                )
            for instance in instances:
                self.unit.actions.cancel_for(object_kind="instance", object_id=instance.id)
                self.unit.exercises.save_instance(
                    replace(
                        instance,
                        stage=INSTANCE_MACHINE.move(instance.stage, Stage.DONE),
                        stage_reason="cancelled before deployment",
                        updated_at=now,
                    )
                )
            self.unit.actions.cancel_for(object_kind="exercise", object_id=exercise.id)
            updated = replace(
                exercise,
                status=EXERCISE_MACHINE.move(exercise.status, ExerciseStatus.CANCELLED),
                status_reason=f"cancelled by {actor.name}",
                cancelled_by=actor.name,
                updated_at=now,
            )
        else:
            self.unit.actions.cancel_for(object_kind="exercise", object_id=exercise.id)
            schedule.teardown_exercise(self.unit.actions, exercise.id, due_at=now, now=now)
            updated = replace(
                exercise, status_reason=f"cancelled by {actor.name}", cancelled_by=actor.name, updated_at=now
            )
        self.unit.exercises.save_exercise(updated)
        note(self.unit, self.clock, exercise.id, f"cancelled by {actor.name}", level="warning")
        self.audit(
            actor,
            f"{exercise.kind.value}.cancel",
            kind=exercise.kind.value,
            object_id=exercise.id,
            organisation_id=exercise.owner_organisation_id,
            before={"status": exercise.status.value},
            after={"status": updated.status.value},
        )
        return updated

    def extend(self, actor: Principal, exercise_id: str, *, end: datetime) -> Exercise:
        """Move the end (later, or earlier but not into the past); the bookings follow or nothing does."""
        exercise = self._manageable(actor, exercise_id)
        if exercise.status not in ACTIVE_STATUSES or exercise.status is ExerciseStatus.TEARING_DOWN:
            raise Conflict(
                f"{exercise.kind.value} '{exercise.name}' is {exercise.status.value}; it cannot change"
            )
        now = self.clock.now()
        if end <= max(now, exercise.start):
            raise InvalidInput(FieldProblem("end", "the new end must be after the start and in the future"))
        instances = self.unit.exercises.instances_of(exercise.id)
        for booking_id in bookings_of(instances):
            self.unit.booking.renew(actor.acting_through(exercise.id), Selection.booking(booking_id), end=end)
        updated = replace(exercise, end=end, updated_at=now)
        self.unit.exercises.save_exercise(updated)
        schedule.reschedule_end(self.unit.actions, updated, now=now)
        note(
            self.unit,
            self.clock,
            exercise.id,
            f"end moved from {exercise.end.isoformat()} to {end.isoformat()}",
        )
        self.audit(
            actor,
            f"{exercise.kind.value}.extend",
            kind=exercise.kind.value,
            object_id=exercise.id,
            organisation_id=exercise.owner_organisation_id,
            before={"end": exercise.end.isoformat()},
            after={"end": end.isoformat()},
        )
        return updated

    def retry(self, actor: Principal, exercise_id: str, *, team: str) -> Instance:
        """Run a team's failed stage again (deploying, provisioning or tearing down)."""
        exercise = self._manageable(actor, exercise_id)
        instance = next((i for i in self.unit.exercises.instances_of(exercise.id) if i.team == team), None)
        if instance is None:
            raise NotFound(f"team '{team}' is not part of {exercise.kind.value} '{exercise.name}'")
        if instance.stage is not Stage.FAILED or instance.failed_stage not in RETRYABLE:
            raise Conflict(f"team '{team}' is {instance.stage.value}: only a failed stage can be retried")
        now = self.clock.now()
        failed = instance.failed_stage
        if failed is Stage.TEARING_DOWN or exercise.status is ExerciseStatus.TEARING_DOWN:
            schedule.schedule_teardown(self.unit.actions, instance, now=now)
        elif now >= exercise.end:
            raise Conflict(f"the {exercise.kind.value} window ended at {exercise.end.isoformat()}")
        elif failed is Stage.PROVISIONING:
            schedule.schedule_provision(self.unit.actions, instance, now=now)
        else:
            schedule.schedule_deploy(self.unit.actions, instance, at=now, now=now)
        note(
            self.unit,
            self.clock,
            exercise.id,
            f"team {team}: {failed.value if failed else ''} retried by {actor.name}",
        )
        self.audit(
            actor,
            f"{exercise.kind.value}.retry",
            kind="instance",
            object_id=instance.id,
            organisation_id=exercise.owner_organisation_id,
            after={"team": team, "stage": failed.value if failed else ""},
        )
        return instance
