"""A cheaper way through FastAPI for the busiest write (`POST /api/v1/bookings`).

FastAPI's request handler solves a route's dependencies generically: for each parameter it looks up
the request's headers, query, path and cookies, validates each value against its field, caches the
dependencies' results and fills a telemetry record. `LeanRoute` serves a route whose parameters are
only a JSON body, header fields with an explicit alias and dependencies on the request alone, and whose
endpoint is a coroutine answering a `Response`, in a few direct calls: the body validated by its field
as FastAPI validates it, each header by its own field, each dependency awaited with the request. A
route of any other shape, and every request that does not pass (a missing or other content type, a
body or header that does not validate), goes through FastAPI's own handler, so errors, their problem
documents and the OpenAPI document are exactly FastAPI's; so does every request while an OpenTelemetry
SDK the operator configured records FastAPI's request data.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi._compat import ModelField
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from fastapi.telemetry import get_telemetry_data

Handler = Callable[[Request], Coroutine[Any, Any, Response]]


#: What neither the route nor its dependencies may declare for the direct way.
_ELSEWHERE = (
    "path_params",
    "query_params",
    "cookie_params",
    "security_scopes_param_name",
    "background_tasks_param_name",
    "response_param_name",
)


def _declares(dependant: Dependant, names: tuple[str, ...]) -> bool:
    return any(getattr(dependant, name) for name in names)


def _request_only(dependant: Dependant) -> Callable[[Request], Awaitable[Any]] | None:
    """The dependency's callable when it is a coroutine function (or an object with one as `__call__`)
    of the request alone, with no parameters or dependencies of its own."""
    call = dependant.call
    if (
        call is None
        or dependant.request_param_name is None
        or _declares(dependant, (*_ELSEWHERE, "header_params", "body_params", "dependencies"))
    ):
        return None
    coroutine = inspect.iscoroutinefunction(call) or inspect.iscoroutinefunction(
        getattr(call, "__call__", None)  # noqa: B004 - an object whose __call__ is a coroutine
    )
    return call if coroutine else None


def lean_handler(route: APIRoute, standard: Handler) -> Handler | None:
    """The direct handler of `route`, or None when its shape is not the one described above."""
    dependant = route.dependant
    endpoint = dependant.call
    if (
        endpoint is None
        or not inspect.iscoroutinefunction(endpoint)
        or inspect.signature(endpoint).return_annotation not in (Response, "Response")
        or len(dependant.body_params) != 1
        or getattr(route, "_embed_body_fields", True)  # (unknown to another FastAPI: its own way)
        or _declares(dependant, (*_ELSEWHERE, "request_param_name"))
    ):
        return None
    body_field = dependant.body_params[0]
    calls: list[tuple[str, Callable[[Request], Awaitable[Any]]]] = []
    for sub in dependant.dependencies:
        call = _request_only(sub)
        if call is None or sub.name is None:
            return None
        calls.append((sub.name, call))
    headers: list[tuple[str, ModelField, str]] = []
    for field in dependant.header_params:
        alias = field.field_info.alias
        if not alias or field.field_info.validation_alias not in (None, alias):
            return None  # FastAPI's alias rules (underscores, choices) stay FastAPI's
        headers.append((field.name, field, alias))

    async def handle(request: Request) -> Response:
        media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if media_type != "application/json" or get_telemetry_data() is not None:
            # (an operator's OpenTelemetry records what FastAPI's handler solves: its spans stay whole)
            return await standard(request)
        raw = await request.body()  # kept on the request: the standard handler reads it again
        try:
            document = json.loads(raw)
        except ValueError:
            return await standard(request)
        body, errors = body_field.validate(document, {}, loc=("body",))
        if errors:
            return await standard(request)
        values: dict[str, Any] = {body_field.name: body}
        for name, field, alias in headers:
            given = request.headers.getlist(alias)
            if len(given) > 1:
                return await standard(request)
            if not given:
                if field.field_info.is_required():
                    return await standard(request)
                values[name] = field.get_default()
                continue
            values[name], errors = field.validate(given[0], {}, loc=("header", alias))
            if errors:
                return await standard(request)
        for name, call in calls:
            values[name] = await call(request)
        response: Response = await endpoint(**values)
        return response

    return handle


class LeanRoute(APIRoute):
    """An `APIRoute` that takes the direct way when its shape allows it."""

    def get_route_handler(self) -> Handler:
        standard = super().get_route_handler()
        return lean_handler(self, standard) or standard
