"""`federange orgs ...` and `federange tokens ...`: onboarding over HTTP with an admin token."""

from __future__ import annotations

import typer

from orchestrator.cli import ids, output
from orchestrator.cli.client import client_of

orgs_app = typer.Typer(help="Organisations of the federation.", no_args_is_help=True)
tokens_app = typer.Typer(help="API tokens (admin).", no_args_is_help=True)


@orgs_app.command("create")
def create_org(
    ctx: typer.Context,
    name: str = typer.Option(...),
    country: str = typer.Option(..., help="ISO 3166-1 alpha-2"),
    kind: str = typer.Option("range_operator", help="range_operator | training_provider | research | agency"),
) -> None:
    """Create an organisation."""
    org = client_of(ctx).request(
        "POST", "/api/v1/organisations", json={"name": name, "country": country, "kind": kind}
    )
    output.said(org, f"[green]created[/] organisation {org['name']} ({org['country']}): {org['id']}")


@orgs_app.command("list")
def list_orgs(ctx: typer.Context) -> None:
    """List organisations."""
    orgs = client_of(ctx).request("GET", "/api/v1/organisations")
    output.listing(orgs, "Organisations", ["id", "name", "country", "kind"])


@tokens_app.command("issue")
def issue(
    ctx: typer.Context,
    name: str = typer.Option(..., help="Who holds the token"),
    organisation: str = typer.Option(..., "--organisation", "--org", help="Organisation id"),
    role: str = typer.Option(..., help="admin | operator | trainer | researcher"),
    expires_at: str | None = typer.Option(None, help="RFC 3339 expiry"),
) -> None:
    """Issue a token; it is printed once."""
    organisation = ids.resolve(client_of(ctx), "organisation", organisation)
    t = client_of(ctx).request(
        "POST",
        "/api/v1/tokens",
        json={"name": name, "organisation_id": organisation, "role": role, "expires_at": expires_at},
    )
    if output.machine(t):
        return
    output.errors.print(f"[green]token issued[/] for {t['principal_name']} ({t['role']}); shown once:")
    output.console.print(t["token"])


@tokens_app.command("list")
def list_tokens(ctx: typer.Context) -> None:
    """List tokens (never their secrets)."""
    output.listing(
        client_of(ctx).request("GET", "/api/v1/tokens"),
        "Tokens",
        ["id", "holder", "role", "organisation id", "prefix", "revoked"],
        keys=["id", "principal_name", "role", "organisation_id", "prefix", "revoked_at"],
    )


@tokens_app.command("revoke")
def revoke(ctx: typer.Context, token_id: str) -> None:
    """Revoke a token."""
    token_id = ids.resolve(client_of(ctx), "token", token_id)
    client_of(ctx).request("DELETE", f"/api/v1/tokens/{token_id}")
    output.said({"id": token_id, "revoked": True}, f"[green]revoked[/] token {token_id}")
