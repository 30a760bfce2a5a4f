"""Recognising documents that an importer was handed by mistake, so the refusal can say what they are."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from scenarios.importers.report import ImportRefused
from scenarios.loader import yaml_data


def read_document(path: Path) -> Any:
    """Parse a YAML (or JSON) file; an unreadable or unparsable file is refused with the reason."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ImportRefused(f"cannot read the file: {exc}", source=str(path)) from exc
    try:
        return yaml_data(text)
    except (yaml.YAMLError, ValueError, RecursionError) as exc:
        # (PyYAML raises ValueError for impossible timestamps such as 2024-13-01)
        raise ImportRefused(f"not valid YAML or JSON: {exc}", source=str(path)) from exc


#: Format keys of `recognise`, as the importers name what they expect.
CYRIS = "cyris"
KCTF = "kctf"
KYPO_TOPOLOGY = "kypo-topology"
KYPO_CONTAINERS = "kypo-containers"
KYPO_TRAINING = "kypo-training"


def recognise(data: Any) -> tuple[str, str] | None:
    """(format key, short description) of a well-known format the document looks like, or None."""
    if isinstance(data, list):
        sections = {k for item in data if isinstance(item, dict) for k in item}
        if sections & {"host_settings", "guest_settings", "clone_settings"}:
            return (
                CYRIS,
                "a CyRIS range description (a list of host_settings, guest_settings, clone_settings)",
            )
        if data and all(
            isinstance(i, dict) and "hosts" in i and ("tasks" in i or "roles" in i) for i in data
        ):
            return "ansible", "an Ansible playbook"
        return None
    if not isinstance(data, dict):
        return None
    if data.get("apiVersion") == "federange/v1":
        return "federange", "a Federange scenario already (validate it with `federange scenario validate`)"
    if str(data.get("apiVersion", "")).startswith("kctf.dev/") and data.get("kind") == "Challenge":
        return KCTF, "a kCTF challenge.yaml (import it with `federange scenario import kctf`)"
    if "apiVersion" in data and "kind" in data:
        return (
            "kubernetes",
            f"a Kubernetes manifest (apiVersion {data['apiVersion']!r}, kind {data['kind']!r})",
        )
    if "services" in data:
        return "compose", "a Docker Compose file (top-level 'services')"
    if "levels" in data or ("title" in data and "estimated_duration" in data):
        return KYPO_TRAINING, "a KYPO training definition (levels, not a sandbox topology)"
    if "containers" in data and "container_mappings" in data:
        return KYPO_CONTAINERS, "a KYPO containers.yml (pass it with --containers next to its topology.yml)"
    if "hosts" in data and ("net_mappings" in data or "networks" in data):
        return KYPO_TOPOLOGY, "a KYPO/CyberRangeCZ topology"
    return None


def what_it_looks_like(data: Any) -> str | None:
    """A short description of a well-known look-alike format, or None."""
    found = recognise(data)
    return found[1] if found else None


def _shape(data: Any) -> str:
    if data is None:
        return "empty"
    if isinstance(data, dict):
        return "a mapping"
    if isinstance(data, list):
        return "a list"
    return f"a single {type(data).__name__} value"


def refuse(expected: str, missing: list[str], data: Any, *, source: str, kind: str = "") -> ImportRefused:
    """The refusal for a document that lacks what `expected` needs (or has the wrong shape when `missing`
    is empty), saying what it looks like instead when that is recognisable. A document recognised as the
    expected format itself (`kind`) is called an incomplete one, never "not X ... looks like X"."""
    found = recognise(data)
    if found is not None and kind and found[0] == kind:
        what = (
            f"missing {', '.join(repr(m) for m in missing)}" if missing else f"the document is {_shape(data)}"
        )
        return ImportRefused(f"{expected}, but an incomplete one: {what}", source=source)
    if missing:
        reason = f"not {expected}: missing {', '.join(repr(m) for m in missing)}"
    else:
        reason = f"not {expected}: the document is {_shape(data)}"
    if found is not None:
        reason += f"; this looks like {found[1]}"
    return ImportRefused(reason, source=source)
