"""The CLI's HTTP client: every client command talks to a Federange server over its public API."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import typer

from orchestrator.cli import output
from orchestrator.cli.commands import EXIT_FAILED, EXIT_UNREACHABLE
from orchestrator.cli.options import DEFAULT_URL, current

__all__ = ["DEFAULT_URL", "ApiClient", "client_of"]

UNAUTHORISED_HINT = (
    "give a token with --token TOKEN or export FEDERANGE_TOKEN=TOKEN "
    "(the first admin token comes from `federange admin bootstrap`)"
)


@dataclass
class ApiClient:
    url: str
    token: str | None
    timeout: float = 30.0

    def request(
        self, method: str, path: str, *, json: Any = None, params: dict[str, Any] | None = None
    ) -> Any:
        """Send one request; on an error status print the problem document and exit 1; when the server
        cannot be reached, say how to start one and exit 3."""
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        clean = {k: v for k, v in (params or {}).items() if v is not None}
        try:
            response = httpx.request(
                method,
                self.url.rstrip("/") + path,
                json=json,
                params=clean,
                headers=headers,
                timeout=self.timeout,
            )
        except httpx.HTTPError as exc:
            output.errors.print(
                f"[bold red]Cannot reach Federange at {self.url}[/]: {exc}\n"
                "Start a server with `federange server` (or point --url / FEDERANGE_URL at one).",
                highlight=False,
            )
            raise typer.Exit(EXIT_UNREACHABLE) from None
        if response.status_code >= 400:
            try:
                body = response.json()
            except ValueError:
                body = None
            if isinstance(body, dict):
                output.problem(body)
            else:
                output.errors.print(f"[bold red]HTTP {response.status_code}[/]: {response.text[:500]}")
            if response.status_code == 401:
                missing = "no token was given" if not self.token else "the token was not accepted"
                output.errors.print(f"  {missing}: {UNAUTHORISED_HINT}", highlight=False)
            raise typer.Exit(EXIT_FAILED)
        if response.status_code == 204 or not response.content:
            return None
        return response.json()


def client_of(ctx: typer.Context | None = None) -> ApiClient:
    """A client for the server and token this invocation was given (options, then the environment)."""
    common = current()
    return ApiClient(url=common.server_url, token=common.api_token)
