"""A connector config's secret values, addressed by path: named in text, split out, put back.

Which values are secret is for the kind's config schema to say (connectors.schema); this module only moves
values by path, so it stays free of any framework and the orchestrator's core can hold its results.

A path is a tuple of mapping keys (str) and list indexes (int) from the config's root, such as
`("inventory", "all", "hosts", "web", "ansible_password")`. Its text is what the API lists, what a problem
names and how a sealed value is keyed at rest: dotted, list indexes as `[2]`, and keys that are not plain
names (`[A-Za-z0-9_-]+`) quoted as JSON strings in brackets, as in
`inventory.all.hosts["web.lab"].ansible_password`. `path_text` and `parse_path` are exact inverses.

`split` takes the secret values out of a copy of a config (a mapping key is removed; a list item becomes
null, so the other indexes keep their meaning) and `merged` puts them back where they were.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

ConfigPath = tuple[str | int, ...]

_BARE = re.compile(r"[A-Za-z0-9_-]+")
_INDEX = re.compile(r"\[(\d+)\]")
_DECODER = json.JSONDecoder()


def path_text(path: ConfigPath) -> str:
    """`("inventory", "all", "hosts", "web.lab", "vars")` -> `inventory.all.hosts["web.lab"].vars`."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _BARE.fullmatch(part):
            out += ("." if out else "") + part
        else:
            out += f"[{json.dumps(part)}]"
    return out


def parse_path(text: str) -> ConfigPath:
    """The inverse of `path_text`; ValueError for text it cannot have written."""
    parts: list[str | int] = []
    pos = 0
    while pos < len(text):
        if text.startswith('["', pos):
            key, end = _DECODER.raw_decode(text, pos + 1)
            if not isinstance(key, str) or not text.startswith("]", end):
                raise ValueError(f"bad quoted key at {pos} in path {text!r}")
            parts.append(key)
            pos = end + 1
            continue
        index = _INDEX.match(text, pos)
        if index is not None:
            parts.append(int(index.group(1)))
            pos = index.end()
            continue
        if parts:
            if not text.startswith(".", pos):
                raise ValueError(f"expected '.' at {pos} in path {text!r}")
            pos += 1
        bare = _BARE.match(text, pos)
        if bare is None:
            raise ValueError(f"expected a key at {pos} in path {text!r}")
        parts.append(bare.group())
        pos = bare.end()
    return tuple(parts)


def _holds(container: Any, part: str | int) -> bool:
    if isinstance(part, str):
        return isinstance(container, Mapping) and part in container
    return isinstance(container, list) and 0 <= part < len(container)


def value_at(data: Any, path: ConfigPath) -> tuple[bool, Any]:
    """(True, the value at `path`) when `data` has one there, else (False, None)."""
    current = data
    for part in path:
        if not _holds(current, part):
            return False, None
        current = current[part]
    return True, current


def split(
    config: Mapping[str, Any], paths: Iterable[ConfigPath]
) -> tuple[dict[str, Any], dict[ConfigPath, Any]]:
    """(the config without the values at `paths`, path -> value taken out). Paths the config does not
    have are skipped; a path inside another one goes with the outer value."""
    public = copy.deepcopy(dict(config))
    taken: dict[ConfigPath, Any] = {}
    for path in sorted(set(paths), key=len):
        if not path:
            raise ValueError("a whole config cannot be one secret value")
        found, parent = value_at(public, path[:-1])
        key = path[-1]
        if not found or not _holds(parent, key):
            continue
        taken[path] = parent[key]
        if isinstance(key, str):
            del parent[key]
        else:
            parent[key] = None
    return public, taken


def merged(public: Mapping[str, Any], secrets: Mapping[ConfigPath, Any]) -> dict[str, Any]:
    """The whole config: `public` with every secret value put back at its path (mappings on the way
    that `public` lacks are created)."""
    whole = copy.deepcopy(dict(public))
    for path, value in sorted(secrets.items(), key=lambda item: len(item[0])):
        current: Any = whole
        for part in path[:-1]:
            if isinstance(part, int):
                current = current[part] if isinstance(current, list) and part < len(current) else None
            elif isinstance(current, dict):
                current = current.setdefault(part, {})
            else:
                current = None
            if current is None:
                break
        key = path[-1]
        if (isinstance(key, str) and isinstance(current, dict)) or _holds(current, key):
            current[key] = copy.deepcopy(value)
    return whole
