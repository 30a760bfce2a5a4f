"""Request dependencies: the wired services and the authenticated principal."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from orchestrator.domain.errors import Forbidden, Unauthenticated
from orchestrator.identity.principals import Principal, Role
from orchestrator.wiring import Services

FEDERATION_PREFIX = "/federation/v1"

_bearer = HTTPBearer(
    auto_error=False, description="An API token issued by `federange admin bootstrap` or POST /api/v1/tokens"
)


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


def current_principal(
    request: Request,
    services: ServicesDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if credentials is None:
        raise Unauthenticated("missing bearer token: send 'Authorization: Bearer <token>'")
    client = request.client.host if request.client else "unknown"
    services.throttle.check(client)
    try:
        with services.uow() as uow:
            principal = services.identity(uow.catalogue).authenticate(credentials.credentials)
    except Unauthenticated:
        services.throttle.failed(client)
        raise
    federation = request.url.path.startswith(FEDERATION_PREFIX)
    if principal.role is Role.PEER and not federation:
        raise Forbidden(
            f"'{principal.name}' is a peer: its token reaches only the federation API ({FEDERATION_PREFIX})"
        )
    return principal


PrincipalDep = Annotated[Principal, Depends(current_principal)]
