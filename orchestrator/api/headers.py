"""Security headers on every response, and `Cache-Control: no-store` on every API response.

The API serves data for one caller (bookings, access details, tokens): nothing of it may be kept by a
shared cache or the browser's history. Pages and their assets (the docs, later the console) set their own
caching and content policy.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

#: Sent on every response.
ALWAYS = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
)
#: Sent on JSON API responses (not on the docs pages, which load their own scripts and styles).
API = (
    (b"cache-control", b"no-store"),
    (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'"),
)
_PAGES = ("/docs", "/redoc")


class SecurityHeaders:
    """Pure ASGI middleware (no per-request task or body buffering: it only adds headers)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = ALWAYS if str(scope["path"]).startswith(_PAGES) else ALWAYS + API

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                message["headers"] = [
                    *message.get("headers", []),
                    *((name, value) for name, value in extra if name not in present),
                ]
            await send(message)

        await self.app(scope, receive, send_with_headers)
