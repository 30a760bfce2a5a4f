"""A range's connector config, validated and split by its kind's schema (connectors.schema).

Every value the schema marks secret, at any depth, goes into `ConnectorSettings.secrets` (sealed at rest
by the store); the rest is the public config the API shows and the audit log records. A config the schema
refuses (unknown keys, bad values) is an InvalidInput naming each field as `connector.config.<path>`.

A change (PATCH) is a JSON merge patch (RFC 7386) on the whole config: mappings merge key by key, null
removes a key, anything else replaces. So a patch that omits a secret keeps its sealed value and one that
sets it replaces it; the result is validated and split again. A value once sealed stays sealed, even if the
schema stops marking it. A patch that changes the kind starts from an empty config.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from connectors import registry
from connectors.base import ConfigInvalid
from connectors.secrets import ConfigPath, path_text, split, value_at
from orchestrator.domain.catalogue import ConnectorSettings
from orchestrator.domain.errors import FieldProblem, InvalidInput

FIELD = "connector.config"


def sealed(kind: str, config: Mapping[str, Any]) -> ConnectorSettings:
    """The settings of a range with connector `kind` and `config`; raises InvalidInput."""
    try:
        public, hidden = registry.check_config(kind, config)
    except ConfigInvalid as exc:
        raise InvalidInput([FieldProblem(field_name(p.path), p.reason) for p in exc.problems]) from None
    return ConnectorSettings(kind=kind, config=public, secrets=hidden)


def field_name(path: ConfigPath) -> str:
    """`("inventory", "all")` -> `connector.config.inventory.all`, as problems name API fields."""
    text = path_text(path)
    return FIELD + ("" if not text or text.startswith("[") else ".") + text


def patched(
    current: ConnectorSettings, *, kind: str | None, changes: Mapping[str, Any] | None
) -> ConnectorSettings:
    """`current` with `kind` (None: unchanged) and the merge patch `changes` (None: none) applied."""
    same_kind = kind is None or kind == current.kind
    base = current.merged() if same_kind else {}
    updated = sealed(current.kind if kind is None else kind, merge_patch(base, changes or {}))
    if not same_kind:
        return updated
    still_there = [p for p in current.secrets if p not in updated.secrets and value_at(updated.config, p)[0]]
    if not still_there:
        return updated
    public, kept = split(updated.config, still_there)
    return ConnectorSettings(kind=updated.kind, config=public, secrets={**updated.secrets, **kept})


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: `patch` applied to `target` (neither is changed)."""
    if not isinstance(patch, Mapping):
        return patch
    result = dict(target) if isinstance(target, Mapping) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result
