"""Federated exercises: plan, schedule (plan + book), follow, cancel, extend, retry a team's stage."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from orchestrator.api.deps import PrincipalDep, ServicesDep
from orchestrator.api.schemas.common import answer
from orchestrator.api.schemas.exercises import (
    AccessOut,
    EventOut,
    ExerciseIn,
    ExerciseOut,
    ExerciseState,
    ExerciseSummary,
    ExtendIn,
    PlacementOut,
    PlacementPreview,
    TeamLinkOut,
    TeamOut,
)
from orchestrator.exercises.access import issue_team_links, team_access
from orchestrator.exercises.model import ExerciseKind
from orchestrator.exercises.ports import UnitOfWork
from orchestrator.exercises.service import TEAMS_PER_PAGE, Detail

router = APIRouter(prefix="/api/v1/exercises", tags=["exercises"])


def detail_out(uow: UnitOfWork, detail: Detail) -> ExerciseOut:
    """The exercise document: its page of teams, their stages and the events, in a fixed number of
    queries (range slugs come from the placement; only a range it does not name is looked up)."""
    slugs = {a.range_id: a.range_slug for a in detail.exercise.placement.assignments}
    for instance in detail.instances:
        if instance.range_id not in slugs:
            record = uow.catalogue.get_range(instance.range_id)
            slugs[instance.range_id] = "" if record is None else record.slug
    state = state_out(detail)
    return ExerciseOut(
        **state.model_dump(),
        placement=PlacementOut.from_domain(detail.exercise.placement),
        teams_offset=detail.offset,
        teams=[
            TeamOut.from_domain(i, range_slug=slugs[i.range_id], stages=detail.stages.get(i.id, ()))
            for i in detail.instances
        ],
        events=[
            EventOut.read(e)
            for e in (uow.exercises.events_of(detail.exercise.id) if detail.events is None else detail.events)
        ],
    )


def state_out(detail: Detail) -> ExerciseState:
    return ExerciseState.of(detail.exercise, team_count=detail.team_count, team_stages=detail.team_stages)


TeamsOffset = Annotated[int, Query(ge=0, le=100_000, description="Skip this many teams (ordered by name)")]
TeamsLimit = Annotated[
    int,
    Query(ge=0, le=5000, description=f"Teams per page (default {TEAMS_PER_PAGE}; 0: none, counts only)"),
]


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
    response_model=ExerciseOut,
)
def create(body: ExerciseIn, principal: PrincipalDep, services: ServicesDep) -> Response:
    # Peers' ranges are booked through their home instances, all or nothing (orchestrator.federation.hub).
    detail = services.hub.create_exercise(principal, body.to_domain())
    with services.uow() as uow:
        return answer(detail_out(uow, detail), status_code=status.HTTP_201_CREATED)


@router.get("", summary="Exercises of the caller's organisation (admins: all)")
def list_(principal: PrincipalDep, services: ServicesDep, active: bool = False) -> list[ExerciseSummary]:
    with services.uow() as uow:
        found = services.exercises(uow).list(principal, kind=ExerciseKind.EXERCISE, active_only=active)
    return [ExerciseSummary.from_domain(e) for e in found]


@router.get(
    "/{exercise_id}",
    summary="An exercise with its plan, one page of per-team stages, and its events",
    response_model=ExerciseOut,
)
def get(
    exercise_id: str,
    principal: PrincipalDep,
    services: ServicesDep,
    teams_offset: TeamsOffset = 0,
    teams_limit: TeamsLimit = TEAMS_PER_PAGE,
) -> Response:
    with services.uow() as uow:
        detail = services.exercises(uow).get(principal, exercise_id, offset=teams_offset, limit=teams_limit)
        return answer(detail_out(uow, detail))


@router.get("/{exercise_id}/access", summary="Per team: entry endpoints and handed-out credentials")
def access(exercise_id: str, principal: PrincipalDep, services: ServicesDep) -> list[AccessOut]:
    with services.uow() as uow:
        teams = team_access(uow, principal, exercise_id, values=services.instance_values)
    return [AccessOut.from_domain(t) for t in teams]


@router.post(
    "/{exercise_id}/team-links",
    summary="A new access link for every team (shown once; replaces the earlier ones)",
)
def team_links(exercise_id: str, principal: PrincipalDep, services: ServicesDep) -> list[TeamLinkOut]:
    with services.uow() as uow:
        links = issue_team_links(uow, principal, exercise_id, clock=services.clock)
    return [TeamLinkOut.read(link, path=f"/team/{link.token}") for link in links]


@router.post("/{exercise_id}/cancel", summary="Cancel: release the bookings, tear down what was deployed")
def cancel(exercise_id: str, principal: PrincipalDep, services: ServicesDep) -> ExerciseState:
    with services.uow() as uow:
        service = services.exercises(uow)
        service.cancel(principal, exercise_id)
        return state_out(service.summary(principal, exercise_id))


@router.post("/{exercise_id}/extend", summary="Move the end; the bookings follow or nothing changes")
def extend(exercise_id: str, body: ExtendIn, principal: PrincipalDep, services: ServicesDep) -> ExerciseState:
    # Renew-to-T: every booking, local and at every peer, ends at exactly `end`, or none changes.
    services.hub.extend(principal, exercise_id, end=body.end)
    with services.uow() as uow:
        return state_out(services.exercises(uow).summary(principal, exercise_id))


@router.post("/{exercise_id}/teams/{team}/retry", summary="Retry a team's failed stage")
def retry(exercise_id: str, team: str, principal: PrincipalDep, services: ServicesDep) -> ExerciseState:
    with services.uow() as uow:
        service = services.exercises(uow)
        service.retry(principal, exercise_id, team=team)
        return state_out(service.summary(principal, exercise_id))
