"""`federange scenario test NAME`: deploy a scenario, run its walkthrough, report every objective.

What a trainer runs before an exercise: the scenario's own images are built and made available (unless
`--no-build`), one instance is deployed on the range (`--range FILE`, default the local Docker engine)
under a fresh instance id and seed, provisioned, and its walkthrough (`solution/`) run as a team would:
inside the host it names (the connector's `run` capability) or on this machine against the entry points.
Each objective is solved when the value the walkthrough recovered is this instance's own. The instance
is torn down afterwards, whatever happened (also on failure or Ctrl-C).
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import typer

from connectors import registry
from connectors.base import (
    CommandResult,
    CommandRunner,
    Connector,
    ConnectorError,
    ConnectorRefusal,
    InstanceSpec,
    Phase,
)
from orchestrator.cli import output
from orchestrator.cli.options import current
from orchestrator.cli.scenario_build import (
    BaseOption,
    EngineOption,
    RangeDocument,
    close,
    local_engine,
    open_connector,
    prepare,
    read_range,
)
from orchestrator.cli.scenarios import fail, resolve
from scenarios.bundle import Bundle
from scenarios.errors import ScenarioError
from scenarios.images import base_image, pinned
from scenarios.materialise import materialise
from scenarios.serialise import dump_yaml
from scenarios.walkthrough import (
    Solution,
    Verdict,
    interpreter,
    load_solution,
    recovered,
    script_environment,
    verdicts,
)


@dataclass(kw_only=True)
class Outcome:
    """One test run: the figures (seconds) and the verdicts."""

    scenario: str
    instance_id: str
    range: str
    seconds: dict[str, float] = field(default_factory=dict)
    verdicts: list[Verdict] = field(default_factory=list)
    error: str = ""
    stdout: str = ""
    stderr: str = ""

    @property
    def passed(self) -> bool:
        return not self.error and bool(self.verdicts) and all(v.solved for v in self.verdicts)

    def as_dict(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "instance": self.instance_id,
            "range": self.range,
            "passed": self.passed,
            "error": self.error,
            "seconds": {k: round(v, 2) for k, v in self.seconds.items()},
            "objectives": [
                {"variable": v.variable, "title": v.title, "solved": v.solved} for v in self.verdicts
            ],
        }


def _timed(outcome: Outcome, step: str, work: Callable[[], Any]) -> Any:
    started = time.monotonic()
    try:
        return work()
    finally:
        outcome.seconds[step] = outcome.seconds.get(step, 0.0) + time.monotonic() - started


def run_walkthrough(
    solution: Solution, connector: Connector, spec: InstanceSpec, *, entries: list[tuple[str, int, str]]
) -> CommandResult:
    """Run the walkthrough where it says, with what a team is given."""
    walkthrough = solution.walkthrough
    timeout = float(walkthrough.timeout_seconds)
    if walkthrough.host is not None:
        if not isinstance(connector, CommandRunner):
            raise ConnectorRefusal(
                f"the walkthrough runs inside host {walkthrough.host}, but a {connector.kind} range cannot "
                "run commands in its hosts"
            )
        environment = script_environment(spec.scenario, spec.values)
        argv = solution.argv(environment)
        return connector.run(instance_id=spec.instance_id, host=walkthrough.host, argv=argv, timeout=timeout)
    environment = script_environment(spec.scenario, spec.values, entries=entries)
    argv = interpreter(solution.script)
    if Path(argv[-1]).name.startswith("python"):
        argv = [sys.executable]  # the tester's own Python (stdlib only in walkthroughs)
    try:
        done = subprocess.run(  # noqa: S603 - the scenario's own walkthrough, no shell
            [*argv, "-c", solution.script],
            env={**os.environ, **environment},
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        return CommandResult(exit_code=None, stdout=str(exc.stdout or ""), stderr=str(exc.stderr or ""))
    return CommandResult(exit_code=done.returncode, stdout=done.stdout, stderr=done.stderr)


def _provision(
    bundle: Bundle, connector: Connector, spec: InstanceSpec, on_line: Callable[[str], None]
) -> None:
    if not spec.scenario.spec.provisioning:
        return
    target = connector.provisioning_target(instance_id=spec.instance_id)
    result = registry.load_provisioner("ansible").provision(
        scenario_document=bundle.text,
        base_dir=bundle.directory,
        target=target,
        values=spec.values,
        instance_id=spec.instance_id,
        on_event=on_line,
    )
    if not result.ok:
        raise ConnectorError(result.error or "provisioning failed")


def check_scenario(
    bundle: Bundle,
    solution: Solution,
    connector: Connector,
    *,
    range_name: str,
    base: str,
    instance_id: str,
    seed: bytes,
    ready_timeout: float,
    on_line: Callable[[str], None],
) -> Outcome:
    """Deploy, provision, run the walkthrough, judge, tear down (always)."""
    scenario = pinned(bundle, base=base)
    values = materialise(scenario, seed=seed, instance_id=instance_id)
    spec = InstanceSpec(
        instance_id=instance_id,
        exercise="scenario-test",
        team="tester",
        scenario_document=dump_yaml(scenario),
        values=values,
    )
    outcome = Outcome(scenario=scenario.ref, instance_id=instance_id, range=range_name)
    try:
        on_line(f"deploying {scenario.ref} as instance {instance_id} on {range_name}")
        _timed(outcome, "deploy", lambda: connector.deploy(instance=spec))
        status = _timed(
            outcome, "deploy", lambda: connector.wait_ready(instance_id=instance_id, timeout=ready_timeout)
        )
        if status.phase is not Phase.READY:
            outcome.error = f"instance not ready: {status.reason}"
            return outcome
        _timed(outcome, "provision", lambda: _provision(bundle, connector, spec, on_line))
        entries = [(e.host, e.port, e.address) for e in status.endpoints]
        on_line(f"running the walkthrough {solution.walkthrough.script}")
        result = _timed(
            outcome, "walkthrough", lambda: run_walkthrough(solution, connector, spec, entries=entries)
        )
        outcome.stdout, outcome.stderr = result.stdout, result.stderr
        outcome.verdicts = verdicts(solution.walkthrough, values, recovered(result.stdout))
        if result.exit_code is None:
            outcome.error = f"the walkthrough did not finish in {solution.walkthrough.timeout_seconds}s"
        elif result.exit_code != 0:
            outcome.error = f"the walkthrough exited with status {result.exit_code}"
    except (ConnectorError, ConnectorRefusal) as exc:
        outcome.error = exc.reason
    finally:
        on_line(f"tearing down instance {instance_id}")
        try:
            _timed(outcome, "teardown", lambda: connector.teardown(instance_id=instance_id))
        except ConnectorError as exc:
            outcome.error = outcome.error or f"teardown failed: {exc.reason}"
    return outcome


def run_test(
    name: str = typer.Argument(..., help="Library NAME[@VERSION], a scenario file or its folder"),
    range_file: Path | None = typer.Option(
        None, "--range", help="Range document (connector: {kind, config}); default: the local Docker engine"
    ),
    engine: str = EngineOption,
    base: str | None = BaseOption,
    build_images: bool = typer.Option(True, "--build/--no-build", help="Build and deliver images first"),
    instance: str | None = typer.Option(None, "--instance", help="Instance id (default: a fresh one)"),
    seed: str | None = typer.Option(None, "--seed", help="Seed of the per-instance values (default: random)"),
    ready_timeout: float = typer.Option(300.0, "--ready-timeout", help="Seconds to wait for readiness"),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Print the walkthrough's output"),
) -> None:
    """Deploy a scenario, run its walkthrough, report each objective as solved or not, tear down."""
    bundle = resolve(name)
    try:
        solution = load_solution(bundle)
    except ScenarioError as exc:
        raise fail(f"{bundle.scenario.ref}: {exc}") from exc
    if solution is None:
        raise fail(f"{bundle.scenario.ref} has no walkthrough (solution/walkthrough.yaml)")
    document: RangeDocument = read_range(range_file) if range_file else local_engine(engine)
    chosen_base = base or base_image()
    on_line = (
        (lambda line: None) if current().machine else lambda line: output.errors.print(line, highlight=False)
    )
    connector = open_connector(document)
    started = time.monotonic()
    try:
        built: list[Any] = []
        if build_images:
            built, _ = prepare(
                bundle, engine=engine, base=chosen_base, targets=[(document, connector)], on_line=on_line
            )
        build_seconds = time.monotonic() - started
        result = check_scenario(
            bundle,
            solution,
            connector,
            range_name=document.name,
            base=chosen_base,
            instance_id=instance or f"t{secrets.token_hex(4)}",
            seed=(seed or secrets.token_hex(16)).encode(),
            ready_timeout=ready_timeout,
            on_line=on_line,
        )
        result.seconds = {"build": build_seconds, **result.seconds}
    finally:
        close(connector)
    if not output.machine({**result.as_dict(), "images": [[i.tag, r] for i, r, _ in built]}):
        output.table(
            f"{result.scenario} on {result.range} (instance {result.instance_id})",
            ["objective", "variable", "result"],
            [[v.title, v.variable, "solved" if v.solved else "UNSOLVED"] for v in result.verdicts],
        )
        figures = ", ".join(f"{k} {v:.1f}s" for k, v in result.seconds.items())
        output.console.print(figures, highlight=False)
        if verbose or not result.passed:
            output.errors.print(result.stderr[-4000:], highlight=False, markup=False)
    if result.error:
        raise fail(result.error)
    if not result.passed:
        raise fail(f"{sum(not v.solved for v in result.verdicts)} objective(s) unsolved")
