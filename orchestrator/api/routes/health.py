"""Liveness and readiness; the only endpoints (with the OpenAPI docs) that need no token.

Neither says anything about the deployment to an anonymous caller (no database host, name or version):
why a process is not ready goes to its log, where its operator looks.
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy import text

from orchestrator.api.deps import ServicesDep
from orchestrator.db import migrate
from orchestrator.domain.errors import NotReady
from orchestrator.wiring import metrics

log = logging.getLogger(__name__)
router = APIRouter(tags=["health"])


@router.get("/health", summary="Liveness: the process answers")
def health() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/ready",
    summary="Readiness: the database answers and is migrated",
    responses={503: {"description": "not ready: the database does not answer or is not migrated"}},
)
def ready(services: ServicesDep) -> dict[str, str]:
    try:
        with services.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        migrate.ensure_migrated(services.engine)
    except Exception as exc:
        log.warning("not ready: %s: %s", type(exc).__name__, exc)
        raise NotReady("not ready: the database does not answer or is not migrated") from None
    return {"status": "ready"}


@router.get("/metrics", include_in_schema=False)
def prometheus_metrics(services: ServicesDep) -> Response:
    """Prometheus text exposition: this process's (or every worker's) counters and the database's
    gauges. Like /health it needs no token: the chart's NetworkPolicy admits the scrapers."""
    return Response(metrics.exposition(services.engine), media_type=CONTENT_TYPE_LATEST)
