"""Recognising documents that an importer was handed by mistake, so the refusal can say what they are."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from scenarios.importers.report import ImportRefused


def read_document(path: Path) -> Any:
    """Parse a YAML (or JSON) file; an unreadable or unparsable file is refused with the reason."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ImportRefused(f"cannot read the file: {exc}", source=str(path)) from exc
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ImportRefused(f"not valid YAML or JSON: {exc}", source=str(path)) from exc


def what_it_looks_like(data: Any) -> str | None:
    """A short description of a well-known look-alike format, or None."""
    if isinstance(data, list):
        sections = {k for item in data if isinstance(item, dict) for k in item}
        if sections & {"host_settings", "guest_settings", "clone_settings"}:
            return "a CyRIS range description (a list of host_settings, guest_settings, clone_settings)"
        if data and all(
            isinstance(i, dict) and "hosts" in i and ("tasks" in i or "roles" in i) for i in data
        ):
            return "an Ansible playbook"
        return None
    if not isinstance(data, dict):
        return None
    if data.get("apiVersion") == "federange/v1":
        return "a Federange scenario already (validate it with `federange scenario validate`)"
    if "apiVersion" in data and "kind" in data:
        return f"a Kubernetes manifest (apiVersion {data['apiVersion']!r}, kind {data['kind']!r})"
    if "services" in data:
        return "a Docker Compose file (top-level 'services')"
    if "levels" in data or ("title" in data and "estimated_duration" in data):
        return "a KYPO training definition (levels, not a sandbox topology)"
    if "containers" in data and "container_mappings" in data:
        return "a KYPO containers.yml (pass it with --containers next to its topology.yml)"
    if "hosts" in data and ("net_mappings" in data or "networks" in data):
        return "a KYPO/CyberRangeCZ topology"
    return None


def _shape(data: Any) -> str:
    if data is None:
        return "empty"
    if isinstance(data, dict):
        return "a mapping"
    if isinstance(data, list):
        return "a list"
    return f"a single {type(data).__name__} value"


def refuse(expected: str, missing: list[str], data: Any, *, source: str) -> ImportRefused:
    """The refusal for a document that lacks what `expected` needs (or has the wrong shape when `missing`
    is empty), saying what it looks like instead when that is recognisable."""
    if missing:
        reason = f"not {expected}: missing {', '.join(repr(m) for m in missing)}"
    else:
        reason = f"not {expected}: the document is {_shape(data)}"
    looks = what_it_looks_like(data)
    if looks:
        reason += f"; this looks like {looks}"
    return ImportRefused(reason, source=source)
