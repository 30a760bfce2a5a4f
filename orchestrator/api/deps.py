"""Request dependencies: the wired services and the authenticated principal; and the threads the hottest
routes run their use case in (`in_thread`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, TypeVar

from fastapi import Depends, Request
from fastapi.security import HTTPBearer
from starlette.concurrency import run_in_threadpool

from orchestrator.domain.errors import Forbidden, Unauthenticated
from orchestrator.identity import tokens
from orchestrator.identity.principals import Principal, Role
from orchestrator.wiring import Services

FEDERATION_PREFIX = "/federation/v1"
T = TypeVar("T")


async def in_thread(services: Services, work: Callable[[], T]) -> T:
    """Run a route's blocking use case off the event loop, in the caller's context (log fields), in
    `services.use_case_threads` (orchestrator/wiring/threads.py).

    What FastAPI does for a sync route, at less cost: its hop (anyio's to_thread, with a cancel scope and
    a capacity limiter of 40 threads) and the interpreter contention of that many threads cost a booking
    8 % of its server CPU at 4 clients and 15 % at 16 (nothing measurable at 1; docs/benchmarks.md). For
    use cases that only talk to the database: one waiting on a peer or an identity provider would hold a
    thread of a small pool (so the token look-up, which may fetch an issuer's keys, keeps FastAPI's
    pool). Like FastAPI's, the work runs to its end even if the client goes away."""
    return await services.use_case_threads.run(work)


async def get_services(request: Request) -> Services:
    """Async (it does no I/O): a sync dependency would cost a hop through the thread pool per request."""
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


class BearerPrincipal(HTTPBearer):
    """The authenticated principal of a request, as one dependency of the request alone (FastAPI solves
    no sub-dependencies for it: about 4 % of a booking's server CPU); being an `HTTPBearer`, it is still
    the API's security scheme in the OpenAPI document."""

    async def __call__(self, request: Request) -> Principal:  # type: ignore[override]
        credentials = await super().__call__(request)
        if credentials is None:
            raise Unauthenticated("missing bearer token: send 'Authorization: Bearer <token>'")
        services: Services = request.app.state.services
        client = request.client.host if request.client else "unknown"
        services.throttle.check(client)
        digest = tokens.digest(credentials.credentials)
        principal = services.verified_tokens.get(digest)  # on the event loop: no I/O, no thread hop
        if principal is None:
            principal = await run_in_threadpool(_look_up, services, client, credentials.credentials, digest)
        if principal.role is Role.PEER and not request.url.path.startswith(FEDERATION_PREFIX):
            raise Forbidden(
                f"'{principal.name}' is a peer: its token reaches only the federation API "
                f"({FEDERATION_PREFIX})"
            )
        return principal


current_principal = BearerPrincipal(
    scheme_name="HTTPBearer",
    auto_error=False,
    description="An API token issued by `federange admin bootstrap` or POST /api/v1/tokens, or a JWT of a "
    "trusted OpenID Connect issuer",
)


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
