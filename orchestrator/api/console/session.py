"""The console's session: one signed cookie (HttpOnly, SameSite=Lax, Secure behind TLS) holding who signed
in and a CSRF token; nothing secret is in it. An API-token session keeps the token's digest (the form it is
stored in, useless as a bearer); an OpenID Connect session keeps the issuer's name and the verified claims,
which are mapped to a principal again on every request (an organisation removed or a role no longer
fitting ends it). While a sign-in is under way it holds that flow's state, nonce and PKCE verifier."""

from __future__ import annotations

import hmac
import secrets
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.requests import Request
from starlette.responses import Response

COOKIE = "federange_session"


class Sessions:
    def __init__(self, key: bytes, *, max_age: int, https_only: bool) -> None:
        self.serializer = URLSafeTimedSerializer(key, salt="federange-console")
        self.max_age = max_age
        self.https_only = https_only

    def read(self, request: Request) -> dict[str, Any]:
        raw = request.cookies.get(COOKIE)
        if not raw:
            return {}
        try:
            data = self.serializer.loads(raw, max_age=self.max_age)
        except BadSignature:
            return {}
        return data if isinstance(data, dict) else {}

    def write(self, response: Response, data: dict[str, Any]) -> None:
        response.set_cookie(
            COOKIE,
            self.serializer.dumps(data),
            max_age=self.max_age,
            httponly=True,
            samesite="lax",
            secure=self.https_only,
            path="/",
        )

    def clear(self, response: Response) -> None:
        response.delete_cookie(COOKIE, path="/", httponly=True, samesite="lax", secure=self.https_only)


def csrf_of(session: dict[str, Any]) -> str:
    token = session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(24)
        session["csrf"] = token
    return token


def csrf_ok(session: dict[str, Any], sent: object) -> bool:
    expected = session.get("csrf")
    return isinstance(expected, str) and isinstance(sent, str) and hmac.compare_digest(expected, sent)
