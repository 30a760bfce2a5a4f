"""Federated exercises: plan, schedule (plan + book), follow, cancel, extend, retry a team's stage."""

from __future__ import annotations

from fastapi import APIRouter, status

from orchestrator.api.deps import PrincipalDep, ServicesDep
from orchestrator.api.schemas.exercises import (
    AccessOut,
    EventOut,
    ExerciseIn,
    ExerciseOut,
    ExerciseSummary,
    ExtendIn,
    PlanOut,
    TeamOut,
)
from orchestrator.exercises.access import team_access
from orchestrator.exercises.model import ExerciseKind
from orchestrator.exercises.ports import Unit
from orchestrator.exercises.service import Detail
from scenarios.footprint import footprint

router = APIRouter(prefix="/api/v1/exercises", tags=["exercises"])


def detail_out(unit: Unit, detail: Detail) -> ExerciseOut:
    slugs: dict[str, str] = {}
    for instance in detail.instances:
        if instance.range_id not in slugs:
            record = unit.catalogue.get_range(instance.range_id)
            slugs[instance.range_id] = "" if record is None else record.slug
    summary = ExerciseSummary.from_domain(detail.exercise)
    return ExerciseOut(
        **summary.model_dump(),
        plan=dict(detail.exercise.plan),
        teams=[
            TeamOut.from_domain(i, range_slug=slugs[i.range_id], stages=detail.stages.get(i.id, ()))
            for i in detail.instances
        ],
        events=[],
    )


def with_events(unit: Unit, out: ExerciseOut) -> ExerciseOut:
    out.events = [EventOut.from_domain(e) for e in unit.exercises.events_of(out.id)]
    return out


@router.post("/plan", summary="Place the teams without booking (dry run)")
def plan(body: ExerciseIn, principal: PrincipalDep, services: ServicesDep) -> PlanOut:
    with services.uow() as uow:
        unit = services.exercise_unit(uow)
        handle, result = services.exercises(unit).plan(principal, body.to_domain())
    data = result.as_dict()
    return PlanOut(
        scenario=f"{handle.name}@{handle.version}", footprint=footprint(handle.scenario).demand(), **data
    )


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Schedule an exercise: place every team, book every range (all or nothing), schedule deploys",
)
def create(body: ExerciseIn, principal: PrincipalDep, services: ServicesDep) -> ExerciseOut:
    with services.uow() as uow:
        unit = services.exercise_unit(uow)
        detail = services.exercises(unit).create(principal, body.to_domain())
        return with_events(unit, detail_out(unit, detail))


@router.get("", summary="Exercises of the caller's organisation (admins: all)")
def list_(principal: PrincipalDep, services: ServicesDep, active: bool = False) -> list[ExerciseSummary]:
    with services.uow() as uow:
        unit = services.exercise_unit(uow)
        found = services.exercises(unit).list(principal, kind=ExerciseKind.EXERCISE, active_only=active)
    return [ExerciseSummary.from_domain(e) for e in found]


@router.get("/{exercise_id}", summary="An exercise with its plan, per-team stages and events")
def get(exercise_id: str, principal: PrincipalDep, services: ServicesDep) -> ExerciseOut:
    with services.uow() as uow:
        unit = services.exercise_unit(uow)
        return with_events(unit, detail_out(unit, services.exercises(unit).get(principal, exercise_id)))


@router.get("/{exercise_id}/access", summary="Per team: entry endpoints and handed-out credentials")
def access(exercise_id: str, principal: PrincipalDep, services: ServicesDep) -> list[AccessOut]:
    with services.uow() as uow:
        unit = services.exercise_unit(uow)
        teams = team_access(unit, principal, exercise_id, seed=services.seed)
    return [AccessOut.from_domain(t) for t in teams]


@router.post("/{exercise_id}/cancel", summary="Cancel: release the bookings, tear down what was deployed")
def cancel(exercise_id: str, principal: PrincipalDep, services: ServicesDep) -> ExerciseOut:
    with services.uow() as uow:
        unit = services.exercise_unit(uow)
        service = services.exercises(unit)
        service.cancel(principal, exercise_id)
        return with_events(unit, detail_out(unit, service.get(principal, exercise_id)))


@router.post("/{exercise_id}/extend", summary="Move the end; the bookings follow or nothing changes")
def extend(exercise_id: str, body: ExtendIn, principal: PrincipalDep, services: ServicesDep) -> ExerciseOut:
    with services.uow() as uow:
        unit = services.exercise_unit(uow)
        service = services.exercises(unit)
        service.extend(principal, exercise_id, end=body.end)
        return with_events(unit, detail_out(unit, service.get(principal, exercise_id)))


@router.post("/{exercise_id}/teams/{team}/retry", summary="Retry a team's failed stage")
def retry(exercise_id: str, team: str, principal: PrincipalDep, services: ServicesDep) -> ExerciseOut:
    with services.uow() as uow:
        unit = services.exercise_unit(uow)
        service = services.exercises(unit)
        service.retry(principal, exercise_id, team=team)
        return with_events(unit, detail_out(unit, service.get(principal, exercise_id)))
