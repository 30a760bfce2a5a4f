"""Connector config schemas: one pydantic model per connector kind, and how it marks its secrets.

Each connector kind declares its configuration as one `ConfigModel` (frozen; unknown keys are refused).
The connector parses its config with it, and the orchestrator validates a range's config with the same
model, found by kind name through `connectors.registry.config_schema` (which imports no connector SDK).

A schema marks which values are secret, at any depth, with two marks used in `Annotated`:

- `Secret()`: the value there is secret as a whole (a kubeconfig, a token, a key's PEM text). It goes on
  a field (`token: Annotated[str, Secret()]`), on the values of a mapping
  (`files: dict[str, Annotated[str, Secret()]]`: file names are public, every content is secret), on
  list items, or on fields of nested models.
- `SecretKeys()`: the rule for free-form mappings, whose keys the schema cannot know (inventory
  variables, extra vars): at any depth inside the mapping, the value of every key that looks like a
  credential (`looks_like_credential`) is secret as a whole. A model that takes extra keys (free-form
  variables beside a few typed ones) states the rule for them in `secret_extras`; its declared fields
  follow their own marks.

Nothing else is secret: a mapping without a mark (Docker's `image_map`) is public. The orchestrator seals
every marked value at rest and never returns, logs or audits it: `secret_paths` finds them in a config
(valid or not: the migration that re-seals old rows reads configs the schema may refuse), `json_schema`
marks them `writeOnly: true` (mappings under the rule carry `x-federange-secret-keys`), a model's repr
hides them, and a refused config's problems never quote a value.
"""

from __future__ import annotations

import re
import types
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, TypeVar, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, GetJsonSchemaHandler, ValidationError
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from connectors.base import ConfigInvalid, ConfigProblem
from connectors.secrets import ConfigPath, value_at

#: The JSON Schema keyword saying "keys in here that look like credentials are secret (write-only)".
SECRET_KEYS_KEYWORD = "x-federange-secret-keys"  # noqa: S105 - a JSON Schema keyword
CREDENTIAL_WORDS = frozenset(
    {"password", "passwd", "pass", "pwd", "passphrase", "secret", "secrets", "token", "apikey", "credential"}
    | {"credentials", "bearer", "cookie"}
)
CREDENTIAL_RULE = (
    "a key whose words (split at _ - . and case changes) include one of "
    + ", ".join(sorted(CREDENTIAL_WORDS))
    + ", or whose last word is 'key'"
)
_WORDS = re.compile(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])")


def looks_like_credential(name: str) -> bool:
    """`ansible_become_pass`, `vault_password`, `apiKey`, `passphrase`, `private_key`: yes;
    `ansible_port`, `ansible_ssh_private_key_file` (a path), `keyboard`: no."""
    words = [w.lower() for w in _WORDS.findall(name)]
    return bool(words) and (bool(CREDENTIAL_WORDS.intersection(words)) or words[-1] == "key")


