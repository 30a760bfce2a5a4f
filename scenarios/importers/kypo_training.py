"""What a KYPO training brings beside its topology: the `provisioning/` playbook and roles that set hosts up
and plant the flags, and the training definition (levels, answers, hints, scoring).

The provisioning is kept: every file of `provisioning/` is copied byte for byte into the scenario bundle
and `provisioning/playbook.yml` becomes the scenario's provisioning step on every host, with the
per-team variables of `variables.yml` passed under their KYPO names (as KYPO hands them to Ansible).
Plays aimed at KYPO's own inventory groups keep working: `hosts` (every end host) becomes a group of all
imported hosts; `routers` and `man` (the management node), which are not deployed, become empty groups,
and the report says those plays run on no host. A playbook that cannot be kept as it is (unreadable,
aimed at a name no Federange group can have) is not imported, and the report says so precisely.

The training definition is not part of a scenario (Federange runs no levels): it is kept verbatim as a
file beside the scenario for the trainer, and the report says so, naming the levels that check per-team
variables.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scenarios.importers.lookalike import read_document
from scenarios.importers.report import ImportRefused, ImportReport
from scenarios.model import NAME_PATTERN

PLAYBOOK = "provisioning/playbook.yml"
#: KYPO inventory groups that have no deployed host in Federange, and why.
_NOT_DEPLOYED = {
    "routers": "KYPO's routers are not deployed",
    "router": "KYPO's routers are not deployed",
    "man": "KYPO's management node (MAN) is not deployed",
    "management": "KYPO's management node (MAN) is not deployed",
}


@dataclass(frozen=True)
class Provisioning:
    step: dict[str, Any]
    groups: list[dict[str, Any]]
    copies: dict[str, Path] = field(default_factory=dict)


def import_provisioning(
    directory: Path,
    *,
    hosts: list[str],
    groups: list[dict[str, Any]],
    renamed: dict[str, str],
    variables: dict[str, str],
    report: ImportReport,
) -> Provisioning | None:
    """The provisioning step, the groups its plays need and the files to copy; None (and a report line
    saying why) when the playbook cannot be kept as it is."""
    playbook = directory / "playbook.yml"
    if not playbook.is_file():
        report.dropped(
            "provisioning/", str(directory), "no playbook.yml in it: the provisioning is not imported"
        )
        return None
    targets = _targets(playbook, report=report)
    if targets is None:
        return None
    existing = set(hosts) | {g["name"] for g in groups}
    added: list[dict[str, Any]] = []
    for name in sorted(targets - existing - {"all"}):
        if name == "hosts":
            added.append({"name": "hosts", "hosts": list(hosts), "description": "KYPO's group of end hosts"})
            continue
        if not re.fullmatch(NAME_PATTERN, name):
            report.dropped(
                PLAYBOOK,
                name,
                f"a play targets '{name}', which can be no Federange host or group: the provisioning is not "
                "imported",
            )
            return None
        why = _NOT_DEPLOYED.get(name, "no host of the topology has that name")
        added.append({"name": name, "hosts": [], "description": f"KYPO inventory name {name}: {why}"})
        report.approximated(PLAYBOOK, name, f"plays for '{name}' run on no host: {why}")
    copies = {
        f"provisioning/{path.relative_to(directory).as_posix()}": path
        for path in sorted(directory.rglob("*"))
        if path.is_file() and not path.is_symlink() and ".git" not in path.relative_to(directory).parts
    }
    step_vars = {
        (key if key.isidentifier() else name): f"{{{{ vars.{name} }}}}" for key, name in variables.items()
    }
    report.approximated(
        PLAYBOOK,
        f"{len(copies)} files",
        f"kept: runs after deploy on every host ({', '.join(hosts)}) with the per-team variables as Ansible "
        "variables, as KYPO provisions a sandbox; it was written for VMs (systemd, package managers, "
        "internet access), so hosts imported as containers may not support every task",
    )
    if renamed:
        names = ", ".join(f"{old} -> {new}" for old, new in sorted(renamed.items()))
        report.approximated(
            PLAYBOOK, names, "hosts were renamed: plays and roles that use KYPO host names see the new names"
        )
    if (directory / "requirements.yml").is_file():
        report.approximated(
            "provisioning/requirements.yml",
            "",
            "lists Ansible roles and collections to fetch: install them where the provisioner runs "
            "(ranges cannot reach Ansible Galaxy)",
        )
    step = {
        "name": f"KYPO provisioning ({PLAYBOOK})",
        "playbook": PLAYBOOK,
        "hosts": list(hosts),
        "vars": step_vars,
    }
    return Provisioning(step=step, groups=added, copies=copies)


def _targets(playbook: Path, *, report: ImportReport) -> set[str] | None:
    """Every host pattern name the plays use, or None (reported) when the playbook cannot be kept."""
    try:
        plays = read_document(playbook)
    except ImportRefused as exc:
        report.dropped(PLAYBOOK, "", f"not imported: {exc.reason}")
        return None
    if not isinstance(plays, list) or not plays:
        report.dropped(PLAYBOOK, "", "not an Ansible playbook (a non-empty list of plays): not imported")
        return None
    targets: set[str] = set()
    for i, play in enumerate(plays):
        if not isinstance(play, dict):
            report.dropped(
                f"{PLAYBOOK}[{i}]", "", "a play that is not a mapping: the provisioning is not imported"
            )
            return None
        if "import_playbook" in play or "ansible.builtin.import_playbook" in play:
            continue
        pattern = play.get("hosts")
        parts = pattern if isinstance(pattern, list) else [pattern]
        if not parts or not all(isinstance(p, str) and p.strip() for p in parts):
            report.dropped(f"{PLAYBOOK}[{i}]", "", "a play without 'hosts': the provisioning is not imported")
            return None
        for part in parts:
            targets |= {n.strip() for n in str(part).replace(":", ",").split(",") if n.strip()}
    return targets


def keep_training(path: Path, *, variables: dict[str, str], report: ImportReport) -> dict[str, Path]:
    """Keep a KYPO training definition as a file beside the scenario; the report says what it holds."""
    where = f"training: {path.name}"
    try:
        data = read_document(path)
    except ImportRefused as exc:
        report.dropped(where, "", f"not read: {exc.reason}")
        return {}
    if not isinstance(data, dict) or not isinstance(data.get("levels"), list):
        report.dropped(where, "", "not a KYPO training definition (no 'levels'): not imported")
        return {}
    levels = [level for level in data["levels"] if isinstance(level, dict)]
    answered = [level for level in levels if level.get("answer") or level.get("answer_variable_name")]
    checked = sorted(
        {str(level["answer_variable_name"]) for level in levels if level.get("answer_variable_name")}
    )
    title = str(data.get("title") or path.stem)
    reason = (
        f"{len(levels)} levels, {len(answered)} with answers: Federange runs no KYPO training levels "
        f"(answers, hints, scoring), so they are not part of the scenario; the definition is kept verbatim "
        f"as training/{path.name} beside it for the trainer"
    )
    if checked:
        known = [
            f"{v} (variable {variables[v]})" if v in variables else f"{v} (not a variable here)"
            for v in checked
        ]
        reason += f"; levels check the per-team values {', '.join(known)}"
    report.dropped(where, title, reason)
    return {f"training/{path.name}": path}
