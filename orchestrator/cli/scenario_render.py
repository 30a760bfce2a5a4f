"""`federange scenario render NAME --team T`: one team instance of a scenario as Kubernetes manifests.

Prints exactly what the Kubernetes connector would apply (multi-document YAML, in apply order), for
reviewing a scenario or applying it by hand. Per-instance values come from `--seed` (or
FEDERANGE_RENDER_SEED); without one a fixed preview seed is used and said so, since those values are
then predictable and fit for previews only.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import typer

from connectors import registry as connectors_registry
from connectors.base import ConnectorRefusal, InstanceSpec, SecurityAllowance
from connectors.manifests import manifests_yaml
from scenarios import library
from scenarios.bundle import load_bundle
from scenarios.errors import ScenarioError, ScenarioNotFound
from scenarios.images import BASE_ENV, base_image, pinned
from scenarios.materialise import materialise
from scenarios.model import Scenario
from scenarios.serialise import dump_yaml

PREVIEW_SEED = "federange-preview"


def _scenario_file(name: str) -> Path:
    """A path to a scenario file or folder, else the name of a library scenario."""
    path = Path(name)
    if path.is_dir():
        path = path / "scenario.yaml"
    if path.is_file():
        return path
    try:
        return library.scenario_dir(name.partition("@")[0]) / library.SCENARIO_FILE
    except ScenarioNotFound as exc:
        raise typer.BadParameter(f"no scenario file at {path}, and {exc}", param_hint="NAME") from exc


def default_instance_id(scenario: Scenario, team: str) -> str:
    """A DNS-label instance id (at most 20 characters) that is the same for the same scenario and team."""
    stem = re.sub(r"[^a-z0-9]+", "-", team.lower())[:12].strip("-") or "team"
    digest = hashlib.sha256(f"{scenario.metadata.name}\0{team}".encode()).hexdigest()[:6]
    return f"{stem}-{digest}"


def _allowance(scenario: Scenario, allow_privileged: bool) -> SecurityAllowance:
    if not allow_privileged:
        return SecurityAllowance()
    return SecurityAllowance(
        privileged=True,
        host_namespaces=True,
        host_path=True,
        added_capabilities=frozenset(c for h in scenario.spec.hosts for c in h.security.capabilities),
    )


def render(
    name: str = typer.Argument(
        ..., help="A library scenario name, a scenario file (scenario.yaml) or the folder holding one."
    ),
    team: str = typer.Option(..., "--team", help="The team the instance is for."),
    instance: str | None = typer.Option(
        None,
        "--instance",
        help="Instance id (DNS label, at most 20 characters); default: from scenario and team.",
    ),
    seed: str | None = typer.Option(
        None, "--seed", envvar="FEDERANGE_RENDER_SEED", help="Seed the per-instance values are derived from."
    ),
    allow_privileged: bool = typer.Option(
        False,
        "--allow-privileged",
        help="Render for a range that allows privileged containers, host namespaces, hostPath and added "
        "capabilities.",
    ),
    output: Path | None = typer.Option(None, "--output", "-o", help="Write the manifests to this file."),
    registry: str = typer.Option(
        "", "--registry", help="The registry the range pulls the scenario's own (built) images from."
    ),
    base: str | None = typer.Option(
        None, "--base", envvar=BASE_ENV, help="Base image of the built images (their content tags)"
    ),
) -> None:
    """Render one team instance of a scenario as Kubernetes manifests (YAML; --json: a JSON list)."""
    path = _scenario_file(name)
    try:
        scenario = pinned(load_bundle(path), base=base or base_image())
    except ScenarioError as exc:
        typer.echo(f"{path}: not a valid scenario:", err=True)
        for problem in exc.problems:
            typer.echo(f"  {problem}", err=True)
        raise typer.Exit(1) from exc
    vm_hosts = [h.name for h in scenario.spec.hosts if h.needs_vm]
    if vm_hosts:
        typer.echo(
            f"refused: host(s) {', '.join(vm_hosts)} need a VM (needs_vm): a Kubernetes range runs "
            "containers only; deploy this scenario on a VM-capable range",
            err=True,
        )
        raise typer.Exit(1)
    instance_id = instance or default_instance_id(scenario, team)
    if seed is None:
        typer.echo(
            "note: no --seed given; values come from the public preview seed (previews only)", err=True
        )
    spec = InstanceSpec(
        instance_id=instance_id,
        exercise="preview",
        team=team,
        scenario_document=dump_yaml(scenario),  # built images pinned to their content tags
        values=materialise(scenario, seed=(seed or PREVIEW_SEED).encode(), instance_id=instance_id),
        allowance=_allowance(scenario, allow_privileged),
    )
    try:
        objects = connectors_registry.load_renderer("kubernetes")(spec, registry=registry)
    except ConnectorRefusal as exc:
        typer.echo(f"refused: {exc.reason}", err=True)
        raise typer.Exit(1) from exc
    from orchestrator.cli.options import current

    # --json: one JSON list of the objects instead of a YAML stream
    text = json.dumps(objects, indent=2) + "\n" if current().machine else manifests_yaml(objects)
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        typer.echo(f"wrote {len(objects)} objects of instance {instance_id} to {output}", err=True)
