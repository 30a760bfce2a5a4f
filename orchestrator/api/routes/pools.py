"""Warm pools: ready instances of a scenario kept on a range by its operators, claimed by environments."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, status

from orchestrator.api.deps import PrincipalDep, ServicesDep
from orchestrator.api.schemas.exercises import PoolIn, PoolOut, PoolUpdate

router = APIRouter(tags=["pools"])


@router.post(
    "/api/v1/ranges/{range_ref}/pools",
    status_code=status.HTTP_201_CREATED,
    summary="Keep ready instances of a scenario on this range (books max_ready, deploys min_ready now)",
)
def create(range_ref: str, body: PoolIn, principal: PrincipalDep, services: ServicesDep) -> PoolOut:
    with services.uow() as uow:
        view = services.pools(uow).create(
            principal,
            range_ref=range_ref,
            scenario=body.scenario,
            min_ready=body.min_ready,
            max_ready=body.max_ready,
            lifetime=timedelta(hours=body.hours),
        )
    return PoolOut.from_domain(view)


@router.get("/api/v1/ranges/{range_ref}/pools", summary="The warm pools on this range")
def list_(range_ref: str, principal: PrincipalDep, services: ServicesDep) -> list[PoolOut]:
    with services.uow() as uow:
        views = services.pools(uow).list_on(principal, range_ref)
    return [PoolOut.from_domain(v) for v in views]


@router.get("/api/v1/pools/{pool_id}", summary="A warm pool and its unclaimed instances per stage")
def get(pool_id: str, principal: PrincipalDep, services: ServicesDep) -> PoolOut:
    with services.uow() as uow:
        return PoolOut.from_domain(services.pools(uow).get(principal, pool_id))


@router.patch("/api/v1/pools/{pool_id}", summary="Keep another number ready (within max_ready)")
def resize(pool_id: str, body: PoolUpdate, principal: PrincipalDep, services: ServicesDep) -> PoolOut:
    with services.uow() as uow:
        return PoolOut.from_domain(services.pools(uow).resize(principal, pool_id, min_ready=body.min_ready))


@router.delete("/api/v1/pools/{pool_id}", summary="Tear the unclaimed instances down and release the booking")
def delete(pool_id: str, principal: PrincipalDep, services: ServicesDep) -> PoolOut:
    with services.uow() as uow:
        return PoolOut.from_domain(services.pools(uow).delete(principal, pool_id))