@dataclass(frozen=True)
class Secret:
    """Marks a value secret as a whole (see the module docstring)."""

    def __get_pydantic_json_schema__(
        self, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        schema = handler(core_schema)
        handler.resolve_ref_schema(schema)["writeOnly"] = True
        return schema


@dataclass(frozen=True)
class SecretKeys:
    """Marks a free-form mapping: keys inside it, at any depth, that look like credentials are secret."""

    def __get_pydantic_json_schema__(
        self, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        schema = handler(core_schema)
        handler.resolve_ref_schema(schema)[SECRET_KEYS_KEYWORD] = CREDENTIAL_RULE
        return schema


class ConfigModel(BaseModel):
    """The base of every connector config schema (and of the models nested in one)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: For a model that takes extra keys: the rule that says which of them are secret.
    secret_extras: ClassVar[SecretKeys | None] = None

    def problems(self) -> list[ConfigProblem]:
        """Rules across fields of a valid config, each naming the field it blames (none by default)."""
        return []

    @classmethod
    def __get_pydantic_json_schema__(
        cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        schema = handler(core_schema)
        if cls.secret_extras is not None:
            handler.resolve_ref_schema(schema)[SECRET_KEYS_KEYWORD] = CREDENTIAL_RULE
        return schema

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        """Secret values never reach a repr (logs, tracebacks)."""
        fields = type(self).model_fields
        for name, value in super().__repr_args__():
            field = fields.get(name) if name is not None else None
            if field is not None:
                hidden = _hides(field.annotation, tuple(field.metadata))
            else:
                hidden = name is not None and bool(_free((), {name: value}))
            yield name, "<secret>" if hidden else value


M = TypeVar("M", bound=ConfigModel)


def parse(model: type[M], config: Mapping[str, Any] | None, *, kind: str) -> M:
    """`config` validated by `model`; raises ConfigInvalid naming every bad field by its path (never
    quoting a value: a refused config may hold secrets)."""
    try:
        parsed = model.model_validate(dict(config or {}))
    except ValidationError as exc:
        problems = [
            ConfigProblem(path=tuple(error["loc"]), reason=_reason(model, error))
            for error in exc.errors(include_url=False, include_input=False, include_context=False)
        ]
        raise ConfigInvalid(kind, problems) from None  # the pydantic error's text quotes the input
    problems = parsed.problems()
    if problems:
        raise ConfigInvalid(kind, problems)
    return parsed


def json_schema(model: type[ConfigModel]) -> dict[str, Any]:
    """The schema as JSON Schema: secret values `writeOnly: true`, rule-marked mappings with
    `x-federange-secret-keys` (what a form needs to render them as write-only inputs)."""
    return model.model_json_schema()


def secret_paths(model: type[BaseModel], config: Any) -> list[ConfigPath]:
    """The path of every value in `config` that `model` marks secret, in document order. Tolerant: a
    value of the wrong shape is simply not walked into, so it works on configs the schema refuses."""
    found: list[ConfigPath] = []
    _walk_model(model, config, (), found)
    return list(dict.fromkeys(found))


def secret_texts(config: ConfigModel) -> list[str]:
    """Every text inside the values `config`'s schema marks secret: what a connector redacts from the
    output it relays (playbook events) so that none of it reaches a log line."""
    data = config.model_dump(mode="json", exclude_unset=True)
    texts: list[str] = []

    def collect(value: Any) -> None:
        if isinstance(value, str):
            texts.append(value)
        elif isinstance(value, Mapping):
            for item in value.values():
                collect(item)
        elif isinstance(value, list):
            for item in value:
                collect(item)

    for path in secret_paths(type(config), data):
        collect(value_at(data, path)[1])
    return texts


#: In a mark: any mapping key, any list index, and (last) a credential-like key at any depth below.
ANY_KEY, ANY_INDEX, BY_RULE = "*", "[*]", "**"


def secret_marks(model: type[BaseModel]) -> list[tuple[str, ...]]:
    """Every place `model` marks secret, as a pattern of keys with `ANY_KEY`, `ANY_INDEX` and a final
    `BY_RULE` (a `SecretKeys` mapping or a model's extras). A model nested in itself (inventory groups
    in groups) is not expanded again. For checking that a test config sets every secret a schema has."""
    marks: list[tuple[str, ...]] = []
    _mark_model(model, (), marks, ())
    return marks


def mark_matches(mark: tuple[str, ...], path: ConfigPath) -> bool:
    """Whether a secret found at `path` is one `mark` describes."""
    if mark and mark[-1] == BY_RULE:
        prefix = mark[:-1]
        return (
            len(path) > len(prefix)
            and mark_matches(prefix, path[: len(prefix)])
            and isinstance(path[-1], str)
            and looks_like_credential(path[-1])
        )
    return len(mark) == len(path) and all(
        (m == ANY_INDEX and isinstance(p, int)) or (m == ANY_KEY and isinstance(p, str)) or m == p
        for m, p in zip(mark, path, strict=True)
    )


def _mark_model(
    model: type[BaseModel], at: tuple[str, ...], marks: list[tuple[str, ...]], seen: tuple[type, ...]
) -> None:
    if model in seen:
        return
    for name, field in model.model_fields.items():
        _mark(field.annotation, tuple(field.metadata), (*at, field.alias or name), marks, (*seen, model))
    if getattr(model, "secret_extras", None) is not None:
        marks.append((*at, BY_RULE))


def _mark(
    annotation: Any,
    metadata: tuple[Any, ...],
    at: tuple[str, ...],
    marks: list[tuple[str, ...]],
    seen: tuple[type, ...],
) -> None:
    annotation, extra = _unwrap(annotation)
    metadata += extra
    if any(isinstance(m, Secret) for m in metadata):
        marks.append(at)
        return
    if any(isinstance(m, SecretKeys) for m in metadata) and not _is_model(annotation):
        marks.append((*at, BY_RULE))
        return
    origin, args = get_origin(annotation), get_args(annotation)
    if origin in (Union, types.UnionType):
        for arm in args:
            _mark(arm, (), at, marks, seen)
    elif _is_model(annotation):
        _mark_model(annotation, at, marks, seen)
    elif origin in (dict, Mapping) and len(args) == 2:
        _mark(args[1], (), (*at, ANY_KEY), marks, seen)
    elif origin in (list, tuple, Sequence, set, frozenset) and args:
        _mark(args[0], (), (*at, ANY_INDEX), marks, seen)


# -- walking a schema alongside a config ---------------------------------------------------------------


def _unwrap(annotation: Any) -> tuple[Any, tuple[Any, ...]]:
    metadata: tuple[Any, ...] = ()
    while get_origin(annotation) is Annotated:
        annotation, *extra = get_args(annotation)
        metadata += tuple(extra)
    return annotation, metadata


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _walk_model(model: type[BaseModel], data: Any, path: ConfigPath, found: list[ConfigPath]) -> None:
    if not isinstance(data, Mapping):
        return
    fields = {(f.alias or name): f for name, f in model.model_fields.items()}
    rule = getattr(model, "secret_extras", None)
    for key, value in data.items():
        field = fields.get(key)
        if field is not None:
            _walk(field.annotation, tuple(field.metadata), value, (*path, key), found)
        elif rule is not None:
            found.extend(_free(path, {key: value}))


def _walk(
    annotation: Any, metadata: tuple[Any, ...], data: Any, path: ConfigPath, found: list[ConfigPath]
) -> None:
    annotation, extra = _unwrap(annotation)
    metadata += extra
    if any(isinstance(m, Secret) for m in metadata):
        found.append(path)
        return
    if any(isinstance(m, SecretKeys) for m in metadata) and not _is_model(annotation):
        found.extend(_free(path, data))
        return
    origin = get_origin(annotation)
    args = get_args(annotation)
    if origin in (Union, types.UnionType):
        for arm in args:
            if arm is not type(None):
                _walk(arm, (), data, path, found)
    elif _is_model(annotation):
        _walk_model(annotation, data, path, found)
    elif origin in (dict, Mapping) and isinstance(data, Mapping):
        value_type = args[1] if len(args) == 2 else Any
        for key, value in data.items():
            _walk(value_type, (), value, (*path, key), found)
    elif origin in (list, tuple, Sequence, set, frozenset) and isinstance(data, list):
        item_type = args[0] if args else Any
        for index, value in enumerate(data):
            _walk(item_type, (), value, (*path, index), found)


def _free(path: ConfigPath, data: Any) -> list[ConfigPath]:
    """The rule of `SecretKeys` over free-form data: paths of every credential-like key's value."""
    found: list[ConfigPath] = []
    if isinstance(data, Mapping):
        for key, value in data.items():
            if isinstance(key, str) and looks_like_credential(key):
                found.append((*path, key))
            else:
                found.extend(_free((*path, key), value))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            found.extend(_free((*path, index), value))
    return found


def _hides(annotation: Any, metadata: tuple[Any, ...]) -> bool:
    """Whether a field's type holds a mark anywhere (not looking into nested models: they hide their own)."""
    annotation, extra = _unwrap(annotation)
    if any(isinstance(m, Secret | SecretKeys) for m in (*metadata, *extra)):
        return True
    if _is_model(annotation):
        return False
    return any(_hides(arg, ()) for arg in get_args(annotation) if arg is not Ellipsis)


# -- problems ----------------------------------------------------------------------------------------


def _model_at(model: type[BaseModel], loc: Sequence[int | str]) -> type[BaseModel] | None:
    """The model class whose keys live at `loc`, if there is one."""
    current: Any = model
    for part in loc:
        current, _ = _unwrap(current)
        if get_origin(current) in (Union, types.UnionType):
            arms = [a for a in get_args(current) if a is not type(None)]
            current = _unwrap(arms[0])[0] if len(arms) == 1 else None
        if _is_model(current):
            fields = {(f.alias or name): f for name, f in current.model_fields.items()}
            field = fields.get(str(part))
            current = None if field is None else field.annotation
        elif get_origin(current) in (dict, Mapping):
            current = get_args(current)[1] if len(get_args(current)) == 2 else None
        elif get_origin(current) in (list, tuple, Sequence):
            current = get_args(current)[0] if get_args(current) else None
        else:
            return None
    current, _ = _unwrap(current)
    if get_origin(current) in (Union, types.UnionType):
        arms = [a for a in get_args(current) if a is not type(None)]
        current = _unwrap(arms[0])[0] if len(arms) == 1 else None
    return current if _is_model(current) else None


def _reason(model: type[BaseModel], error: Mapping[str, Any]) -> str:
    if error["type"] == "extra_forbidden":
        owner = _model_at(model, error["loc"][:-1])
        if owner is not None:
            known = sorted((f.alias or name) for name, f in owner.model_fields.items())
            return f"unknown key (known: {', '.join(known)})"
        return "unknown key"
    return str(error["msg"]).removeprefix("Value error, ")
