"""`federange scenario ...`: validate, inspect, import and upload scenarios.

Everything here works offline on files and the built-in library, except `upload`, which talks to a
Federange server. (`render` is registered on this app by orchestrator/cli/__init__.py.)
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from orchestrator.cli import output
from orchestrator.cli.client import client_of
from orchestrator.cli.options import Format, current
from scenarios import library, schema
from scenarios.bundle import Bundle, discover, load_bundle
from scenarios.errors import Problem, ScenarioError, ScenarioNotFound
from scenarios.importers.cyris import import_cyris
from scenarios.importers.kctf import import_kctf
from scenarios.importers.kypo import import_kypo, sandbox_definition
from scenarios.importers.report import Imported, ImportRefused
from scenarios.importers.tables import TablesError, load_tables
from scenarios.summary import describe
from scenarios.validation import security_problems

app = typer.Typer(help="Validate, inspect, import and upload exercise scenarios.", no_args_is_help=True)
import_app = typer.Typer(help="Import scenarios from other cyber ranges.", no_args_is_help=True)
app.add_typer(import_app, name="import")


def fail(message: str) -> typer.Exit:
    output.errors.print(f"[bold red]{message}[/]", markup=True, highlight=False)
    return typer.Exit(1)


def resolve(ref: str) -> Bundle:
    """A scenario file path, or a library scenario `NAME[@VERSION]`; exits 1 with the reason otherwise."""
    path = Path(ref)
    try:
        if path.is_file():
            return load_bundle(path)
        if path.is_dir() and (path / library.SCENARIO_FILE).is_file():
            return load_bundle(path / library.SCENARIO_FILE)
        name, _, version = ref.partition("@")
        return library.bundle(name, version or None)
    except ScenarioNotFound as exc:
        raise fail(exc.reason) from exc
    except ScenarioError as exc:
        _print_problems(exc.source or ref, exc.problems)
        raise typer.Exit(1) from exc


def _print_problems(source: str, problems: list[Problem]) -> None:
    output.errors.print(f"[bold red]{source}[/]: {len(problems)} problem(s)", highlight=False)
    for problem in problems:
        output.errors.print(f"  [yellow]{problem.path or '(document)'}[/]: {problem.reason}", highlight=False)


def _from_server() -> bool:
    """Whether to ask the server: a token was given (--token or FEDERANGE_TOKEN)."""
    return current().api_token is not None


@app.command("list")
def list_() -> None:
    """List the scenarios you may use: the server's (library, uploaded by you, shared with you) when a
    token is given (--token or FEDERANGE_TOKEN), else the built-in library."""
    if _from_server():
        found: list[dict[str, Any]] = client_of().request("GET", "/api/v1/scenarios")
        title = f"Scenarios on {current().server_url} ({len(found)})"
    else:
        found = [
            {**describe(b.scenario), "owner": "federange", "source": "library"}
            for b in library.library_versions()
        ]
        title = (
            f"Scenario library ({len(found)}; give --token or FEDERANGE_TOKEN for the server's uploads too)"
        )
    if output.machine(found):
        return
    output.table(
        title,
        [
            "name",
            "version",
            "owner",
            "source",
            "difficulty",
            "hosts",
            "cpu (m)",
            "memory (MiB)",
            "requires",
            "title",
        ],
        [
            [
                d["name"],
                d["version"],
                d["owner"],
                d["source"],
                d["difficulty"],
                d["footprint"]["hosts"],
                d["footprint"]["cpu_millicores"],
                d["footprint"]["memory_mib"],
                ",".join(d["requires"]),
                d["title"],
            ]
            for d in found
        ],
    )


@app.command("validate")
def validate(
    paths: list[Path] = typer.Argument(..., help="Scenario files, or directories to search for them"),
    allow_privileged: bool = typer.Option(False, help="Accept privileged containers"),
    allow_host_namespaces: bool = typer.Option(False, help="Accept hostNetwork / hostPID"),
    allow_host_path: bool = typer.Option(False, help="Accept hostPath volumes"),
    allow_capability: list[str] = typer.Option([], help="Accept adding this Linux capability (repeatable)"),
) -> None:
    """Check scenario files and print every problem with its path in the document (exit 1 on any).

    Checks structure, cross-references, playbook files, and what a range with the default security
    allowance refuses (privileged, host namespaces, hostPath, added capabilities) unless --allow-... says so.
    """
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = discover(path)
            if not found:
                raise fail(f"{path}: no scenario files (scenario.yaml or YAML with 'kind: Scenario')")
            files += found
        elif path.is_file():
            files.append(path)
        else:
            raise fail(f"{path}: no such file or directory")
    results: list[dict[str, Any]] = []
    for file in files:
        try:
            bundle = load_bundle(file)
        except ScenarioError as exc:
            results.append(_verdict(file, None, exc.problems))
            continue
        refused = security_problems(
            bundle.scenario,
            privileged=allow_privileged,
            host_namespaces=allow_host_namespaces,
            host_path=allow_host_path,
            added_capabilities=frozenset(allow_capability),
        )
        results.append(_verdict(file, bundle, refused))
    bad = sum(not r["ok"] for r in results)
    if not output.machine(results):
        for result in results:
            if not result["ok"]:
                _print_problems(result["file"], [Problem(p["path"], p["reason"]) for p in result["problems"]])
                continue
            used = result["footprint"]
            output.console.print(
                f"[green]ok[/] {result['file']}: {result['scenario']} ({used['hosts']} hosts, "
                f"{used['cpu_millicores']}m cpu, {used['memory_mib']} MiB per team instance)",
                highlight=False,
            )
    if bad:
        raise fail(f"{bad} of {len(files)} scenario file(s) invalid")


def _verdict(file: Path, bundle: Bundle | None, problems: list[Problem]) -> dict[str, Any]:
    return {
        "file": str(file),
        "ok": bundle is not None and not problems,
        "scenario": bundle.scenario.ref if bundle is not None else None,
        "footprint": describe(bundle.scenario)["footprint"] if bundle is not None else None,
        "problems": [{"path": p.path, "reason": p.reason} for p in problems],
    }


@app.command("show")
def show(
    ref: str = typer.Argument(
        ..., help="A scenario file, or [OWNER/]NAME[@VERSION] (the server's with a token)"
    ),
) -> None:
    """Footprint, segments, hosts, flows and variables (names and kinds, never values) of a scenario: a
    file, else the server's scenario when a token is given (uploaded ones too), else the library's."""
    d = describe(resolve(ref).scenario) if Path(ref).exists() or not _from_server() else _server_scenario(ref)
    if output.machine(d):
        return
    f = d["footprint"]
    output.console.print(
        f"[bold]{d['name']}@{d['version']}[/] - {d['title']} ({d['difficulty']})", highlight=False
    )
    if d["description"]:
        output.console.print(d["description"], highlight=False)
    output.table(
        "Footprint per team instance (what a booking reserves)",
        ["cpu (m)", "memory (MiB)", "slots", "gpus", "hosts", "req. cpu (m)", "req. mem (MiB)", "requires"],
        [[f["cpu_millicores"], f["memory_mib"], f["slots"], f["gpus"], f["hosts"],
          f["requests_cpu_millicores"], f["requests_memory_mib"], ",".join(d["requires"]) or "-"]],
    )  # fmt: skip
    output.table(
        "Segments",
        ["name", "hosts", "description"],
        [[s["name"], ", ".join(s["hosts"]), s["description"]] for s in d["segments"]],
    )
    output.table(
        "Hosts",
        ["name", "image", "segments", "ports", "entry", "cpu req/lim (m)", "mem req/lim (MiB)", "readiness"],
        [[h["name"], _image(h) + (" (needs VM)" if h["needs_vm"] else ""), ", ".join(h["segments"]),
          ", ".join(h["ports"]), "yes" if h["entry"] else "", _pair(h, "cpu_millicores"),
          _pair(h, "memory_mib"), h["readiness"]] for h in d["hosts"]],
    )  # fmt: skip
    output.table(
        "Flows (everything else is denied)",
        ["from", "to", "ports", "description"],
        [[x["from"], x["to"], ", ".join(x["ports"]), x["description"]] for x in d["flows"]],
    )
    output.table(
        "Variables (generated per team)",
        ["name", "kind", "secret", "description"],
        [[v["name"], v["kind"], "yes" if v["secret"] else "", v["description"]] for v in d["variables"]],
    )
    if d["provisioning"]:
        output.table(
            "Provisioning (after deploy)",
            ["name", "playbook", "hosts"],
            [[p["name"], p["playbook"], ", ".join(p["hosts"])] for p in d["provisioning"]],
        )


def _server_scenario(ref: str) -> dict[str, Any]:
    """`[OWNER/]NAME[@VERSION]` as the server describes it."""
    names, _, version = ref.partition("@")
    path = f"/api/v1/scenarios/{names}" + (f"/versions/{version}" if version else "")
    found: dict[str, Any] = client_of().request("GET", path)
    return found


def _image(host: dict[str, Any]) -> str:
    if host["build"]:
        return f"built from {host['build']}" + (f" ({host['image']})" if host["image"] else "")
    return str(host["image"])


def _pair(host: dict[str, Any], key: str) -> str:
    limits = host["limits"]
    return f"{host['requests'][key]}/{limits[key] if limits else '-'}"


@app.command("schema")
def show_schema() -> None:
    """Print the scenario JSON Schema (editors use it; it ships as scenarios/schema/scenario.schema.json)."""
    if current().format is Format.yaml:
        output.emit_yaml(json.loads(schema.render()))
        return
    output.console.out(schema.render(), end="", highlight=False)


ImageMapOption = typer.Option(None, "--image-map", help="YAML file overriding the image/flavor tables")
OutOption = typer.Option(None, "-o", "--output", help="Directory to write (default ./<scenario name>)")
VersionOption = typer.Option("1.0.0", "--version", help="Version of the imported scenario")
ForceOption = typer.Option(False, "--force", help="Overwrite an existing scenario.yaml")


@import_app.command("kypo")
def import_kypo_cmd(
    path: Path = typer.Argument(..., help="topology.yml, or a KYPO sandbox definition directory"),
    containers: Path | None = typer.Option(None, help="containers.yml (default: beside a topology.yml)"),
    variables: Path | None = typer.Option(None, help="variables.yml (default: beside a topology.yml)"),
    provisioning: Path | None = typer.Option(
        None, help="the provisioning/ directory (default: beside a topology.yml, when it has a playbook.yml)"
    ),
    training: list[Path] = typer.Option(
        [], help="a KYPO training definition to keep beside the scenario (default: training*.json beside)"
    ),
    out: Path | None = OutOption,
    image_map: Path | None = ImageMapOption,
    version: str = VersionOption,
    force: bool = ForceOption,
) -> None:
    """Import a KYPO/CyberRangeCZ sandbox definition; prints what could not be expressed."""
    found = sandbox_definition(path)
    tables = _tables(image_map)
    imported = _run(
        lambda: import_kypo(
            found.topology,
            containers=containers or found.containers,
            variables=variables or found.variables,
            provisioning=provisioning or found.provisioning,
            trainings=training or found.trainings,
            tables=tables,
            version=version,
        )
    )
    _write(imported, out, force=force)


@import_app.command("cyris")
def import_cyris_cmd(
    path: Path = typer.Argument(..., help="A CyRIS range description (YAML)"),
    out: Path | None = OutOption,
    image_map: Path | None = ImageMapOption,
    version: str = VersionOption,
    force: bool = ForceOption,
) -> None:
    """Import a CyRIS range description; tasks become a generated provisioning playbook per guest."""
    tables = _tables(image_map)
    _write(_run(lambda: import_cyris(path, tables=tables, version=version)), out, force=force)


@import_app.command("kctf")
def import_kctf_cmd(
    path: Path = typer.Argument(..., help="A kCTF challenge.yaml, or the challenge directory holding it"),
    out: Path | None = OutOption,
    version: str = VersionOption,
    force: bool = ForceOption,
) -> None:
    """Import a kCTF challenge (challenge, healthcheck and other containers, ports); proof-of-work is
    reported as unsupported."""
    _write(_run(lambda: import_kctf(path, version=version)), out, force=force)


def _tables(image_map: Path | None) -> Any:
    try:
        return load_tables(image_map)
    except TablesError as exc:
        raise fail(str(exc)) from exc


def _run(do: Any) -> Imported:
    try:
        imported: Imported = do()
    except ImportRefused as exc:
        raise fail(str(exc)) from exc
    return imported


def _write(imported: Imported, out: Path | None, *, force: bool) -> None:
    directory = out or Path(imported.scenario.metadata.name)
    if (directory / "scenario.yaml").exists() and not force:
        raise fail(f"{directory / 'scenario.yaml'} exists; pass --force to overwrite it")
    written = imported.write(directory)
    items = imported.report.items
    report = {
        "scenario": imported.scenario.ref,
        "written": [str(p) for p in written],
        "report": [
            {"path": str(i.path), "element": i.element, "fate": i.fate.value, "reason": i.reason}
            for i in items
        ],
    }
    if output.machine(report):
        return
    if items:
        output.table(
            f"Not imported as-is ({len(items)})",
            ["source", "fate", "what happened"],
            [[f"{i.path}" + (f" '{i.element}'" if i.element else ""), i.fate.value, i.reason] for i in items],
        )
    for path in written:
        output.console.print(f"wrote {path}", highlight=False)
    output.console.print(
        f"imported {imported.scenario.ref}: {len(imported.scenario.spec.hosts)} hosts, "
        f"{len(imported.scenario.spec.segments)} segments, {len(items)} report item(s)",
        highlight=False,
    )


@app.command("upload")
def upload(
    path: Path = typer.Argument(..., exists=True, help="The scenario file to upload"),
) -> None:
    """Upload a new scenario version to a Federange server (trainers and admins).

    The file is validated here first; the server checks it again.
    """
    bundle = resolve(str(path))
    data = client_of().request("POST", "/api/v1/scenarios", json={"document": bundle.text})
    if output.machine(data):
        return
    output.console.print(f"uploaded {data['ref']}", highlight=False)
    for warning in data.get("warnings", []):
        output.errors.print(f"warning: {warning}", highlight=False)
