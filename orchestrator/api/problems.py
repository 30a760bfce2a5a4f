"""RFC 9457 problem+json for every error, from one table. Domain reasons reach the client unchanged."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from orchestrator.db.engine import unavailable
from orchestrator.domain.errors import (
    FederangeError,
    InvalidInput,
    Refused,
    TooManyRequests,
    Unauthenticated,
)

log = logging.getLogger(__name__)

MEDIA_TYPE = "application/problem+json"
_LOCATION_ROOTS = {"body", "query", "path", "header"}


def problem(
    status: int,
    title: str,
    detail: str,
    *,
    instance: str,
    extra: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    slug = title.lower().replace(" ", "-")
    body: dict[str, Any] = {
        "type": f"urn:federange:problem:{slug}",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": instance,
    }
    body.update(extra or {})
    headers = {**({"WWW-Authenticate": "Bearer"} if status == 401 else {}), **(headers or {})}
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers or None)


def field_path(loc: tuple[Any, ...] | list[Any]) -> str:
    """('body', 'capacity', 'cpu_millicores') -> 'capacity.cpu_millicores'; list indexes as [i]."""
    parts = list(loc)
    if parts and parts[0] in _LOCATION_ROOTS and len(parts) > 1:
        parts = parts[1:]
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "body"


def _reason(message: str) -> str:
    for prefix in ("Value error, ", "Assertion failed, "):
        if message.startswith(prefix):
            return message[len(prefix) :]
    return message


def allowed_methods(request: Request) -> list[str]:
    """Every method some route serves at this path (the router names only the first route it matched:
    one path may be served by several routes, one per method)."""
    methods: set[str] = set()
    for route in request.app.routes:
        if isinstance(route, Route) and route.methods and route.matches(request.scope)[0] is not Match.NONE:
            methods |= route.methods
    return sorted(methods)


def install(app: FastAPI) -> None:
    @app.exception_handler(FederangeError)
    async def _domain(request: Request, exc: FederangeError) -> JSONResponse:
        extra: dict[str, Any] = {}
        if isinstance(exc, InvalidInput):
            extra["errors"] = [{"field": p.field, "reason": p.reason} for p in exc.problems]
        if isinstance(exc, Refused):
            extra["reasons"] = exc.reasons
        headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, TooManyRequests) else None
        return problem(
            exc.status, exc.title, exc.reason, instance=request.url.path, extra=extra, headers=headers
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"field": field_path(e["loc"]), "reason": _reason(str(e["msg"]))} for e in exc.errors()]
        detail = "; ".join(f"{e['field']}: {e['reason']}" for e in errors)
        return problem(422, "Invalid input", detail, instance=request.url.path, extra={"errors": errors})

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400:  # a body the framework could not read: invalid input, like any other
            return problem(422, "Invalid input", f"body: {exc.detail}", instance=request.url.path)
        titles = {404: "Not found", 405: "Method not allowed", 401: "Unauthenticated"}
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = ", ".join(allowed_methods(request))
        return problem(
            exc.status_code,
            titles.get(exc.status_code, "HTTP error"),
            str(exc.detail),
            instance=request.url.path,
            headers=headers,
        )


#: What a client is told to wait before retrying when the database did not answer.
RETRY_AFTER_SECONDS = 2


class UnexpectedErrors:
    """An exception no handler maps is logged once, with its traceback, and answered with a 500 problem;
    the database not answering (`db.engine.unavailable`) is a 503 with Retry-After and a one-line
    warning instead (nothing of the database's address or its message reaches the client).

    It is caught here, inside Starlette's ServerErrorMiddleware: an `exception_handler(Exception)` would
    answer as well, but Starlette then raises the exception again for the server, which logs a second
    traceback of the same error."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def sent(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, sent)
        except Exception as error:
            method, path = str(scope.get("method", "")), str(scope.get("path", ""))
            down = unavailable(error)
            if down:
                first = (str(error).strip().splitlines() or [""])[0]
                log.warning(
                    "database unavailable on %s %s: %s: %s", method, path, type(error).__name__, first
                )
            else:
                log.exception("unhandled error on %s %s", method, path)
            if started:  # part of the answer is out: the server closes the connection
                return
            if down:
                response = problem(
                    503,
                    "Service unavailable",
                    "the database did not answer or could not finish the request; retry shortly",
                    instance=path,
                    headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
                )
            else:
                response = problem(
                    500, "Internal error", "an unexpected error occurred; see the server log", instance=path
                )
            await response(scope, receive, send)


__all__ = ["MEDIA_TYPE", "Unauthenticated", "UnexpectedErrors", "field_path", "install", "problem"]
