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
    PlacementOut,
    PlacementPreview,
    TeamOut,
)
from orchestrator.exercises.access import team_access
from orchestrator.exercises.model import ExerciseKind
from orchestrator.exercises.ports import UnitOfWork
from orchestrator.exercises.service import Detail

router = APIRouter(prefix="/api/v1/exercises", tags=["exercises"])


def detail_out(uow: UnitOfWork, detail: Detail) -> ExerciseOut:
    slugs: dict[str, str] = {}
    for instance in detail.instances:
        if instance.range_id not in slugs:
            record = uow.catalogue.get_range(instance.range_id)
            slugs[instance.range_id] = "" if record is None else record.slug
    summary = ExerciseSummary.from_domain(detail.exercise)
    return ExerciseOut(
        **summary.model_dump(),
        placement=PlacementOut.from_domain(detail.exercise.placement),
        teams=[
            TeamOut.from_domain(i, range_slug=slugs[i.range_id], stages=detail.stages.get(i.id, ()))
            for i in detail.instances
        ],
        events=[],
    )


def with_events(uow: UnitOfWork, out: ExerciseOut) -> ExerciseOut:
    out.events = [EventOut.from_domain(e) for e in uow.exercises.events_of(out.id)]
    return out


@router.post("/plan", summary="Place the teams without booking (dry run)")
def plan(body: ExerciseIn, principal: PrincipalDep, services: ServicesDep) -> PlacementPreview:
    with services.uow() as uow:
        handle, placement = services.exercises(uow).plan(principal, body.to_domain(), include_peers=True)
    return PlacementPreview(
        scenario=handle.ref,
        footprint=handle.demand.as_dict(),
        **PlacementOut.from_domain(placement).model_dump(),
    )


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Schedule an exercise: place every team, book every range (all or nothing), schedule deploys",
)
def create(body: ExerciseIn, principal: PrincipalDep, services: ServicesDep) -> ExerciseOut:
    # Peers' ranges are booked through their home instances, all or nothing (orchestrator.federation.hub).
    detail = services.hub.create_exercise(principal, body.to_domain())
    with services.uow() as uow:
        return with_events(uow, detail_out(uow, detail))


@router.get("", summary="Exercises of the caller's organisation (admins: all)")
def list_(principal: PrincipalDep, services: ServicesDep, active: bool = False) -> list[ExerciseSummary]:
    with services.uow() as uow:
        found = services.exercises(uow).list(principal, kind=ExerciseKind.EXERCISE, active_only=active)
    return [ExerciseSummary.from_domain(e) for e in found]


@router.get("/{exercise_id}", summary="An exercise with its plan, per-team stages and events")
def get(exercise_id: str, principal: PrincipalDep, services: ServicesDep) -> ExerciseOut:
    with services.uow() as uow:
        return with_events(uow, detail_out(uow, services.exercises(uow).get(principal, exercise_id)))


@router.get("/{exercise_id}/access", summary="Per team: entry endpoints and handed-out credentials")
def access(exercise_id: str, principal: PrincipalDep, services: ServicesDep) -> list[AccessOut]:
    with services.uow() as uow:
        teams = team_access(uow, principal, exercise_id, values=services.instance_values)
    return [AccessOut.from_domain(t) for t in teams]


@router.post("/{exercise_id}/cancel", summary="Cancel: release the bookings, tear down what was deployed")
def cancel(exercise_id: str, principal: PrincipalDep, services: ServicesDep) -> ExerciseOut:
    with services.uow() as uow:
        service = services.exercises(uow)
        service.cancel(principal, exercise_id)
        return with_events(uow, detail_out(uow, service.get(principal, exercise_id)))


@router.post("/{exercise_id}/extend", summary="Move the end; the bookings follow or nothing changes")
def extend(exercise_id: str, body: ExtendIn, principal: PrincipalDep, services: ServicesDep) -> ExerciseOut:
    # Renew-to-T: every booking, local and at every peer, ends at exactly `end`, or none changes.
    services.hub.extend(principal, exercise_id, end=body.end)
    with services.uow() as uow:
        return with_events(uow, detail_out(uow, services.exercises(uow).get(principal, exercise_id)))


@router.post("/{exercise_id}/teams/{team}/retry", summary="Retry a team's failed stage")
def retry(exercise_id: str, team: str, principal: PrincipalDep, services: ServicesDep) -> ExerciseOut:
    with services.uow() as uow:
        service = services.exercises(uow)
        service.retry(principal, exercise_id, team=team)
        return with_events(uow, detail_out(uow, service.get(principal, exercise_id)))
