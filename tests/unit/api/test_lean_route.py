"""LeanRoute answers exactly as FastAPI's own handler does: the same route served both ways gives the same
status, body and headers for good requests and for every kind of bad one; and the booking creation is
served the lean way (its shape did not drift out of what LeanRoute takes)."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

import fastapi.routing
import httpx
import pytest
from fastapi import APIRouter, Depends, FastAPI, Header, Request, Response
from fastapi.routing import APIRoute
from opentelemetry import trace
from pydantic import BaseModel, Field

from orchestrator.api.lean import LeanRoute, lean_handler
from orchestrator.api.routes import bookings


class Item(BaseModel):
    name: str = Field(min_length=1, max_length=8)
    count: int = Field(ge=1)
    tags: list[str] = []


async def caller(request: Request) -> str:
    token = request.headers.get("authorization")
    if token is None:
        raise PermissionError("no token")
    return token


class Caller:
    async def __call__(self, request: Request) -> str:
        return request.client.host if request.client else "unknown"


seen: list[dict[str, Any]] = []


def _post(app: FastAPI, **request_args: Any) -> httpx.Response:
    """One request to the app in this process (ASGI, no socket)."""

    async def send() -> httpx.Response:
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 5000))
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            return await client.post("/items", **request_args)

    return asyncio.run(send())


def _app(route_class: type[APIRoute], *, telemetry: dict[str, Any] | None = None) -> FastAPI:
    router = APIRouter(route_class=route_class)

    @router.post("/items", status_code=201)
    async def create(
        item: Item,
        who: Annotated[str, Depends(caller)],
        host: Annotated[str, Depends(Caller())],
        key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=4)] = None,
    ) -> Response:
        seen.append({"item": item, "who": who, "host": host, "key": key})
        return Response(f"{item.name}:{item.count}:{who}:{host}:{key}", status_code=201)

    app = FastAPI(telemetry=telemetry)  # type: ignore[arg-type]
    app.include_router(router)

    @app.exception_handler(PermissionError)
    async def refused(_: Request, exc: PermissionError) -> Response:
        return Response(str(exc), status_code=401)

    return app


TOKEN = {"authorization": "t"}
AS_JSON = {**TOKEN, "content-type": "application/json"}
GOOD = {"name": "a", "count": 2}
ONE = b'{"name":"a","count":1}'
CASES: list[tuple[str, dict[str, Any]]] = [
    ("good", {"json": GOOD, "headers": TOKEN}),
    ("good with key", {"json": GOOD, "headers": {**TOKEN, "Idempotency-Key": "k1"}}),
    (
        "good, charset",
        {"content": ONE, "headers": {**TOKEN, "content-type": "application/json; charset=utf-8"}},
    ),
    ("bad field", {"json": {"name": "", "count": 0}, "headers": TOKEN}),
    ("missing field", {"json": {"name": "a"}, "headers": TOKEN}),
    ("not an object", {"json": [1, 2], "headers": TOKEN}),
    ("invalid JSON", {"content": b'{"name": ', "headers": AS_JSON}),
    ("no body", {"headers": AS_JSON}),
    ("text body", {"content": b"name=a", "headers": {**TOKEN, "content-type": "text/plain"}}),
    ("no content type", {"content": ONE, "headers": TOKEN}),
    ("+json type", {"content": ONE, "headers": {**TOKEN, "content-type": "application/merge-patch+json"}}),
    ("key too long", {"json": GOOD, "headers": {**TOKEN, "Idempotency-Key": "toolong"}}),
    ("no token", {"json": GOOD}),
    ("no token, bad body", {"json": {"name": ""}}),
]


@pytest.mark.parametrize(("case", "request_args"), CASES, ids=[c for c, _ in CASES])
def test_the_lean_way_answers_as_fastapi_does(
    case: str, request_args: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    solved: list[object] = []
    solve = fastapi.routing.solve_dependencies

    async def counted(**kwargs: Any) -> Any:
        solved.append(kwargs["dependant"])
        return await solve(**kwargs)

    monkeypatch.setattr(fastapi.routing, "solve_dependencies", counted)
    answers = []
    for route_class in (APIRoute, LeanRoute):
        seen.clear()
        solved.clear()
        r = _post(_app(route_class), **request_args)
        answers.append((r.status_code, r.content, dict(r.headers), list(seen)))
    assert answers[0] == answers[1], case
    # a request that passes took the lean way (FastAPI solved nothing); the others went through
    # FastAPI's handler (which refuses a body that does not parse before it solves anything)
    lean = case.startswith("good") or case == "no token"
    assert bool(solved) is not (lean or case == "invalid JSON"), case


def test_duplicate_headers_take_fastapis_way() -> None:
    headers = [("authorization", "t"), ("Idempotency-Key", "a"), ("Idempotency-Key", "b")]
    lean = _post(_app(LeanRoute), json={"name": "a", "count": 1}, headers=headers)
    standard = _post(_app(APIRoute), json={"name": "a", "count": 1}, headers=headers)
    assert (lean.status_code, lean.content) == (standard.status_code, standard.content)


def test_routes_of_other_shapes_keep_fastapis_handler() -> None:
    router = APIRouter(route_class=LeanRoute)

    @router.get("/sync")
    def sync_view() -> dict[str, str]:
        return {"a": "b"}

    @router.post("/{item_id}")
    async def with_path(item_id: str, item: Item) -> Response:
        return Response(item_id)

    @router.post("/model")
    async def returns_a_model(item: Item) -> Item:
        return item

    for route in router.routes:
        assert isinstance(route, APIRoute)
        assert lean_handler(route, route.get_route_handler()) is None, route.path


def test_the_booking_creation_takes_the_lean_way() -> None:
    routes = [r for r in bookings.router.routes if isinstance(r, APIRoute) and r.path == "/api/v1/bookings"]
    (create,) = [r for r in routes if "POST" in r.methods]
    assert isinstance(create, LeanRoute)
    assert lean_handler(create, create.get_route_handler()) is not None


class _Provider(trace.TracerProvider):
    """A tracer provider of the operator's own, as FastAPI sees an SDK's (no SDK is installed here)."""

    def get_tracer(self, *args: Any, **kwargs: Any) -> trace.Tracer:
        return trace.NoOpTracer()


def test_while_opentelemetry_records_fastapis_request_data_the_way_is_fastapis(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    solved: list[object] = []
    solve = fastapi.routing.solve_dependencies

    async def counted(**kwargs: Any) -> Any:
        solved.append(kwargs["dependant"])
        return await solve(**kwargs)

    monkeypatch.setattr(fastapi.routing, "solve_dependencies", counted)
    traced = {"tracer_provider": _Provider()}
    r = _post(_app(LeanRoute, telemetry=traced), json=GOOD, headers=TOKEN)
    assert r.status_code == 201
    assert solved
    solved.clear()
    assert _post(_app(LeanRoute), json=GOOD, headers=TOKEN).status_code == 201
    assert not solved
