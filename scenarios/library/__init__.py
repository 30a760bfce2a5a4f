"""The built-in scenario library: `scenarios/library/<name>/scenario.yaml`, shipped inside the package.

Each scenario directory holds its `scenario.yaml`, a README for trainers and, where needed, the Ansible
playbooks its provisioning steps name (paths relative to the directory). The library holds one version of
each scenario: the one in the file.
"""

from __future__ import annotations

from pathlib import Path

from scenarios.bundle import Bundle, load_bundle
from scenarios.errors import ScenarioNotFound
from scenarios.model import Scenario

#: Where the library lives in the installed package (a wheel ships it as package data).
LIBRARY_DIR = Path(__file__).resolve().parent
SCENARIO_FILE = "scenario.yaml"


def names(root: Path = LIBRARY_DIR) -> list[str]:
    """Names of the library scenarios (directory name = scenario name), sorted."""
    return sorted(p.parent.name for p in root.glob(f"*/{SCENARIO_FILE}"))


def scenario_dir(name: str, *, root: Path = LIBRARY_DIR) -> Path:
    """The directory of a library scenario: its playbooks and files are relative to it."""
    directory = root / name
    if "/" in name or name.startswith(".") or not (directory / SCENARIO_FILE).is_file():
        known = ", ".join(names(root)) or "none"
        raise ScenarioNotFound(f"no library scenario '{name}' (the library has: {known})")
    return directory


def bundle(name: str, version: str | None = None, *, root: Path = LIBRARY_DIR) -> Bundle:
    """The library scenario `name` (with its directory); `version`, if given, must be the one shipped.

    Raises ScenarioNotFound for an unknown name or version, ScenarioError if the shipped file is broken.
    """
    found = load_bundle(scenario_dir(name, root=root) / SCENARIO_FILE)
    if version is not None and found.scenario.metadata.version != version:
        raise ScenarioNotFound(
            f"library scenario '{name}' is at version {found.scenario.metadata.version}, not {version}"
        )
    return found


def load_library(name: str, version: str | None = None, *, root: Path = LIBRARY_DIR) -> Scenario:
    return bundle(name, version, root=root).scenario


def library_versions(root: Path = LIBRARY_DIR) -> list[Bundle]:
    """Every library scenario, validated, with its files checked; sorted by name."""
    return [bundle(name, root=root) for name in names(root)]
