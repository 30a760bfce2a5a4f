"""API tokens: issued by admins, shown once, revocable."""

from __future__ import annotations

from fastapi import APIRouter, status

from orchestrator.api.deps import PrincipalDep, ServicesDep
from orchestrator.api.schemas.catalogue import IssuedTokenOut, TokenIn, TokenOut

router = APIRouter(prefix="/api/v1/tokens", tags=["tokens"])


@router.post("", status_code=status.HTTP_201_CREATED, summary="Issue a token for a new principal (admin)")
def issue(body: TokenIn, principal: PrincipalDep, services: ServicesDep) -> IssuedTokenOut:
    with services.uow() as uow:
        issued = services.identity(uow.catalogue).issue_token(
            principal,
            name=body.name,
            organisation_id=body.organisation_id,
            role=body.role,
            expires_at=body.expires_at,
        )
    return IssuedTokenOut.from_issued(issued)


@router.get("", summary="List tokens without their secrets (admin)")
def list_(principal: PrincipalDep, services: ServicesDep) -> list[TokenOut]:
    with services.uow() as uow:
        infos = services.identity(uow.catalogue).list_tokens(principal)
    return [TokenOut.read(i) for i in infos]


@router.delete("/{token_id}", summary="Revoke a token (admin, or its holder)")
def revoke(token_id: str, principal: PrincipalDep, services: ServicesDep) -> TokenOut:
    with services.uow() as uow:
        info = services.identity(uow.catalogue).revoke_token(principal, token_id)
    services.verified_tokens.clear()  # this process at once; the others through the database's notice
    return TokenOut.read(info)
