"""KYPO / CyberRangeCZ sandbox definitions -> a Federange scenario.

A sandbox definition is a directory (`sandbox_definition` finds its parts): `topology.yml` (networks,
hosts, routers: kypo_topology, kypo_hosts), optionally `containers.yml` and `variables.yml`
(kypo_extras), the `provisioning/` playbook and roles, and a training definition such as
`training.json` (kypo_training). Everything that is not imported exactly is in the report, by its path
in the source file.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scenarios.importers.kypo_extras import import_containers, import_variables
from scenarios.importers.kypo_topology import Topology
from scenarios.importers.kypo_training import import_provisioning, keep_training
from scenarios.importers.lookalike import KYPO_TOPOLOGY, read_document, refuse
from scenarios.importers.names import dns_label
from scenarios.importers.report import Imported, ImportReport, refusals_from
from scenarios.importers.shapes import text
from scenarios.importers.tables import Tables, load_tables
from scenarios.importers.validated import validated

REQUIRED = ("name", "hosts", "networks", "net_mappings")


@dataclass(frozen=True)
class SandboxDefinition:
    """The files of a KYPO sandbox definition directory (what exists of them)."""

    topology: Path
    containers: Path | None = None
    variables: Path | None = None
    provisioning: Path | None = None
    trainings: tuple[Path, ...] = field(default_factory=tuple)


def sandbox_definition(path: Path) -> SandboxDefinition:
    """The parts beside a `topology.yml` (or in a definition directory): containers.yml, variables.yml,
    provisioning/ with a playbook, and training definitions (`training*.json` at the top, `training/*.json`).
    A topology file of another name is taken alone."""
    topology = path / "topology.yml" if path.is_dir() else path
    if topology.name != "topology.yml":
        return SandboxDefinition(topology=topology)
    root = topology.parent

    def existing(candidate: Path) -> Path | None:
        return candidate if candidate.is_file() else None

    trainings = sorted({*root.glob("training*.json"), *(root / "training").glob("*.json")})
    provisioning = root / "provisioning"
    return SandboxDefinition(
        topology=topology,
        containers=existing(root / "containers.yml"),
        variables=existing(root / "variables.yml"),
        provisioning=provisioning if (provisioning / "playbook.yml").is_file() else None,
        trainings=tuple(p for p in trainings if p.is_file()),
    )


def import_kypo(
    topology: Path,
    *,
    containers: Path | None = None,
    variables: Path | None = None,
    provisioning: Path | None = None,
    trainings: Sequence[Path] = (),
    tables: Tables | None = None,
    version: str = "1.0.0",
) -> Imported:
    """Import a KYPO sandbox definition; raises ImportRefused when `topology` is not a KYPO topology or
    a part of a file has a shape the format does not allow (naming the file and the part)."""
    source = str(topology)
    with refusals_from(source):
        data = read_document(topology)
        missing = [k for k in REQUIRED if not isinstance(data, dict) or k not in data]
        if missing:
            raise refuse("a KYPO/CyberRangeCZ topology", missing, data, source=source, kind=KYPO_TOPOLOGY)
        title = text(data["name"], "name")
        report = ImportReport(source=source)
        builder = Topology(data, report=report, tables=tables or load_tables())
        spec = builder.build()
        if containers is not None:
            with refusals_from(str(containers)):
                import_containers(read_document(containers), builder, source=str(containers), report=report)
        spec = builder.finish(spec)
        keys: dict[str, str] = {}
        if variables is not None:
            with refusals_from(str(variables)):
                spec["variables"], keys = import_variables(
                    read_document(variables), source=str(variables), report=report
                )
        copies: dict[str, Path] = {}
        annotations = {"federange.eu/imported-from": f"kypo:{topology.name}"}
        if provisioning is not None:
            kept = import_provisioning(
                provisioning,
                hosts=[h["name"] for h in builder.hosts_out],
                groups=spec["groups"],
                renamed={k: v for k, v in builder.hosts.by_source.items() if k != v},
                variables=keys,
                report=report,
            )
            if kept is not None:
                spec["provisioning"] = [kept.step]
                spec["groups"] = [*spec["groups"], *kept.groups]
                copies.update(kept.copies)
        kept_trainings: dict[str, Path] = {}
        for training in trainings:
            kept_trainings.update(keep_training(training, variables=keys, report=report))
        if kept_trainings:
            copies.update(kept_trainings)
            annotations["federange.eu/kypo-training"] = ", ".join(sorted(kept_trainings))
        document = _document(title, topology=topology, version=version, spec=spec, annotations=annotations)
        return Imported(scenario=validated(document, source=source), files={}, report=report, copies=copies)


def _document(
    title: str, *, topology: Path, version: str, spec: dict[str, Any], annotations: dict[str, str]
) -> dict[str, Any]:
    return {
        "apiVersion": "federange/v1",
        "kind": "Scenario",
        "metadata": {
            "name": dns_label(title, fallback="kypo"),
            "version": version,
            "title": title[:200] or "KYPO sandbox",
            "description": f"Imported from the KYPO/CyberRangeCZ topology {topology.name}.",
            "tags": ["imported", "kypo"],
            "annotations": annotations,
        },
        "spec": spec,
    }
