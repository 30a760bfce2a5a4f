"""Researcher environments: one instance of a scenario, deployed now, with a renewable TTL."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Response, status

from orchestrator.api.deps import PrincipalDep, ServicesDep, in_thread
from orchestrator.api.lean import LeanRoute
from orchestrator.api.routes.exercises import TeamsLimit, TeamsOffset, detail_out, state_out
from orchestrator.api.schemas.common import answer
from orchestrator.api.schemas.exercises import (
    AccessOut,
    EnvironmentIn,
    ExerciseOut,
    ExerciseState,
    ExerciseSummary,
    RenewIn,
)
from orchestrator.exercises.access import team_access
from orchestrator.exercises.service import TEAMS_PER_PAGE

#: LeanRoute: the launch (a warm-pool claim answers in a few milliseconds) skips FastAPI's generic
#: dependency solving; the other routes take FastAPI's own way.
router = APIRouter(prefix="/api/v1/environments", tags=["environments"], route_class=LeanRoute)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Launch an environment now (placed, booked, deployed)",
    response_model=ExerciseOut,
)
async def launch(body: EnvironmentIn, principal: PrincipalDep, services: ServicesDep) -> Response:
    def work() -> ExerciseOut:
        with services.uow() as uow:
            return detail_out(uow, services.environments(uow).launch(principal, **body.launch_args()))

    # a researcher's launch talks to the database alone (no peer): the use-case threads' cheaper hop
    return answer(await in_thread(services, work), status_code=status.HTTP_201_CREATED)


@router.get("", summary="The caller's organisation's environments (admins: all)")
def list_(principal: PrincipalDep, services: ServicesDep, active: bool = True) -> list[ExerciseSummary]:
    with services.uow() as uow:
        found = services.environments(uow).list(principal, active_only=active)
    return [ExerciseSummary.from_domain(e) for e in found]


@router.get(
    "/{environment_id}", summary="An environment with its stages and events", response_model=ExerciseOut
)
def get(
    environment_id: str,
    principal: PrincipalDep,
    services: ServicesDep,
    teams_offset: TeamsOffset = 0,
    teams_limit: TeamsLimit = TEAMS_PER_PAGE,
) -> Response:
    with services.uow() as uow:
        found = services.exercises(uow).get(principal, environment_id, offset=teams_offset, limit=teams_limit)
        return answer(detail_out(uow, found))


@router.get("/{environment_id}/access", summary="Endpoints and credentials of the environment")
def access(environment_id: str, principal: PrincipalDep, services: ServicesDep) -> list[AccessOut]:
    with services.uow() as uow:
        teams = team_access(uow, principal, environment_id, values=services.instance_values)
    return [AccessOut.from_domain(t) for t in teams]


@router.post("/{environment_id}/renew", summary="Push the end out (within the ranges' sharing policies)")
def renew(
    environment_id: str, body: RenewIn, principal: PrincipalDep, services: ServicesDep
) -> ExerciseState:
    with services.uow() as uow:
        services.environments(uow).renew(principal, environment_id, extra=timedelta(minutes=body.minutes))
        return state_out(services.exercises(uow).summary(principal, environment_id))


@router.delete("/{environment_id}", summary="Destroy: tear the instance down now and release the booking")
def destroy(environment_id: str, principal: PrincipalDep, services: ServicesDep) -> ExerciseState:
    with services.uow() as uow:
        services.environments(uow).destroy(principal, environment_id)
        return state_out(services.exercises(uow).summary(principal, environment_id))
