"""The federation API (/federation/v1): what a peer (role `peer`) may do with the ranges published to it.

Holds are admitted by this instance's booking engine under the range's sharing policy applied to the
peer's organisation and country; instances are validated again here and deployed with this instance's
own connector and credentials, which never leave it. Every call is audited.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from connectors.base import ConnectorError, ConnectorRefusal, InstanceStatus, Phase
from orchestrator.api.deps import PrincipalDep, ServicesDep
from orchestrator.api.schemas.common import Slug, UtcDateTime
from orchestrator.api.schemas.federation import (
    AvailabilityOut,
    HandshakeOut,
    HoldIn,
    HoldOut,
    InstanceIn,
    InstanceRecordOut,
    InstanceStatusOut,
    PublishedRangeOut,
    RenewIn,
)
from orchestrator.domain.errors import NotFound, RangeFailure, Refused
from orchestrator.federation.home import terminated_status
from orchestrator.federation.model import PeerInstanceState

router = APIRouter(prefix="/federation/v1", tags=["federation"])


@router.get("", summary="Version handshake: the API version this instance speaks, and who the caller is")
def handshake(principal: PrincipalDep, services: ServicesDep) -> HandshakeOut:
    with services.uow() as uow:
        return HandshakeOut(**services.home(uow).handshake(principal))


@router.get("/ranges", summary="The ranges published to the caller, with capacity and policy summary")
def ranges(principal: PrincipalDep, services: ServicesDep) -> list[PublishedRangeOut]:
    with services.uow() as uow:
        return [PublishedRangeOut.from_domain(p) for p in services.home(uow).ranges(principal)]


@router.get("/ranges/{range_ref}", summary="One published range")
def range_(range_ref: str, principal: PrincipalDep, services: ServicesDep) -> PublishedRangeOut:
    with services.uow() as uow:
        return PublishedRangeOut.from_domain(services.home(uow).range(principal, range_ref))


@router.get("/ranges/{range_ref}/availability", summary="What the caller could book over a window")
def availability(
    range_ref: str,
    principal: PrincipalDep,
    services: ServicesDep,
    start: Annotated[UtcDateTime, Query()],
    end: Annotated[UtcDateTime, Query()],
) -> AvailabilityOut:
    with services.uow() as uow:
        free = services.home(uow).availability(principal, range_ref, start=start, end=end)
    return AvailabilityOut(range=range_ref, start=start, end=end, free=free.as_dict())


@router.post("/holds", status_code=status.HTTP_201_CREATED, summary="Hold capacity (idempotent per key)")
def hold(body: HoldIn, principal: PrincipalDep, services: ServicesDep) -> HoldOut:
    with services.uow() as uow:
        booking = services.home(uow).hold(
            principal,
            key=body.key,
            range_ref=body.range,
            start=body.start,
            end=body.end,
            demand=body.demand.to_domain(),
            requester=None if body.for_organisation is None else body.for_organisation.to_domain(),
        )
    return HoldOut.from_domain(booking)


@router.get("/holds", summary="The caller's holds made with an idempotency key")
def holds(
    principal: PrincipalDep,
    services: ServicesDep,
    key: Annotated[str, Query(min_length=1, max_length=64)],
    range_ref: Annotated[Slug | None, Query(alias="range")] = None,
) -> list[HoldOut]:
    with services.uow() as uow:
        return [
            HoldOut.from_domain(b)
            for b in services.home(uow).holds_by_key(principal, key=key, range_ref=range_ref)
        ]


@router.get("/holds/{hold_id}", summary="One of the caller's holds (or bookings)")
def get_hold(hold_id: str, principal: PrincipalDep, services: ServicesDep) -> HoldOut:
    with services.uow() as uow:
        return HoldOut.from_domain(services.home(uow).get_hold(principal, hold_id))


@router.post("/holds/{hold_id}/confirm", summary="Confirm a live hold")
def confirm(hold_id: str, principal: PrincipalDep, services: ServicesDep) -> HoldOut:
    with services.uow() as uow:
        return HoldOut.from_domain(services.home(uow).confirm(principal, hold_id))


@router.post("/holds/{hold_id}/release", summary="Give the capacity back (harmless twice)")
def release(hold_id: str, principal: PrincipalDep, services: ServicesDep) -> HoldOut:
    """The peer's instances still running under the booking are torn down by the scheduler's federation
    tick (no instance outlives its booking here)."""
    with services.uow() as uow:
        return HoldOut.from_domain(services.home(uow).release(principal, hold_id))


@router.post(
    "/holds/{hold_id}/renew", summary="Move the end to exactly the given instant, or refuse with the latest"
)
def renew(hold_id: str, body: RenewIn, principal: PrincipalDep, services: ServicesDep) -> HoldOut:
    with services.uow() as uow:
        return HoldOut.from_domain(services.home(uow).renew(principal, hold_id, end=body.end))


@router.post(
    "/instances",
    status_code=status.HTTP_201_CREATED,
    summary="Deploy a scenario document for a confirmed booking (validated again here)",
)
def deploy(body: InstanceIn, principal: PrincipalDep, services: ServicesDep) -> InstanceStatusOut:
    with services.uow() as uow:
        order = services.home(uow).deploy_prepare(
            principal,
            instance_id=body.instance_id,
            range_ref=body.range,
            exercise=body.exercise,
            team=body.team,
            document=body.scenario_document,
            values=dict(body.values),
        )
    if order.refused:  # the refusal is audited (committed above), then answered
        raise Refused(list(order.refused))
    connector = services.connectors(order.range)
    try:
        result = connector.deploy(instance=order.spec)
    except ConnectorRefusal as exc:
        with services.uow() as uow:
            services.home(uow).mark(body.instance_id, PeerInstanceState.TORN_DOWN, reason=exc.reason)
        raise Refused([f"{order.range.slug}: {exc.reason}"]) from exc
    except ConnectorError as exc:
        raise RangeFailure(f"{order.range.slug}: {exc.reason}") from exc
    return InstanceStatusOut.from_domain(result)


@router.get("/instances", summary="The caller's instances (on one published range, or all)")
def instances(
    principal: PrincipalDep,
    services: ServicesDep,
    range_ref: Annotated[Slug | None, Query(alias="range")] = None,
) -> list[InstanceRecordOut]:
    with services.uow() as uow:
        mine = services.home(uow).instances(principal, range_ref=range_ref)
    out = []
    by_range: dict[str, list[str]] = {}
    records = {}
    for instance, record in mine:
        if instance.state is PeerInstanceState.RUNNING:
            by_range.setdefault(record.id, []).append(instance.id)
            records[record.id] = record
    for range_id, ids in by_range.items():
        record = records[range_id]
        try:
            listed = services.connectors(record).list_instances()
        except ConnectorError as exc:
            raise RangeFailure(f"{record.slug}: {exc.reason}") from exc
        wanted = set(ids)
        out += [InstanceRecordOut.read(r, range=record.slug) for r in listed if r.instance_id in wanted]
    return out


@router.get("/instances/{instance_id}", summary="An instance's status, with the access endpoints when ready")
def instance_status(instance_id: str, principal: PrincipalDep, services: ServicesDep) -> InstanceStatusOut:
    with services.uow() as uow:
        found = services.home(uow).instance(principal, instance_id, action="instance.read")
    if found is None or found[0].state is PeerInstanceState.TORN_DOWN:
        raise NotFound(f"instance '{instance_id}' is not deployed here for '{principal.name}'")
    instance, record = found
    if instance.state is PeerInstanceState.TERMINATED:
        return InstanceStatusOut.from_domain(terminated_status(instance))
    try:
        current = services.connectors(record).status(instance_id=instance_id)
    except ConnectorError as exc:
        current = InstanceStatus(
            instance_id=instance_id, phase=Phase.FAILED, reason=f"{record.slug}: {exc.reason}"
        )
    return InstanceStatusOut.from_domain(current)


@router.delete(
    "/instances/{instance_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Tear an instance down (no error if it is already gone)",
)
def teardown(instance_id: str, principal: PrincipalDep, services: ServicesDep) -> Response:
    with services.uow() as uow:
        found = services.home(uow).instance(principal, instance_id, action="instance.teardown")
    if found is not None and found[0].state is PeerInstanceState.RUNNING:
        record = found[1]
        try:
            services.connectors(record).teardown(instance_id=instance_id)
        except (ConnectorError, ConnectorRefusal) as exc:
            raise RangeFailure(f"{record.slug}: {exc.reason}") from exc
        with services.uow() as uow:
            services.home(uow).mark(instance_id, PeerInstanceState.TORN_DOWN)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
