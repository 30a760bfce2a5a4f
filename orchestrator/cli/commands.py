"""The `federange` command tree: command groups loaded when they are used, and one error handler.

`federange --help` lists every group from the table below without importing any of them (a group's
module pulls in httpx, Rich tables, SQLAlchemy or a connector SDK); running a command imports its group
only. Every group gets the common options (orchestrator.cli.options) as it loads.

Exit codes (docs/cli.md): 0 ok; 1 refused or failed (the server said no, a check failed); 2 usage (a
bad option, a file that does not parse); 3 the server cannot be reached; 4 an internal error (a bug:
the message says how to get the traceback, FEDERANGE_DEBUG=1). No command shows a traceback otherwise.
"""

from __future__ import annotations

import importlib
import os
import sys
from dataclasses import dataclass
from typing import Any

import typer
from typer.core import TyperCommand, TyperGroup

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_UNREACHABLE = 3
EXIT_INTERNAL = 4


@dataclass(frozen=True)
class Entry:
    module: str
    attribute: str
    help: str


GROUPS: dict[str, Entry] = {
    "demo": Entry("orchestrator.cli.demo", "demo", "Run a federated exercise end to end on this machine."),
    "server": Entry("orchestrator.cli.server", "serve", "Run the API and the scheduler in one process."),
    "api": Entry("orchestrator.cli.server", "api", "Run the stateless API only."),
    "scheduler": Entry("orchestrator.cli.server", "scheduler", "Run the scheduler only."),
    "db": Entry("orchestrator.cli.server", "db_app", "Database schema management."),
    "admin": Entry("orchestrator.cli.server", "admin_app", "Administration on the server machine."),
    "orgs": Entry("orchestrator.cli.admin_client", "orgs_app", "Organisations of the federation."),
    "tokens": Entry("orchestrator.cli.admin_client", "tokens_app", "API tokens (admin)."),
    "ranges": Entry("orchestrator.cli.ranges", "app", "Register, inspect and change cyber ranges."),
    "peers": Entry(
        "orchestrator.cli.peers", "app", "Federation peers: add one, list, sync; publish a range to one."
    ),
    "scenario": Entry(
        "orchestrator.cli.scenario_app", "app", "Validate, inspect, build, test, import and upload scenarios."
    ),
    "bookings": Entry("orchestrator.cli.bookings", "app", "Book capacity on ranges for a window."),
    "exercise": Entry("orchestrator.cli.exercises", "app", "Schedule and follow federated exercises."),
    "env": Entry("orchestrator.cli.exercises", "env_app", "Researcher environments: one instance, now."),
}


def load(entry: Entry, name: str) -> Any:
    """The click command of one group (or top-level command), with the common options."""
    from orchestrator.cli import options

    target = getattr(importlib.import_module(entry.module), entry.attribute)
    if isinstance(target, typer.Typer):
        app = options.apply(target)
    else:  # one command: a Typer of one command (and no callback) is that command itself
        app = typer.Typer()
        app.command(name)(options.with_common_options(target))
    command = typer.main.get_command(app)
    command.name = name
    return command


def _is_cli_exception(exc: BaseException) -> bool:
    """Exit, Abort and the parser's usage errors: the framework prints them itself."""
    return isinstance(exc, (typer.Exit, typer.Abort)) or (hasattr(exc, "exit_code") and hasattr(exc, "show"))


class FederangeGroup(TyperGroup):
    """The root group: lazy subcommands, and no traceback for an error nobody handled."""

    _listing = False

    def list_commands(self, ctx: Any) -> list[str]:
        return list(dict.fromkeys([*GROUPS, *self.commands]))

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name in self.commands:
            return self.commands[cmd_name]
        entry = GROUPS.get(cmd_name)
        if entry is None:
            return None
        if self._listing:  # the root's --help: the table's text is enough
            return TyperCommand(name=cmd_name, help=entry.help)
        command = load(entry, cmd_name)
        self.commands[cmd_name] = command
        return command

    def format_help(self, ctx: Any, formatter: Any) -> None:
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False

    def invoke(self, ctx: Any) -> Any:
        from orchestrator.cli import options, output

        output.open_consoles()
        try:
            return super().invoke(ctx)
        except Exception as exc:
            if _is_cli_exception(exc) or os.environ.get("FEDERANGE_DEBUG"):
                raise
            from rich.markup import escape

            output.errors.print(
                f"[bold red]internal error[/]: {type(exc).__name__}: {escape(str(exc))}\n"
                "This is a bug in Federange; run again with FEDERANGE_DEBUG=1 for the traceback.",
                highlight=False,
                markup=True,
            )
            sys.stdout.flush()
            raise typer.Exit(EXIT_INTERNAL) from None
        finally:
            options.forget()
