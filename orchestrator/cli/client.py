"""The CLI's HTTP client: every client command talks to a Federange server over its public API."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import httpx
import typer

from orchestrator.cli import output

DEFAULT_URL = "http://127.0.0.1:8471"


@dataclass
class ApiClient:
    url: str
    token: str | None
    timeout: float = 30.0

    def request(
        self, method: str, path: str, *, json: Any = None, params: dict[str, Any] | None = None
    ) -> Any:
        """Send one request; on an error status print the problem document and exit with code 1."""
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
            output.errors.print(f"[bold red]Cannot reach Federange at {self.url}[/]: {exc}")
            raise typer.Exit(2) from exc
        if response.status_code >= 400:
            try:
                output.problem(response.json())
            except ValueError:
                output.errors.print(f"[bold red]HTTP {response.status_code}[/]: {response.text[:500]}")
            raise typer.Exit(1)
        if response.status_code == 204 or not response.content:
            return None
        return response.json()


UrlOption = typer.Option(
    None, "--url", envvar="FEDERANGE_URL", help=f"Federange server URL (default {DEFAULT_URL})"
)
TokenOption = typer.Option(None, "--token", envvar="FEDERANGE_TOKEN", help="API token (or FEDERANGE_TOKEN)")


def make_client(url: str | None, token: str | None) -> ApiClient:
    return ApiClient(url=url or os.environ.get("FEDERANGE_URL") or DEFAULT_URL, token=token)


def client_of(ctx: typer.Context) -> ApiClient:
    client = ctx.obj
    if not isinstance(client, ApiClient):
        raise RuntimeError("client commands need the group callback to set up the client")
    return client
