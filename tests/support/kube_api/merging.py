"""Server-side apply and JSON merge patch over plain dicts.

Server-side apply, as modelled here: the server remembers, per field manager, the configuration that
manager last applied. Applying a new configuration (1) removes the fields the manager applied before but
no longer applies, (2) merges the new configuration in (maps merge key by key, lists and scalars replace),
and (3) leaves fields owned by others alone. Without `force`, a field another Apply manager set to a
different value is a conflict (409). Simplification against a real API server: lists are atomic (the
real server merges some lists by key, e.g. containers by name), which makes no difference for a single
manager applying whole objects, which is how Federange uses it.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

Path = tuple[str, ...]


def leaf_paths(config: Mapping[str, Any], prefix: Path = ()) -> dict[Path, Any]:
    """Every leaf (a scalar, a list, or an empty map) of a configuration, by its key path."""
    out: dict[Path, Any] = {}
    for key, value in config.items():
        path = (*prefix, key)
        if isinstance(value, Mapping) and value:
            out.update(leaf_paths(value, path))
        else:
            out[path] = value
    return out


def _remove(obj: dict[str, Any], path: Path) -> None:
    parents: list[tuple[dict[str, Any], str]] = []
    current: Any = obj
    for key in path[:-1]:
        if not isinstance(current, dict) or key not in current:
            return
        parents.append((current, key))
        current = current[key]
    if isinstance(current, dict):
        current.pop(path[-1], None)
    # Drop maps the removal left empty (but never the top-level sections).
    for parent, key in reversed(parents[1:]):
        if parent.get(key) == {}:
            del parent[key]


def deep_merge(base: dict[str, Any], overlay: Mapping[str, Any]) -> dict[str, Any]:
    for key, value in overlay.items():
        if isinstance(value, Mapping) and isinstance(base.get(key), dict):
            deep_merge(base[key], value)
        else:
            base[key] = copy.deepcopy(value)
    return base


def conflicts(
    current: Mapping[str, Any],
    config: Mapping[str, Any],
    *,
    manager: str,
    applied: Mapping[str, Mapping[str, Any]],
) -> list[str]:
    """Fields of `config` another Apply manager owns with a different value."""
    wanted = leaf_paths(config)
    found = []
    for other, other_config in applied.items():
        if other == manager:
            continue
        for path, value in leaf_paths(other_config).items():
            if path in wanted and wanted[path] != value:
                found.append(f".{'.'.join(path)} (owned by {other})")
    return sorted(found)


def apply(
    current: Mapping[str, Any] | None, config: Mapping[str, Any], *, previous: Mapping[str, Any] | None
) -> dict[str, Any]:
    """The object after `config` is applied over `current` by a manager whose last applied
    configuration was `previous`."""
    if current is None:
        return copy.deepcopy(dict(config))
    result = copy.deepcopy(dict(current))
    if previous:
        for path in set(leaf_paths(previous)) - set(leaf_paths(config)):
            _remove(result, path)
    return deep_merge(result, config)


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, Mapping):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result
