"""A scenario bundle: a scenario document together with the directory it lives in.

Playbook paths in `spec.provisioning` are relative to the directory of the scenario file, so whoever runs
them (the Ansible provisioner) needs the document and its directory together. A bundle carries both and
`file_problems` checks that every playbook exists inside that directory, is a list of plays, and that each
play targets only the hosts (or groups) its provisioning step names; and that every `build:` context is a
directory inside the bundle holding its Containerfile.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from scenarios.errors import Problem, ScenarioError
from scenarios.loader import load_text, yaml_data
from scenarios.model import Playbook, Scenario


@dataclass(frozen=True, kw_only=True)
class Bundle:
    scenario: Scenario
    #: The directory holding the scenario file: playbook paths are relative to it.
    directory: Path
    path: Path
    #: The document exactly as written (what the catalogue stores and digests).
    text: str

    def playbook_path(self, playbook: Playbook) -> Path:
        """The absolute path of one provisioning playbook; ValueError if it points outside the bundle."""
        return resolve_inside(self.directory, playbook.playbook)


def resolve_inside(directory: Path, relative: str) -> Path:
    """`directory/relative`, refusing paths that climb out of `directory` (`../x`, symlinks out)."""
    root = directory.resolve()
    target = (root / relative).resolve()
    if not target.is_relative_to(root):
        raise ValueError(f"'{relative}' points outside the scenario directory {root}")
    return target


def load_bundle(path: Path, *, check_files: bool = True) -> Bundle:
    """Read and validate a scenario file; with `check_files`, its playbooks must exist and make sense.

    Raises ScenarioError naming every problem with its document path.
    """
    text = path.read_text(encoding="utf-8")
    scenario = load_text(text, source=str(path))
    if check_files:
        problems = file_problems(scenario, path.parent)
        if problems:
            raise ScenarioError(problems, source=str(path))
    return Bundle(scenario=scenario, directory=path.parent.resolve(), path=path.resolve(), text=text)


def file_problems(scenario: Scenario, directory: Path) -> list[Problem]:
    problems: list[Problem] = build_problems(scenario, directory)
    groups = {g.name for g in scenario.spec.groups}
    for p, step in enumerate(scenario.spec.provisioning):
        where = f"spec.provisioning[{p}].playbook"
        try:
            target = resolve_inside(directory, step.playbook)
        except ValueError as exc:
            problems.append(Problem(where, str(exc)))
            continue
        if not target.is_file():
            problems.append(Problem(where, f"file '{step.playbook}' not found in {directory}"))
            continue
        problems += _playbook_problems(where, target, allowed=set(step.hosts) | groups, step=step)
    return problems


def build_problems(scenario: Scenario, directory: Path) -> list[Problem]:
    """Every `build:` whose context is missing, outside the bundle, or lacks its Containerfile."""
    problems: list[Problem] = []
    for h, host in enumerate(scenario.spec.hosts):
        if host.build is None:
            continue
        where = f"spec.hosts[{h}].build.context"
        try:
            context = resolve_inside(directory, host.build.context)
        except ValueError as exc:
            problems.append(Problem(where, str(exc)))
            continue
        if not context.is_dir():
            problems.append(Problem(where, f"directory '{host.build.context}' not found in {directory}"))
        elif not (context / host.build.containerfile).is_file():
            problems.append(
                Problem(
                    f"spec.hosts[{h}].build.containerfile",
                    f"'{host.build.containerfile}' not found in {host.build.context}",
                )
            )
    return problems


def _playbook_problems(where: str, target: Path, *, allowed: set[str], step: Playbook) -> list[Problem]:
    try:
        plays: Any = yaml_data(target.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        return [Problem(where, f"'{step.playbook}' is not valid YAML: {exc}")]
    if not isinstance(plays, list) or not plays:
        return [Problem(where, f"'{step.playbook}' is not an Ansible playbook (a non-empty list of plays)")]
    problems: list[Problem] = []
    for i, play in enumerate(plays):
        if not isinstance(play, dict):
            problems.append(Problem(where, f"'{step.playbook}' play {i} is not a mapping"))
            continue
        if "import_playbook" in play or "ansible.builtin.import_playbook" in play:
            continue
        pattern = play.get("hosts")
        # Ansible takes a pattern string or a list of them
        parts = pattern if isinstance(pattern, list) else [pattern]
        if not parts or not all(isinstance(p, str) and p.strip() for p in parts):
            problems.append(Problem(where, f"'{step.playbook}' play {i} has no 'hosts'"))
            continue
        names = [n.strip() for part in parts for n in str(part).replace(":", ",").split(",")]
        for name in names:
            if name and name != "all" and name not in allowed:
                problems.append(
                    Problem(
                        where,
                        f"'{step.playbook}' play {i} targets '{name}', which is neither a host of this "
                        f"provisioning step ({', '.join(step.hosts)}) nor a group",
                    )
                )
    return problems


def discover(directory: Path) -> list[Path]:
    """Scenario files under `directory`: every `scenario.yaml`/`scenario.yml`, and every other YAML file
    whose top level says `kind: Scenario` (playbooks and other YAML files are skipped)."""
    found: list[Path] = []
    for path in sorted(directory.rglob("*")):
        if not path.is_file() or path.suffix not in (".yaml", ".yml"):
            continue
        if path.stem == "scenario":
            found.append(path)
            continue
        try:
            data = yaml_data(path.read_text(encoding="utf-8"))
        except (yaml.YAMLError, UnicodeDecodeError):
            continue
        if isinstance(data, dict) and data.get("kind") == "Scenario":
            found.append(path)
    return found
