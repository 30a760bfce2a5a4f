"""The JSON Schema of the scenario format, generated from the Pydantic models (the source of truth).

`scenario.schema.json` beside this module is the generated file that editors use for completion and
checking (`# yaml-language-server: $schema=...`). Regenerate it with `python -m scenarios.schema` after
changing `scenarios.model`; a test fails while the file is stale. The schema checks structure only: the
rules relating parts of a document (known segments, unique names, declared variables) are enforced by
`federange scenario validate`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from scenarios.model import Scenario

SCHEMA_PATH = Path(__file__).resolve().parent / "scenario.schema.json"
SCHEMA_ID = "https://federange.eu/schemas/scenario/v1/scenario.schema.json"


def json_schema() -> dict[str, Any]:
    """The schema of a scenario document as authors write it (aliases such as `apiVersion`, `from`)."""
    generated = Scenario.model_json_schema(by_alias=True, mode="validation")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "Federange scenario (apiVersion federange/v1, kind Scenario)",
        "description": (
            "One team instance of a cyber-range exercise: segments, hosts, flows, per-instance variables "
            "and provisioning. Generated from scenarios/model.py; do not edit by hand."
        ),
        **{k: v for k, v in generated.items() if k not in ("title", "description")},
    }


def render() -> str:
    """The schema file's exact text (stable key order, trailing newline)."""
    return json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n"


def write(path: Path = SCHEMA_PATH) -> bool:
    """Write the schema; returns whether the file changed."""
    text = render()
    if path.is_file() and path.read_text(encoding="utf-8") == text:
        return False
    path.write_text(text, encoding="utf-8")
    return True


def is_stale(path: Path = SCHEMA_PATH) -> bool:
    return not path.is_file() or path.read_text(encoding="utf-8") != render()
