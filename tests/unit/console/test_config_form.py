"""The connector settings form, generated from a kind's config schema (console/config_form.py)."""

from __future__ import annotations

import json

import pytest

from connectors import registry
from orchestrator.api.console import config_form
from orchestrator.domain.errors import InvalidInput


def by_name(kind: str, current: dict[str, object] | None = None) -> dict[str, config_form.Field]:
    return {f.name: f for f in config_form.fields(kind, current)}


@pytest.mark.parametrize("kind", sorted(registry.known_kinds()))
def test_every_secret_of_every_kind_is_a_field_that_is_never_filled(kind: str) -> None:
    schema = json.dumps(registry.config_schema(kind).model_json_schema())
    fields = config_form.fields(kind)
    assert fields, kind
    for f in fields:
        if f.secret:
            assert f.widget in ("password", "json") and (f.widget == "password" or f.default in ("", "{}")), f
    if '"writeOnly": true' in schema:
        assert any(f.secret for f in fields), kind


def test_defaults_come_from_the_model_and_the_stored_config_fills_the_rest() -> None:
    fresh = by_name("fake")
    assert fresh["config.capacity.slots"].default == "50"  # the nested model's own default
    assert fresh["config.token"].widget == "password"
    stored = by_name("fake", {"world": "ee", "capacity": {"slots": 3}, "token": "leaked?"})
    assert stored["config.world"].default == "ee"
    assert stored["config.capacity.slots"].default == "3"
    assert stored["config.capacity.cpu_millicores"].default == "64000"
    assert stored["config.token"].default == ""


def test_parse_builds_the_nested_config_with_types() -> None:
    parsed = config_form.parse(
        "fake",
        {
            "config.world": "ee",
            "config.deploy_latency": "0.5",
            "config.fail_deploy": "red, blue",
            "config.capacity.slots": "7",
            "config.token": "s3cret",
            "config.ready_after": "",
        },
    )
    assert parsed == {
        "world": "ee",
        "deploy_latency": 0.5,
        "fail_deploy": ["red", "blue"],
        "healthy": False,  # an unticked checkbox
        "capacity": {"slots": 7},
        "token": "s3cret",
    }
    registry.config_schema("fake").model_validate(parsed)


def test_parse_names_each_bad_field() -> None:
    with pytest.raises(InvalidInput) as refused:
        config_form.parse("fake", {"config.capacity.slots": "many", "config.deploy_latency": "soon"})
    assert {p.field for p in refused.value.problems} == {"config.capacity.slots", "config.deploy_latency"}
