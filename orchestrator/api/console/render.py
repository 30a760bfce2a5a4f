"""Rendering console pages: the Jinja2 templates shipped in this package, the headers every page carries,
who is signed in, and errors shown as their problem `detail` (never a stack trace).

Every console action calls the same use cases as the API with the signed-in principal, so the permission
table decides here exactly as it does there.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, TypeVar
from urllib.parse import quote

from fastapi import Depends, Request
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from pydantic import ValidationError
from starlette.datastructures import FormData
from starlette.responses import RedirectResponse, Response

from orchestrator.api.console.session import Sessions, csrf_of, csrf_ok
from orchestrator.api.deps import ServicesDep
from orchestrator.api.problems import field_path
from orchestrator.domain.errors import FederangeError, FieldProblem, InvalidInput, Refused, Unauthenticated
from orchestrator.identity.issuers import Verified
from orchestrator.identity.permissions import Action, scopes
from orchestrator.identity.principals import Principal
from orchestrator.wiring import Services

M = TypeVar("M")
TEMPLATES = Jinja2Templates(directory=Path(__file__).with_name("templates"))
#: Pages load only this server's own scripts, styles and images, and post forms only to it.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)
PAGE_HEADERS = {"content-security-policy": CSP, "cache-control": "no-store"}


def _when(value: object) -> str:
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return "" if value is None else str(value)


TEMPLATES.env.filters["when"] = _when
TEMPLATES.env.globals["may"] = lambda principal, action: bool(scopes(principal.role, Action(action)))


class SignInRequired(Exception):
    """No session, or one that no longer stands for anybody: go to the sign-in page."""


def sessions(services: Services) -> Sessions:
    s = services.settings
    return Sessions(services.session_key, max_age=s.session_max_age_seconds, https_only=s.session_https_only)


def principal_of(services: Services, session: Mapping[str, Any]) -> Principal | None:
    """Who this session stands for now (None: nobody, or nobody any more)."""
    try:
        with services.uow() as uow:
            identity = services.identity(uow.catalogue)
            if isinstance(digest := session.get("token"), str):
                return identity.authenticate_digest(digest)
            oidc = session.get("oidc")
            if isinstance(oidc, dict) and (trust := services.issuers.by_name.get(str(oidc.get("issuer")))):
                return identity.authenticate_verified(Verified(trust=trust, claims=dict(oidc["claims"])))
    except Unauthenticated:
        return None
    return None


def console_principal(request: Request, services: ServicesDep) -> Principal:
    principal = principal_of(services, sessions(services).read(request))
    if principal is None:
        raise SignInRequired
    return principal


ConsolePrincipal = Annotated[Principal, Depends(console_principal)]


async def checked_form(request: Request, services: ServicesDep) -> FormData:
    """The posted form, refused unless it carries this session's CSRF token."""
    form = await request.form()
    if not csrf_ok(sessions(services).read(request), form.get("csrf")):
        raise InvalidInput(
            FieldProblem("csrf", "the form is stale or was not sent by this console: reload it")
        )
    return form


FormDep = Annotated[FormData, Depends(checked_form)]


def page(
    request: Request,
    services: Services,
    template: str,
    *,
    principal: Principal | None,
    status: int = 200,
    **context: Any,
) -> Response:
    """A rendered page with its headers; a fresh session gets its CSRF token in the same response."""
    store = sessions(services)
    session = store.read(request)
    had = "csrf" in session
    response = TEMPLATES.TemplateResponse(
        request,
        template,
        {"principal": principal, "csrf": csrf_of(session), "issuers": services.issuers.by_name, **context},
        status_code=status,
        headers=PAGE_HEADERS,
    )
    if not had:
        store.write(response, session)
    return response


def see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303, headers=PAGE_HEADERS)


def utc(value: object) -> str:
    """A `datetime-local` input's value (no zone) read as UTC."""
    text = str(value or "")
    return f"{text}:00Z" if len(text) == 16 else text


def validated(model: Callable[..., M], data: Mapping[str, Any]) -> M:
    """`model(**data)`, its validation errors as InvalidInput naming each field (like the API's 422)."""
    try:
        return model(**data)
    except ValidationError as exc:
        raise InvalidInput(
            [FieldProblem(field_path(tuple(e["loc"])) or "form", str(e["msg"])) for e in exc.errors()]
        ) from exc


class ConsoleRoute(APIRoute):
    """Console routes answer with pages: a domain error becomes the error page showing its detail (and
    each field or reason), a missing sign-in a redirect to the sign-in page."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                return await handler(request)
            except SignInRequired:
                target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                return see_other(f"/signin?next={quote(target, safe='')}")
            except FederangeError as exc:
                services: Services = request.app.state.services
                session = sessions(services).read(request)
                errors = exc.problems if isinstance(exc, InvalidInput) else ()
                return page(
                    request,
                    services,
                    "error.html",
                    principal=principal_of(services, session),
                    status=exc.status,
                    title=exc.title,
                    detail=exc.reason,
                    errors=errors,
                    reasons=exc.reasons if isinstance(exc, Refused) else [],
                )

        return handle
