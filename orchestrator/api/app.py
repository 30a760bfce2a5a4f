"""The FastAPI app factory. The app is stateless: every request opens its own unit of work."""

from __future__ import annotations

from fastapi import FastAPI

from orchestrator import __version__
from orchestrator.api import problems
from orchestrator.api.routes import (
    audit,
    availability,
    bookings,
    environments,
    exercises,
    health,
    organisations,
    ranges,
    scenarios,
    tokens,
)
from orchestrator.wiring import Services

DESCRIPTION = """Federange books capacity on national cyber ranges for time windows, places the teams of
federated exercises across them and deploys an isolated scenario instance per team.

Every endpoint except `/health`, `/ready` and these docs needs `Authorization: Bearer <token>`.
Errors are RFC 9457 `application/problem+json` documents naming the offending field and the reason."""


def create_app(services: Services) -> FastAPI:
    app = FastAPI(title="Federange", version=__version__, description=DESCRIPTION)
    app.state.services = services
    problems.install(app)
    for module in (health, organisations, tokens, ranges, audit, scenarios, exercises, environments):
        app.include_router(module.router)
    for router in (bookings.router, bookings.requests_router, bookings.quotas_router, availability.router):
        app.include_router(router)
    return app
