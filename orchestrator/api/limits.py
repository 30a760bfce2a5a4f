"""Bounds on what a request may be, checked before anything parses it or asks who sent it.

- a body larger than `max_body_bytes` is refused with 413 as soon as its declared length (or, when
  streamed, the bytes received so far) says so: a 20 MB body costs no parsing and no token lookup;
- a NUL byte in the URL (path or query) is refused with 422: databases keep text without NUL, so such a
  value could only fail later, deep inside a query.

Inside JSON bodies the schemas refuse NUL bytes and over-long text (see `schemas.common.Schema`).
"""

from __future__ import annotations

from urllib.parse import unquote_to_bytes

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from orchestrator.api.problems import problem


class RequestLimits:
    def __init__(self, app: ASGIApp, *, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = str(scope["path"])
        where = _nul_in(scope)
        if where:
            response = problem(
                422,
                "Invalid input",
                f"{where}: must not contain NUL bytes",
                instance=path,
                extra={"errors": [{"field": where, "reason": "must not contain NUL bytes"}]},
            )
            await response(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_body_bytes:
            await self._refuse(scope, receive, send)
            return
        received = 0
        too_large = False
        replaced = False

        async def counted() -> Message:
            # Past the limit the app is told the body ended (it fails to parse what it got) and its
            # answer is replaced by the 413 below: an app cannot be made to stop reading otherwise.
            nonlocal received, too_large
            if too_large:
                return {"type": "http.request", "body": b"", "more_body": False}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    too_large = True
                    return {"type": "http.request", "body": b"", "more_body": False}
            return message

        async def answered(message: Message) -> None:
            nonlocal replaced
            if too_large:
                if message["type"] == "http.response.start" and not replaced:
                    replaced = True
                    await self._refuse(scope, receive, send)
                return
            await send(message)

        await self.app(scope, counted, answered)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        limit = self.max_body_bytes
        response = problem(
            413,
            "Request too large",
            f"the request body is larger than {limit} bytes ({limit // 1024} KiB)",
            instance=str(scope["path"]),
        )
        await response(scope, receive, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _nul_in(scope: Scope) -> str:
    """Where the URL holds a NUL byte ("path" or "query"), or ""."""
    raw_path = scope.get("raw_path") or str(scope["path"]).encode()
    if b"\x00" in unquote_to_bytes(raw_path):
        return "path"
    if b"\x00" in unquote_to_bytes(scope.get("query_string", b"").replace(b"+", b" ")):
        return "query"
    return ""
