"""`federange peers ...`: other Federange instances this one imports ranges from (hub side), and
publishing one's ranges to a peer (home side)."""

from __future__ import annotations

import os
from pathlib import Path

import typer

from orchestrator.cli import output
from orchestrator.cli.client import client_of

app = typer.Typer(help="Federation peers: add one, list, sync; publish a range to one.", no_args_is_help=True)


@app.command("add")
def add(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="What this instance calls the peer, e.g. lv-hub"),
    peer_url: str = typer.Option(..., "--peer-url", help="The peer's base URL"),
    peer_token: str = typer.Option(
        "", "--peer-token", help="The peer token it issued to us (default: FEDERANGE_PEER_TOKEN)"
    ),
    tls_ca: Path | None = typer.Option(
        None, "--tls-ca", help="PEM file: the CA the peer's certificate is checked against"
    ),
    tls_cert: Path | None = typer.Option(
        None, "--tls-cert", help="PEM file: our client certificate, for a peer requiring mutual TLS"
    ),
    tls_key: Path | None = typer.Option(None, "--tls-key", help="PEM file: the client certificate's key"),
) -> None:
    """Add a peer: shake hands and import the ranges it publishes to us (admin)."""
    secret = peer_token or os.environ.get("FEDERANGE_PEER_TOKEN", "")
    if not secret:
        output.errors.print("[bold red]Invalid input[/]: give --peer-token or set FEDERANGE_PEER_TOKEN")
        raise typer.Exit(2)
    body = {"name": name, "base_url": peer_url, "token": secret}
    for field, path in (("tls_ca", tls_ca), ("tls_cert", tls_cert), ("tls_key", tls_key)):
        if path is not None:
            if not path.is_file():
                output.errors.print(
                    f"[bold red]Invalid input[/]: --{field.replace('_', '-')}: {path} is not a file"
                )
                raise typer.Exit(2)
            body[field] = path.read_text()
    peer = client_of(ctx).request("POST", "/api/v1/peers", json=body)
    ranges = ", ".join(peer["ranges"]) or "none"
    output.said(peer, f"[green]added[/] peer {peer['name']} ({peer['api_version']}): ranges {ranges}")


@app.command("list")
def list_(ctx: typer.Context) -> None:
    """The peers this instance imports ranges from."""
    peers = client_of(ctx).request("GET", "/api/v1/peers")
    if output.machine(peers):
        return
    output.records(
        "Peers",
        ["name", "url", "api", "ranges", "synced", "error"],
        [{**p, "ranges": ", ".join(p["ranges"])} for p in peers],
        keys=["name", "base_url", "api_version", "ranges", "synced_at", "sync_error"],
    )


@app.command("sync")
def sync(ctx: typer.Context, name: str) -> None:
    """Import the peer's published ranges again now."""
    peer = client_of(ctx).request("POST", f"/api/v1/peers/{name}/sync")
    output.said(peer, f"[green]synced[/] {peer['name']}: {', '.join(peer['ranges']) or 'no ranges'}")


@app.command("publish")
def publish(
    ctx: typer.Context,
    range_ref: str = typer.Argument(..., help="One of your ranges"),
    organisation: str = typer.Option(..., "--to", help="The peer's organisation id (kind federation_peer)"),
) -> None:
    """Publish one of your ranges to a peer (its operators or an admin)."""
    published = client_of(ctx).request("PUT", f"/api/v1/ranges/{range_ref}/publications/{organisation}")
    output.said(published, f"[green]published[/] {range_ref} to {organisation}")
