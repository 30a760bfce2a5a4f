"""Organisations: range operators, training providers, research institutions and agencies."""

from __future__ import annotations

from fastapi import APIRouter, status

from orchestrator.api.deps import PrincipalDep, ServicesDep
from orchestrator.api.schemas.catalogue import OrganisationIn, OrganisationOut

router = APIRouter(prefix="/api/v1/organisations", tags=["organisations"])


@router.post("", status_code=status.HTTP_201_CREATED, summary="Create an organisation (admin)")
def create(body: OrganisationIn, principal: PrincipalDep, services: ServicesDep) -> OrganisationOut:
    with services.uow() as uow:
        org = services.catalogue(uow.catalogue).create_organisation(principal, body.to_domain())
    return OrganisationOut.read(org)


@router.get("", summary="List organisations")
def list_(principal: PrincipalDep, services: ServicesDep) -> list[OrganisationOut]:
    with services.uow() as uow:
        orgs = services.catalogue(uow.catalogue).list_organisations(principal)
    return [OrganisationOut.read(o) for o in orgs]


@router.get("/{organisation_id}", summary="Get an organisation")
def get(organisation_id: str, principal: PrincipalDep, services: ServicesDep) -> OrganisationOut:
    with services.uow() as uow:
        org = services.catalogue(uow.catalogue).get_organisation(principal, organisation_id)
    return OrganisationOut.read(org)
