"""`federange scenario ...` in full: the offline commands (orchestrator.cli.scenarios) with render, build
and test, which need connectors."""

from __future__ import annotations

from orchestrator.cli import scenario_build, scenario_render, scenario_testing, scenarios

app = scenarios.app
app.command("render")(scenario_render.render)
app.command("build")(scenario_build.build)
app.command("test")(scenario_testing.run_test)
