"""Request dependencies: the wired services and the authenticated principal."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from orchestrator.domain.errors import Forbidden, Unauthenticated
from orchestrator.identity import tokens
from orchestrator.identity.principals import Principal, Role
from orchestrator.wiring import Services

FEDERATION_PREFIX = "/federation/v1"

_bearer = HTTPBearer(
    auto_error=False,
    description="An API token issued by `federange admin bootstrap` or POST /api/v1/tokens, or a JWT of a "
    "trusted OpenID Connect issuer",
)


async def get_services(request: Request) -> Services:
    """Async (it does no I/O): a sync dependency would cost a hop through the thread pool per request."""
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


async def current_principal(
    request: Request,
    services: ServicesDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if credentials is None:
        raise Unauthenticated("missing bearer token: send 'Authorization: Bearer <token>'")
    client = request.client.host if request.client else "unknown"
    services.throttle.check(client)
    verified = services.verified_tokens
    digest = tokens.digest(credentials.credentials)
    principal = verified.get(digest)  # on the event loop: no I/O, no thread hop
    if principal is None:
        principal = await run_in_threadpool(_look_up, services, client, credentials.credentials, digest)
    if principal.role is Role.PEER and not request.url.path.startswith(FEDERATION_PREFIX):
        raise Forbidden(
            f"'{principal.name}' is a peer: its token reaches only the federation API ({FEDERATION_PREFIX})"
        )
    return principal


def _look_up(services: Services, client: str, token: str, digest: str) -> Principal:
    """The token's grant from the database (in the thread pool), remembered for the next requests."""
    verified = services.verified_tokens
    generation = verified.generation
    try:
        with services.uow() as uow:
            grant = services.identity(uow.catalogue).verify(token)
    except Unauthenticated:
        services.throttle.failed(client)
        raise
    verified.put(digest, grant, generation=generation)
    return grant.principal


PrincipalDep = Annotated[Principal, Depends(current_principal)]
