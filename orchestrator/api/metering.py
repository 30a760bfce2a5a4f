"""HTTP metrics: every request counted by method, route template and status, and timed.

The route is the template the router matched (`/api/v1/ranges/{range_id}`), never the raw path, so the
number of series stays bounded; a request no route matched counts under `unmatched`.
"""

from __future__ import annotations

import time

from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from orchestrator.wiring import metrics


class RequestMetrics:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def sent(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, sent)
        finally:
            route = scope.get("route")
            template = (
                str(getattr(route, "path", "unmatched")) if isinstance(route, BaseRoute) else "unmatched"
            )
            method = str(scope.get("method", ""))
            metrics.HTTP_REQUESTS.labels(method, template, str(status)).inc()
            metrics.HTTP_SECONDS.labels(method, template).observe(time.perf_counter() - started)
