"""The optional files of a KYPO sandbox definition: `containers.yml` (Docker containers run inside hosts)
and `variables.yml` (automatic problem generation: values generated per trainee)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from scenarios.importers.lookalike import KYPO_CONTAINERS, refuse
from scenarios.importers.names import variable_name
from scenarios.importers.report import ImportReport
from scenarios.importers.shapes import at, flag, integer, mapping, refuse_at, sequence, text

if TYPE_CHECKING:
    from scenarios.importers.kypo_topology import Topology

#: KYPO variable types -> Federange variable kinds.
_KINDS = {"text": "token", "password": "password", "username": "token", "port": "integer"}
_VARIABLE_KEYS = {"type", "length", "min", "max", "challenge_id", "prohibited"}
_CONTAINER_KEYS = {"name", "image", "dockerfile"}
_MAPPING_KEYS = {"container", "host", "port", "hidden"}


def import_containers(data: Any, topology: Topology, *, source: str, report: ImportReport) -> None:
    """Add one host per container mapping, on the segments of the KYPO host the container ran in."""
    missing = [k for k in ("containers", "container_mappings") if not isinstance(data, dict) or k not in data]
    if missing:
        raise refuse("a KYPO containers.yml", missing, data, source=source, kind=KYPO_CONTAINERS)
    containers: dict[str, tuple[str, dict[str, Any]]] = {}
    for path, item in sequence(data["containers"], "containers.yml: containers"):
        container = mapping(item, path)
        containers.setdefault(text(container.get("name"), at(path, "name")), (path, container))
    uses: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for path, item in sequence(data["container_mappings"], "containers.yml: container_mappings"):
        entry = mapping(item, path)
        name = text(entry.get("container"), at(path, "container"))
        if name not in containers:
            report.dropped(path, name, "no such container in 'containers'; not imported")
            continue
        uses.setdefault(name, []).append((path, entry))
    if flag(data.get("hide_all"), "containers.yml: hide_all", default=False):
        report.approximated(
            "containers.yml: hide_all", "true", "KYPO only hides containers from its topology view"
        )
    for name, (path, container) in containers.items():
        _container(name, path, container, uses.get(name, []), topology=topology, report=report)


def _container(
    name: str,
    path: str,
    container: dict[str, Any],
    uses: list[tuple[str, dict[str, Any]]],
    *,
    topology: Topology,
    report: ImportReport,
) -> None:
    for key in sorted(set(container) - _CONTAINER_KEYS):
        report.dropped(at(path, key), "", "not a key of KYPO containers; not imported")
    image = text(container.get("image"), at(path, "image"), default="")
    if not image:
        recipe = text(container.get("dockerfile"), at(path, "dockerfile"), default="")
        why = (
            f"built from dockerfile '{recipe}'; Federange deploys images: build and push it, then add the "
            "host with its image"
            if recipe
            else "neither an image nor a dockerfile; not imported"
        )
        report.dropped(path, name, why)
        return
    if any(c.isspace() for c in image):
        raise refuse_at(at(path, "image"), f"not an image reference: {image!r}")
    if ":" not in image.rsplit("/", 1)[-1]:
        report.approximated(at(path, "image"), image, "no tag: the range pulls ':latest'; pin a tag")
    if not uses:
        report.dropped(path, name, "not in container_mappings: no host runs it; not imported")
    flavor = topology.tables.flavors[topology.tables.container_flavor]
    for where, entry in uses:
        for key in sorted(set(entry) - _MAPPING_KEYS):
            report.dropped(at(where, key), "", "not a key of KYPO container mappings; not imported")
        kypo_host = text(entry.get("host"), at(where, "host"))
        if kypo_host not in topology.hosts.by_source:
            report.dropped(where, f"{name} -> {kypo_host}", "unknown host; not imported")
            continue
        parent = topology.hosts.by_source[kypo_host]
        segments = next(h["segments"] for h in topology.hosts_out if h["name"] == parent)
        wanted = name if len(uses) == 1 else f"{name}-{kypo_host}"
        host: dict[str, Any] = {
            "name": topology.hosts.name(wanted, path=at(path, "name")),
            "image": image,
            "segments": list(segments),
            "resources": flavor.model_dump(exclude_defaults=True),
            "description": f"KYPO container {name}, ran inside host {kypo_host}",
        }
        port = None
        if entry.get("port") is not None:
            port = integer(entry["port"], at(where, "port"), minimum=1, maximum=65535)
            host["ports"] = [{"port": port}]
        if flag(entry.get("hidden"), at(where, "hidden"), default=False):
            report.approximated(at(where, "hidden"), "true", "KYPO only hides it from its topology view")
        topology.hosts_out.append(host)
        report.approximated(
            where,
            f"{name} -> {kypo_host}",
            f"runs as its own host '{host['name']}' on the segments of '{parent}'"
            + (f" with port {port}" if port is not None else "")
            + f"; resources of '{topology.tables.container_flavor}'",
        )


def import_variables(
    data: Any, *, source: str, report: ImportReport
) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """KYPO `variables.yml` (name -> {type, ...}) -> per-instance variables, and KYPO name -> variable name
    (the provisioning roles read the values under their KYPO names)."""
    if not isinstance(data, dict) or not all(isinstance(v, dict) and "type" in v for v in data.values()):
        raise refuse("a KYPO variables.yml (name -> {type: ...})", ["type"], data, source=source)
    variables: list[dict[str, Any]] = []
    names: dict[str, str] = {}
    for key, spec in data.items():
        path = f"variables.yml: {key}"
        name = variable_name(str(key))
        unique, n = name, 2
        while unique in names.values():
            unique, n = f"{name[:60]}_{n}", n + 1
        if unique != str(key):
            report.approximated(path, str(key), f"renamed to '{unique}' (template-safe variable name)")
        names[str(key)] = unique
        variables.append(_variable(path, unique, str(key), mapping(spec, path), report=report))
    if variables:
        report.approximated(
            "variables.yml",
            "",
            "values are generated per team; provisioning imported beside the topology receives them under "
            "their KYPO names, and the scenario can use them as {{ vars.NAME }}",
        )
    return variables, names


def _variable(
    path: str, name: str, key: str, spec: dict[str, Any], *, report: ImportReport
) -> dict[str, Any]:
    kypo_type = text(spec.get("type"), at(path, "type"))
    kind = _KINDS.get(kypo_type)
    if kind is None:
        report.approximated(at(path, "type"), kypo_type, "no matching kind; generated as a random token")
        kind = "token"
    variable: dict[str, Any] = {"name": name, "kind": kind}
    if kind == "token":
        variable["secret"] = True
    if spec.get("challenge_id") is not None:
        challenge = text(spec["challenge_id"], at(path, "challenge_id"))
        variable["description"] = f"KYPO variable {key} (challenge {challenge})"
    if spec.get("length") is not None and kind != "integer":
        variable["length"] = max(4, min(128, integer(spec["length"], at(path, "length"))))
    if kind == "integer":
        variable["minimum"] = integer(spec.get("min"), at(path, "min"), default=1024)
        variable["maximum"] = integer(spec.get("max"), at(path, "max"), default=65535)
        if variable["minimum"] > variable["maximum"]:
            raise refuse_at(at(path, "min"), f"min {variable['minimum']} exceeds max {variable['maximum']}")
    if spec.get("prohibited") is not None:
        report.dropped(at(path, "prohibited"), "", "prohibited values are not supported")
    for extra in sorted(set(spec) - _VARIABLE_KEYS):
        report.dropped(at(path, extra), "", "not a key of KYPO variables; not imported")
    return variable
