"""Peers and publications: adding another Federange instance as a peer (hub side), publishing a range to
a peer and stopping a peer's instance on one's range (home side, the range's operators)."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from connectors.base import ConnectorError
from orchestrator.api.deps import PrincipalDep, ServicesDep
from orchestrator.api.schemas.federation import PeerIn, PeerInstanceOut, PeerOut, StopIn
from orchestrator.domain.errors import RangeFailure
from orchestrator.federation.home import TERMINATED
from orchestrator.federation.model import PeerInstanceState

router = APIRouter(prefix="/api/v1/peers", tags=["federation"])
ranges_router = APIRouter(prefix="/api/v1/ranges", tags=["federation"])


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Add a peer: shake hands and import the ranges it publishes to us",
)
def add(body: PeerIn, principal: PrincipalDep, services: ServicesDep) -> PeerOut:
    peer = services.hub.add_peer(
        principal,
        name=body.name,
        base_url=body.base_url,
        token=body.token,
        tls_ca=body.tls_ca,
        tls_cert=body.tls_cert,
        tls_key=body.tls_key,
    )
    return PeerOut.from_domain(peer, services.hub.ranges_of(peer))


@router.get("", summary="The peers this instance imports ranges from")
def list_(principal: PrincipalDep, services: ServicesDep) -> list[PeerOut]:
    return [PeerOut.from_domain(p, r) for p, r in services.hub.list_peers(principal)]


@router.post("/{peer_ref}/sync", summary="Import the peer's published ranges again now")
def sync(peer_ref: str, principal: PrincipalDep, services: ServicesDep) -> PeerOut:
    peer = services.hub.get_peer(principal, peer_ref)
    services.hub.sync_peer(peer.id, actor=principal)
    peer = services.hub.get_peer(principal, peer.id)
    return PeerOut.from_domain(peer, services.hub.ranges_of(peer))


@ranges_router.get("/{range_ref}/publications", summary="The peer organisations a range is published to")
def publications(range_ref: str, principal: PrincipalDep, services: ServicesDep) -> list[str]:
    with services.uow() as uow:
        return services.publications(uow).peers_of(principal, range_ref)


@ranges_router.put(
    "/{range_ref}/publications/{organisation_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Publish a range to a peer organisation (kind federation_peer)",
)
def publish(range_ref: str, organisation_id: str, principal: PrincipalDep, services: ServicesDep) -> Response:
    with services.uow() as uow:
        services.publications(uow).publish(principal, range_ref, organisation_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@ranges_router.delete(
    "/{range_ref}/publications/{organisation_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Withdraw a range from a peer (its bookings stay as they are)",
)
def withdraw(
    range_ref: str, organisation_id: str, principal: PrincipalDep, services: ServicesDep
) -> Response:
    with services.uow() as uow:
        services.publications(uow).withdraw(principal, range_ref, organisation_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@ranges_router.get("/{range_ref}/peer-instances", summary="The instances peers deployed on a range")
def peer_instances(range_ref: str, principal: PrincipalDep, services: ServicesDep) -> list[PeerInstanceOut]:
    with services.uow() as uow:
        return [
            PeerInstanceOut.from_domain(i)
            for i in services.publications(uow).peer_instances(principal, range_ref)
        ]


@ranges_router.post(
    "/{range_ref}/peer-instances/{instance_id}/stop",
    summary="Emergency stop of a peer's instance (the peer sees it terminated, with the reason)",
)
def stop(
    range_ref: str, instance_id: str, body: StopIn, principal: PrincipalDep, services: ServicesDep
) -> PeerInstanceOut:
    with services.uow() as uow:
        record, instance = services.publications(uow).stoppable(principal, range_ref, instance_id)
    try:
        services.connectors(record).teardown(instance_id=instance_id)
    except ConnectorError as exc:
        raise RangeFailure(f"{record.slug}: {exc.reason}") from exc
    with services.uow() as uow:
        stopped = services.home(uow).mark(instance_id, PeerInstanceState.TERMINATED, reason=body.reason)
        services.publications(uow).record_stop(principal, record, instance, body.reason)
    assert stopped is not None
    out = PeerInstanceOut.from_domain(stopped)
    out.reason = f"{TERMINATED}: {body.reason}"
    return out
