"""The `federange` command: server, admin and client commands (Typer + Rich).

The groups are loaded when they are used (orchestrator.cli.commands), so this module imports Typer only.
"""

from __future__ import annotations

import typer

from orchestrator.cli.commands import FederangeGroup
from orchestrator.cli.options import with_common_options

app = typer.Typer(
    cls=FederangeGroup,
    help="Federange: book capacity on federated cyber ranges and run exercises across them.\n\n"
    "Exit codes: 0 ok, 1 refused or failed, 2 usage error, 3 server not reachable, 4 internal error.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)


@app.callback()
@with_common_options
def _root() -> None:
    pass  # the common options before any subcommand


def main() -> None:
    app()
