"""The optional files of a KYPO sandbox definition: `containers.yml` (Docker containers run inside hosts)
and `variables.yml` (automatic problem generation: values generated per trainee)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from scenarios.importers.lookalike import refuse
from scenarios.importers.names import variable_name
from scenarios.importers.report import ImportReport

if TYPE_CHECKING:
    from scenarios.importers.kypo import _Topology

#: KYPO variable types -> Federange variable kinds.
_KINDS = {"text": "token", "password": "password", "username": "token", "port": "integer"}
_VARIABLE_KEYS = {"type", "length", "min", "max", "challenge_id", "prohibited"}


def import_containers(data: Any, topology: _Topology, *, source: str, report: ImportReport) -> None:
    """Add one host per container mapping, on the segments of the KYPO host the container ran in."""
    missing = [k for k in ("containers", "container_mappings") if not isinstance(data, dict) or k not in data]
    if missing:
        raise refuse("a KYPO containers.yml", missing, data, source=source)
    containers = {str(c.get("name")): (i, c) for i, c in enumerate(data["containers"] or [])}
    mapped: dict[str, list[tuple[int, dict[str, Any]]]] = {}
    for m, mapping in enumerate(data["container_mappings"] or []):
        mapped.setdefault(str(mapping.get("container")), []).append((m, mapping))
    flavor = topology.tables.flavors[topology.tables.container_flavor]
    for name, (i, container) in containers.items():
        path = f"containers.yml: containers[{i}]"
        if "image" not in container:
            recipe = container.get("dockerfile", "?")
            report.dropped(
                path,
                name,
                f"built from dockerfile '{recipe}'; Federange deploys images: build and push it, then "
                "add the host with its image",
            )
            continue
        image = str(container["image"])
        if ":" not in image.rsplit("/", 1)[-1]:
            report.approximated(f"{path}.image", image, "no tag: the range pulls ':latest'; pin a tag")
        uses = mapped.get(name, [])
        if not uses:
            report.dropped(path, name, "not in container_mappings: no host runs it; not imported")
        for m, mapping in uses:
            kypo_host = str(mapping.get("host"))
            if kypo_host not in topology.hosts.by_source:
                report.dropped(
                    f"containers.yml: container_mappings[{m}]", f"{name} -> {kypo_host}", "unknown host"
                )
                continue
            parent = topology.hosts.by_source[kypo_host]
            segments = next(h["segments"] for h in topology.hosts_out if h["name"] == parent)
            wanted = name if len(uses) == 1 else f"{name}-{kypo_host}"
            host_name = topology.hosts.name(wanted, path=f"{path}.name")
            host: dict[str, Any] = {
                "name": host_name,
                "image": image,
                "segments": list(segments),
                "resources": flavor.model_dump(exclude_defaults=True),
                "description": f"KYPO container {name}, ran inside host {kypo_host}",
            }
            if "port" in mapping:
                host["ports"] = [{"port": int(mapping["port"])}]
            topology.hosts_out.append(host)
            report.approximated(
                f"containers.yml: container_mappings[{m}]",
                f"{name} -> {kypo_host}",
                f"runs as its own host '{host_name}' on the segments of '{parent}'"
                + (f" with port {mapping['port']}" if "port" in mapping else "")
                + f"; resources of '{topology.tables.container_flavor}'",
            )


def import_variables(data: Any, *, source: str, report: ImportReport) -> list[dict[str, Any]]:
    """KYPO `variables.yml` (name -> {type, ...}) -> per-instance variables."""
    if not isinstance(data, dict) or not all(isinstance(v, dict) and "type" in v for v in data.values()):
        raise refuse("a KYPO variables.yml (name -> {type: ...})", ["type"], data, source=source)
    variables: list[dict[str, Any]] = []
    for key, spec in data.items():
        path = f"variables.yml: {key}"
        name = variable_name(str(key))
        if name != key:
            report.approximated(path, str(key), f"renamed to '{name}' (template-safe variable name)")
        kind = _KINDS.get(str(spec["type"]))
        if kind is None:
            report.approximated(
                f"{path}.type", str(spec["type"]), "no matching kind; generated as a random token"
            )
            kind = "token"
        variable: dict[str, Any] = {"name": name, "kind": kind}
        if kind == "token":
            variable["secret"] = True
        if "challenge_id" in spec:
            variable["description"] = f"KYPO variable {key} (challenge {spec['challenge_id']})"
        if "length" in spec and kind != "integer":
            variable["length"] = max(4, min(128, int(spec["length"])))
        if kind == "integer":
            variable["minimum"] = int(spec.get("min", 1024))
            variable["maximum"] = int(spec.get("max", 65535))
        if "prohibited" in spec:
            report.dropped(
                f"{path}.prohibited", str(spec["prohibited"]), "prohibited values are not supported"
            )
        for extra in sorted(set(spec) - _VARIABLE_KEYS):
            report.dropped(f"{path}.{extra}", str(spec[extra]), "not a KYPO variable key Federange knows")
        variables.append(variable)
    report.approximated(
        "variables.yml",
        "",
        "values are generated per team; the KYPO roles that consumed them are not imported: use them in the "
        "scenario as {{ vars.NAME }}",
    )
    return variables
