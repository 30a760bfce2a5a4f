"""Scenario -> YAML text as an author would write it: aliases (`apiVersion`, `from`), only the fields the
document set, multi-line strings as literal blocks. Loading the text back gives an equal scenario."""

from __future__ import annotations

from typing import Any

import yaml

from scenarios.model import Scenario


class _Dumper(yaml.SafeDumper):
    """A SafeDumper that writes multi-line strings as `|` blocks."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def to_data(scenario: Scenario) -> dict[str, Any]:
    data: dict[str, Any] = scenario.model_dump(mode="json", by_alias=True, exclude_unset=True)
    return data


def dump_yaml(scenario: Scenario) -> str:
    text: str = yaml.dump(to_data(scenario), Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=110)
    return text
