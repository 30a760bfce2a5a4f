"""The FastAPI app factory. The app is stateless: every request opens its own unit of work.

`create_app(services)` serves an object graph built by the caller (tests, the embedded server, the
demo); `make_app()` is the factory `uvicorn --factory` (and `federange api --workers N`) imports in each
worker process: it builds its own graph from the environment and closes it when the worker stops.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager

from fastapi import FastAPI

from orchestrator import __version__
from orchestrator.api import console, contract, docs, problems
from orchestrator.api.headers import SecurityHeaders
from orchestrator.api.limits import RequestLimits
from orchestrator.api.metering import RequestMetrics
from orchestrator.api.routes import (
    audit,
    availability,
    bookings,
    environments,
    exercises,
    federation,
    health,
    organisations,
    peers,
    pools,
    ranges,
    scenarios,
    tokens,
)
from orchestrator.settings import Settings
from orchestrator.wiring import Services, build, logs

DESCRIPTION = """Federange books capacity on national cyber ranges for time windows, places the teams of
federated exercises across them and deploys an isolated scenario instance per team.

Every endpoint except `/health`, `/ready` and these docs needs `Authorization: Bearer <token>`: an API
token, or a JWT of a trusted OpenID Connect issuer. The web console is at `/`.
Errors are RFC 9457 `application/problem+json` documents naming the offending field and the reason."""

Hook = Callable[[], object]


def create_app(
    services: Services,
    *,
    on_start: Sequence[Hook] = (),
    on_stop: Sequence[Hook] = (),
    with_console: bool | None = None,
) -> FastAPI:
    """The API over `services`, with the web console at `/` unless `with_console` (default: the
    FEDERANGE_CONSOLE_ENABLED setting) is false: then the API alone, the baseline of bench/console.py.
    `on_start` hooks run when the server starts serving, `on_stop` hooks (in reverse order) when it
    stops, after the last request: a SIGTERM to uvicorn stops taking connections, finishes the requests
    in flight, then runs them (the embedded server stops its scheduler there)."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        for hook in on_start:
            hook()
        try:
            yield
        finally:
            for hook in reversed(on_stop):
                hook()

    app = FastAPI(
        title="Federange",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.state.services = services
    app.openapi = lambda: contract.document(app)  # type: ignore[method-assign]
    problems.install(app)
    app.add_middleware(problems.UnexpectedErrors)
    app.add_middleware(RequestLimits, max_body_bytes=services.settings.max_body_bytes)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(RequestMetrics)
    # FastAPI matches a request against the routers in the order they were included, trying every route
    # of each (about 5 us a route): the busiest paths come first, which saves a booking about 60 failed
    # matches. Paths of different routers do not overlap, except peers' ranges routes, which are more
    # specific than the ranges router's and so come before it.
    for router in (
        bookings.router,
        bookings.requests_router,
        availability.router,
        environments.router,
        exercises.router,
        federation.router,
        peers.ranges_router,
        ranges.router,
        health.router,
        pools.router,
        scenarios.router,
        bookings.quotas_router,
        organisations.router,
        tokens.router,
        audit.router,
        peers.router,
    ):
        app.include_router(router)
    docs.install(app)
    if services.settings.console_enabled if with_console is None else with_console:
        console.install(app)
    return app


def make_app() -> FastAPI:
    """One worker's app, its object graph built from the environment (FEDERANGE_*) and closed on stop."""
    settings = Settings()
    logs.configure(fmt=settings.log_format, level=settings.log_level)
    services = build(settings)
    return create_app(services, on_stop=[services.close])
