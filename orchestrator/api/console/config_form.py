"""A connector's config form, generated from its kind's JSON Schema (the same model the API validates
with): scalars become inputs, enums selects, lists of text comma-separated inputs, nested models groups of
fields (`capacity.slots`), free-form mappings a JSON text area. Fields the schema marks write-only (secrets)
are password inputs that are never filled in: a secret goes in and never comes back out."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from connectors import registry
from orchestrator.domain.errors import FieldProblem, InvalidInput

PREFIX = "config."


@dataclass(frozen=True)
class Field:
    name: str  # the form field's name: config.<path>
    label: str
    widget: str  # text, number, checkbox, select, password, json, list
    default: str
    options: tuple[str, ...] = ()
    secret: bool = False
    step: str = "any"


def _resolve(schema: Mapping[str, Any], node: Mapping[str, Any]) -> Mapping[str, Any]:
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        resolved: Mapping[str, Any] = schema["$defs"][ref.removeprefix("#/$defs/")]
        return {**resolved, **{k: v for k, v in node.items() if k != "$ref"}}
    return node


def fields(kind: str, current: Mapping[str, Any] | None = None) -> list[Field]:
    """The form's fields, filled with `current` (a stored config) where it has a value, else the
    schema's defaults; secret fields are never filled."""
    model = registry.config_schema(kind)
    schema = model.model_json_schema()
    out: list[Field] = []

    def walk(props: Mapping[str, Any], path: str, defaults: Mapping[str, Any]) -> None:
        for key, raw in props.items():
            node = _resolve(schema, raw)
            name = f"{path}{key}"
            default = defaults[key] if key in defaults else node.get("default")
            label = name.removeprefix(PREFIX).replace("_", " ")
            kind_ = node.get("type")
            if kind_ == "object" and "properties" in node:
                walk(node["properties"], f"{name}.", default if isinstance(default, dict) else {})
            elif "enum" in node:
                options = tuple(str(v) for v in node["enum"])
                out.append(Field(name, label, "select", str(default or ""), options))
            elif node.get("writeOnly"):
                out.append(Field(name, label, "password", "", secret=True))
            elif kind_ == "boolean":
                out.append(Field(name, label, "checkbox", "on" if default else ""))
            elif kind_ in ("integer", "number"):
                step = "1" if kind_ == "integer" else "any"
                out.append(Field(name, label, "number", "" if default is None else str(default), step=step))
            elif kind_ == "array" and node.get("items", {}).get("type") == "string":
                out.append(Field(name, label, "list", ", ".join(default or [])))
            elif kind_ in ("object", "array"):
                out.append(
                    Field(
                        name,
                        label,
                        "json",
                        "" if not default else json.dumps(default),
                        secret=_has_secrets(node),
                    )
                )
            else:
                out.append(Field(name, label, "text", "" if default is None else str(default)))

    walk(schema.get("properties", {}), PREFIX, _merged(_defaults(model), current or {}))
    return out


def _defaults(model: type[BaseModel]) -> dict[str, Any]:
    """The config a kind takes when nothing is given (nested defaults included), or {} when it needs
    something."""
    try:
        return model().model_dump(mode="json")
    except ValidationError:
        return {}


def _merged(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        out[key] = (
            _merged(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
        )
    return out


def _has_secrets(node: Mapping[str, Any]) -> bool:
    return "writeOnly" in json.dumps(node) or "x-federange-secret-keys" in json.dumps(node)


def parse(kind: str, form: Mapping[str, Any]) -> dict[str, Any]:
    """The config the form describes (fields left empty keep the schema's default); checkboxes are read
    from their presence. Invalid JSON or numbers are InvalidInput naming the field."""
    config: dict[str, Any] = {}
    problems: list[FieldProblem] = []
    for f in fields(kind):
        raw = form.get(f.name)
        value: Any
        if f.widget == "checkbox":
            value = raw is not None
        elif raw is None or str(raw).strip() == "":
            continue
        elif f.widget == "number":
            try:
                value = int(raw) if f.step == "1" else float(raw)
            except ValueError:
                problems.append(FieldProblem(f.name, "must be a number"))
                continue
        elif f.widget == "list":
            value = [v.strip() for v in str(raw).split(",") if v.strip()]
        elif f.widget == "json":
            try:
                value = json.loads(str(raw))
            except ValueError as exc:
                problems.append(FieldProblem(f.name, f"must be JSON: {exc.args[0]}"))
                continue
        else:
            value = str(raw)
        node = config
        *parents, leaf = f.name.removeprefix(PREFIX).split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    if problems:
        raise InvalidInput(problems)
    return config
