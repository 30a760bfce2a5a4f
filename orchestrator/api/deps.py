"""Request dependencies: the wired services and the authenticated principal."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from orchestrator.domain.errors import Unauthenticated
from orchestrator.identity.principals import Principal
from orchestrator.wiring import Services

_bearer = HTTPBearer(
    auto_error=False,
    description="An API token issued by `federange admin bootstrap` or POST /api/v1/tokens, or a JWT of a "
    "trusted OpenID Connect issuer",
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
            return services.identity(uow.catalogue).authenticate(credentials.credentials)
    except Unauthenticated:
        services.throttle.failed(client)
        raise


PrincipalDep = Annotated[Principal, Depends(current_principal)]
