"""Liveness and readiness; the only endpoints (with the OpenAPI docs) that need no token."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import text

from orchestrator.api.deps import ServicesDep
from orchestrator.db import migrate
from orchestrator.domain.errors import NotReady

router = APIRouter(tags=["health"])


@router.get("/health", summary="Liveness: the process answers")
def health() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/ready", summary="Readiness: the database answers and is migrated", responses={503: {}})
def ready(services: ServicesDep) -> dict[str, str]:
    try:
        with services.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:
        raise NotReady(f"database unreachable: {type(exc).__name__}: {exc}") from exc
    migrate.ensure_migrated(services.engine)
    return {"status": "ready", "database": services.engine.dialect.name}
