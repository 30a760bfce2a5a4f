"""The JSON Schema file is generated from the models and must not go stale."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema

from scenarios import schema


def test_the_schema_file_is_up_to_date() -> None:
    assert not schema.is_stale(), (
        "scenarios/schema/scenario.schema.json is stale: run `python -m scenarios.schema`"
    )


def test_the_schema_is_a_valid_draft_2020_12_schema() -> None:
    document = json.loads(schema.SCHEMA_PATH.read_text())
    jsonschema.Draft202012Validator.check_schema(document)
    assert document["properties"]["apiVersion"]["const"] == "federange/v1"
    flow = document["$defs"]["Flow"]
    assert "from" in flow["properties"] and "from_" not in flow["properties"]


def test_the_schema_rejects_what_the_loader_rejects() -> None:
    validator = jsonschema.Draft202012Validator(json.loads(schema.SCHEMA_PATH.read_text()))
    document = {
        "apiVersion": "federange/v1",
        "kind": "Scenario",
        "metadata": {"name": "Bad_Name", "version": "1.0.0", "title": "x"},
        "spec": {
            "segments": [{"name": "lan"}],
            "hosts": [{"name": "a", "image": "x:1", "segments": ["lan"]}],
        },
    }
    messages = sorted(e.message for e in validator.iter_errors(document))
    assert any("'resources' is a required property" in m for m in messages)
    assert any("Bad_Name" in m for m in messages)


def test_a_stale_file_is_detected(tmp_path: Path) -> None:
    path = tmp_path / "scenario.schema.json"
    assert schema.is_stale(path)
    assert schema.write(path) is True
    assert not schema.is_stale(path)
    assert schema.write(path) is False
    path.write_text(path.read_text().replace("federange/v1", "federange/v0"))
    assert schema.is_stale(path)
