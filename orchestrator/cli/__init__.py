"""The `federange` command: server, admin and client commands (Typer + Rich)."""

from __future__ import annotations

import typer

from orchestrator.cli import (
    admin_client,
    bookings,
    demo,
    exercises,
    peers,
    range_access,
    ranges,
    scenario_build,
    scenario_render,
    scenario_testing,
    scenarios,
    server,
)

app = typer.Typer(
    help="Federange: book capacity on federated cyber ranges and run exercises across them.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
app.command("demo")(demo.demo)
app.command("server")(server.serve)
app.command("api")(server.api)
app.command("scheduler")(server.scheduler)
app.add_typer(server.db_app, name="db")
app.add_typer(server.admin_app, name="admin")
app.add_typer(admin_client.orgs_app, name="orgs")
app.add_typer(admin_client.tokens_app, name="tokens")
ranges.app.command("check-access")(range_access.check_access)
app.add_typer(ranges.app, name="ranges")
app.add_typer(peers.app, name="peers")
scenarios.app.command("render")(scenario_render.render)
scenarios.app.command("build")(scenario_build.build)
scenarios.app.command("test")(scenario_testing.run_test)
app.add_typer(scenarios.app, name="scenario")
app.add_typer(bookings.app, name="bookings")
app.add_typer(exercises.app, name="exercise")
app.add_typer(exercises.env_app, name="env")


def main() -> None:
    app()
