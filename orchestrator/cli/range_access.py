"""`federange ranges check-access RANGE`: which permissions the range's connector credentials lack."""

from __future__ import annotations

import typer

from orchestrator.cli import output
from orchestrator.cli.client import client_of


def check_access(
    ctx: typer.Context,
    ref: str = typer.Argument(..., help="Range slug or id"),
) -> None:
    """Ask the range whether its credentials hold every permission the connector needs (Kubernetes:
    the rules of helm/federange-range); lists each missing one and exits 1 when any is missing."""
    report = client_of(ctx).request("GET", f"/api/v1/ranges/{ref}/access")
    if output.machine(report):
        pass
    elif report["reason"]:
        output.errors.print(f"[bold red]Range {report['range']} could not be asked[/]: {report['reason']}")
    elif report["missing"]:
        output.table(
            f"Range {report['range']}: the {report['connector_kind']} credentials lack",
            ["missing permission"],
            [[m] for m in report["missing"]],
        )
    else:
        output.console.print(
            f"Range {report['range']}: the credentials hold every permission the connector needs."
        )
    if not report["ok"]:
        raise typer.Exit(1)
