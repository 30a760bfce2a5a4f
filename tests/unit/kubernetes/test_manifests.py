"""Rendered YAML that kubectl reads back as written: strings another YAML reader would take for numbers
or booleans are quoted (an instance id `336e-0` made `kubectl apply -f` refuse the objects:
"cannot unmarshal number into ... metadata.labels of type string")."""

from __future__ import annotations

import pytest
import yaml

from connectors.kubernetes.render import render_instance
from connectors.manifests import manifests_yaml
from tests.unit.kubernetes.scenarios import instance, web_breach


@pytest.mark.parametrize("value", ["336e-0", "1e3", "0x1f", "0o17", "1_000", ".5", "yes", "off", "~", "12"])
def test_strings_other_readers_take_for_something_else_are_quoted(value: str) -> None:
    text = manifests_yaml([{"metadata": {"labels": {"a": value}}}])
    assert f"a: '{value}'" in text
    assert yaml.safe_load(text)["metadata"]["labels"]["a"] == value


def test_an_instance_whose_id_reads_as_a_float_renders_quoted() -> None:
    objects = render_instance(instance(web_breach(), instance_id="336e-0"))
    text = manifests_yaml(objects)
    assert "federange.eu/instance: '336e-0'" in text
    assert "federange.eu/instance: 336e-0" not in text
    assert list(yaml.safe_load_all(text)) == objects
    assert "name: web" in text  # ordinary strings stay plain
