"""Connectors, their config schemas and the other named extensions, by name, through entry points.

    entry-point group              name -> object
    federange.connectors           connector kind -> the Connector class (built from a config mapping)
    federange.connector_configs    connector kind -> its config schema (connectors.schema.ConfigModel)
    federange.provisioners         provisioner name -> a Provisioner class (connectors.provisioning)
    federange.renderers            connector kind -> a Renderer (connectors.capabilities)

The orchestrator reaches concrete connectors only through here. A kind's schema lives in a module that
imports no connector SDK (kubernetes, docker, ansible_runner), so the orchestrator validates and seals a
range's config without them. Unknown names fail with the list of known ones.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from importlib.metadata import entry_points
from typing import Any, cast

from connectors.base import Connector
from connectors.capabilities import Renderer
from connectors.provisioning import Provisioner
from connectors.schema import ConfigModel, json_schema, parse, secret_paths
from connectors.secrets import ConfigPath, split

GROUP = "federange.connectors"
CONFIGS = "federange.connector_configs"
PROVISIONERS = "federange.provisioners"
RENDERERS = "federange.renderers"


class UnknownExtension(LookupError):
    def __init__(self, what: str, name: str, known: Iterable[str]) -> None:
        self.name = name
        self.known = sorted(known)
        known_text = ", ".join(self.known) or "none installed"
        super().__init__(f"unknown {what} '{name}' (known: {known_text})")


class UnknownConnectorKind(UnknownExtension):
    def __init__(self, kind: str, known: Iterable[str]) -> None:
        super().__init__("connector kind", kind, known)
        self.kind = kind


def _names(group: str) -> list[str]:
    return sorted({ep.name for ep in entry_points(group=group)})


def _load(group: str, name: str) -> Any | None:
    for ep in entry_points(group=group):
        if ep.name == name:
            return ep.load()
    return None


def known_kinds() -> list[str]:
    return _names(GROUP)


def ensure_known(kinds: Iterable[str]) -> None:
    known = set(known_kinds())
    for kind in kinds:
        if kind not in known:
            raise UnknownConnectorKind(kind, known)


def connector_class(kind: str) -> type[Connector]:
    found = _load(GROUP, kind)
    if found is None:
        raise UnknownConnectorKind(kind, known_kinds())
    return cast("type[Connector]", found)


def load(kind: str, config: Mapping[str, Any]) -> Connector:
    """Build the connector for `kind` from a range's whole connector config (public fields and secrets
    merged); raises ConfigInvalid naming the fields its schema refuses."""
    factory: Any = connector_class(kind)
    connector: Connector = factory(config)
    return connector


# -- config schemas ----------------------------------------------------------------------------------


def config_schema(kind: str) -> type[ConfigModel]:
    """The config schema of `kind` (without importing the connector or its SDK)."""
    found = _load(CONFIGS, kind)
    if found is None:
        raise UnknownConnectorKind(kind, _names(CONFIGS))
    return cast("type[ConfigModel]", found)


def config_json_schema(kind: str) -> dict[str, Any]:
    """The config schema of `kind` as JSON Schema, secret values marked `writeOnly: true`."""
    return json_schema(config_schema(kind))


def check_config(kind: str, config: Mapping[str, Any]) -> tuple[dict[str, Any], dict[ConfigPath, Any]]:
    """Validate a range's config against its kind's schema, then split it: (the public config, secret
    path -> value). Raises ConfigInvalid naming every bad field (unknown keys included) by its path.

    The public part is the config as the schema reads it (JSON values, only the keys given)."""
    schema = config_schema(kind)
    normal = parse(schema, config, kind=kind).model_dump(mode="json", exclude_unset=True, by_alias=True)
    return split(normal, secret_paths(schema, normal))


def config_secret_paths(kind: str, config: Mapping[str, Any]) -> list[ConfigPath]:
    """Where `config` holds a value its kind's schema marks secret, whether or not it is valid."""
    return secret_paths(config_schema(kind), config)


# -- other named extensions --------------------------------------------------------------------------


def known_provisioners() -> list[str]:
    return _names(PROVISIONERS)


def load_provisioner(name: str) -> Provisioner:
    """The provisioner registered as `name` (e.g. `ansible`), built with its defaults."""
    factory = _load(PROVISIONERS, name)
    if factory is None:
        raise UnknownExtension("provisioner", name, known_provisioners())
    provisioner: Provisioner = factory()
    return provisioner


def load_renderer(kind: str) -> Renderer:
    """How connector kind `kind` renders an instance into the objects it would create, without a range."""
    found = _load(RENDERERS, kind)
    if found is None:
        raise UnknownExtension("renderer", kind, _names(RENDERERS))
    return cast("Renderer", found)
