"""Rendered objects as YAML that every Kubernetes tool reads back unchanged.

PyYAML writes YAML 1.1 and leaves a string such as `336e-0` or `1e3` plain, because YAML 1.1 floats need
a dot; kubectl's reader (sigs.k8s.io/yaml) takes the same text for a number and refuses the object
("cannot unmarshal number into ... metadata.labels of type string"). Instance ids, label values and
generated names can look like that, so every string another YAML reader could take for a number, a
boolean or null is quoted.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import yaml

#: Plain scalars YAML 1.2 core / Go readers take for something other than a string.
_NOT_A_STRING = re.compile(
    r"^(?:[-+]?(?:\.[0-9]+|[0-9][0-9_]*(?:\.[0-9_]*)?)(?:[eE][-+]?[0-9]+)?"  # ints and floats
    r"|0[xX][0-9a-fA-F_]+|0[oO]?[0-7_]+|0[bB][01_]+"  # other bases
    r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)"
    r"|[yY]|[nN]|[yY]es|YES|[nN]o|NO|[tT]rue|TRUE|[fF]alse|FALSE|[oO]n|ON|[oO]ff|OFF|~|[nN]ull|NULL)$"
)


class _Dumper(yaml.SafeDumper):
    pass


def _string(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    if _NOT_A_STRING.match(value):
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="'")
    return dumper.represent_str(value)


_Dumper.add_representer(str, _string)


def manifests_yaml(objects: Iterable[dict[str, Any]]) -> str:
    """Multi-document YAML of `objects` (`---` before each), in their order, keys as given."""
    text: str = yaml.dump_all(list(objects), Dumper=_Dumper, sort_keys=False, explicit_start=True)
    return text
