"""Signing in to the console: with an organisation's OpenID Connect issuer (authorization code + PKCE,
authlib's client; the ID token verified against the issuer's JWKS like any bearer JWT), or with an API
token pasted into a form. Signing out forgets the session."""

from __future__ import annotations

import secrets
import warnings
from typing import Annotated, Any

import httpx
from authlib.integrations.base_client.errors import OAuthError
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from orchestrator.api.console.render import ConsoleRoute, FormDep, page, principal_of, see_other, sessions
from orchestrator.api.deps import ServicesDep
from orchestrator.domain.errors import FieldProblem, InvalidInput, Unauthenticated
from orchestrator.identity import tokens

with warnings.catch_warnings():
    # authlib 1.9 announces that its httpx client moves to `httpx2`; the client used here is unchanged
    warnings.simplefilter("ignore", DeprecationWarning)
    from authlib.integrations.httpx_client import OAuth2Client

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)


def _safe_next(target: str) -> str:
    """Only a path on this console (never another site: no open redirect)."""
    return target if target.startswith("/") and not target.startswith("//") and "\\" not in target else "/"


def _callback(request: Request) -> str:
    return str(request.url_for("signin_callback"))


@router.get("/signin")
def signin_page(request: Request, services: ServicesDep, next: str = "/") -> Response:
    return page(request, services, "signin.html", principal=None, next=_safe_next(next))


@router.post("/signin/token")
def signin_token(request: Request, services: ServicesDep, form: FormDep) -> Response:
    token = str(form.get("token", "")).strip()
    client = request.client.host if request.client else "unknown"
    services.throttle.check(client)
    try:
        with services.uow() as uow:
            services.identity(uow.catalogue).authenticate(token)
    except Unauthenticated as exc:
        services.throttle.failed(client)
        raise InvalidInput(FieldProblem("token", exc.reason)) from exc
    store = sessions(services)
    session = {"csrf": secrets.token_urlsafe(24), "token": tokens.digest(token)}
    response = see_other(_safe_next(str(form.get("next", "/"))))
    store.write(response, session)
    return response


@router.get("/signin/oidc/{issuer}")
def signin_oidc(
    request: Request,
    issuer: str,
    services: ServicesDep,
    next: Annotated[str, Query()] = "/",
) -> Response:
    trust = services.issuers.by_name.get(issuer)
    if trust is None or not trust.client_id:
        raise InvalidInput(FieldProblem("issuer", f"no issuer '{issuer}' to sign in with here"))
    metadata = services.issuers.metadata(trust)
    verifier, state, nonce = secrets.token_urlsafe(48), secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    with OAuth2Client(
        client_id=trust.client_id, redirect_uri=_callback(request), scope="openid profile"
    ) as client:
        url, _ = client.create_authorization_url(
            str(metadata["authorization_endpoint"]),
            state=state,
            nonce=nonce,
            code_challenge=create_s256_code_challenge(verifier),
            code_challenge_method="S256",
        )
    store = sessions(services)
    session = store.read(request)
    session["flow"] = {
        "issuer": trust.name,
        "state": state,
        "nonce": nonce,
        "verifier": verifier,
        "next": _safe_next(next),
    }
    response = see_other(url)
    store.write(response, session)
    return response


@router.get("/signin/callback", name="signin_callback")
def signin_callback(
    request: Request,
    services: ServicesDep,
    state: str = "",
    code: str = "",
    error: str = "",
    error_description: str = "",
) -> Response:
    store = sessions(services)
    session = store.read(request)
    flow: dict[str, Any] = session.pop("flow", None) or {}
    if error:
        raise Unauthenticated(f"the identity provider refused the sign-in: {error_description or error}")
    if not flow or not secrets.compare_digest(str(flow.get("state", "")), state):
        raise Unauthenticated("this sign-in answer does not belong to a sign-in started here: sign in again")
    trust = services.issuers.by_name.get(str(flow["issuer"]))
    if trust is None:
        raise Unauthenticated(f"issuer '{flow['issuer']}' is no longer trusted here")
    metadata = services.issuers.metadata(trust)
    with OAuth2Client(
        client_id=trust.client_id,
        client_secret=trust.client_secret or None,
        redirect_uri=_callback(request),
        token_endpoint_auth_method="client_secret_basic" if trust.client_secret else "none",
        timeout=services.issuers.timeout,
    ) as client:
        try:
            answer = client.fetch_token(
                str(metadata["token_endpoint"]), code=code, code_verifier=str(flow["verifier"])
            )
        except (OAuthError, httpx.HTTPError) as exc:
            raise Unauthenticated(
                f"issuer '{trust.name}' did not hand out tokens for this sign-in: {exc}"
            ) from exc
    id_token = answer.get("id_token")
    if not isinstance(id_token, str):
        raise Unauthenticated(f"issuer '{trust.name}' answered without an ID token")
    verified = services.issuers.verify(id_token, audience=trust.client_id, nonce=str(flow["nonce"]))
    keep = {
        trust.role_claim,
        trust.organisation_claim,
        trust.name_claim,
        "sub",
        "email",
        "preferred_username",
    }
    claims = {k: v for k, v in verified.claims.items() if k in keep and k}
    fresh = {"csrf": secrets.token_urlsafe(24), "oidc": {"issuer": trust.name, "claims": claims}}
    if principal_of(services, fresh) is None:  # says why: the same mapping, raising
        with services.uow() as uow:
            services.identity(uow.catalogue).authenticate_verified(verified)
    response = see_other(str(flow.get("next", "/")))
    store.write(response, fresh)
    return response


@router.post("/signout")
def signout(services: ServicesDep, form: FormDep) -> Response:
    del form
    response = see_other("/signin")
    sessions(services).clear(response)
    return response
