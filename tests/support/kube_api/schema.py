"""Strict validation against the official Kubernetes JSON schemas shipped by `kubernetes-validate`.

`kubernetes_validate.validate` re-reads the (large) definitions file on every call; the API double
validates every write, so it builds one validator per kind from the same schema files and keeps it.
Tests of rendered manifests call `kubernetes_validate.validate` itself.
"""

from __future__ import annotations

import functools
import re
from typing import Any

import jsonschema
from kubernetes_validate import utils
from referencing import Registry, Resource

KUBERNETES_VERSION = "1.33"


class SchemaError(ValueError):
    pass


@functools.cache
def _definitions(version: str) -> Resource[Any]:
    return Resource.from_contents(
        utils.schema_contents(f"kubernetes-json-schema/v{version}.0-local-strict/_definitions.json", version)
    )


@functools.cache
def validator(
    kind: str, api_version: str, version: str = KUBERNETES_VERSION
) -> jsonschema.protocols.Validator:
    group_version = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    schema = utils.schema_contents(
        f"kubernetes-json-schema/v{version}.0-local-strict/{kind.lower()}-{group_version}.json", version
    )
    resource: Resource[Any] = Resource.from_contents(schema)
    registry: Registry[Any] = _definitions(version) @ (resource @ Registry())
    return jsonschema.validators.Draft202012Validator(schema, registry=registry)


def validate(obj: dict[str, Any]) -> None:
    """Raise SchemaError naming the first invalid field of `obj`."""
    try:
        checker = validator(str(obj.get("kind")), str(obj.get("apiVersion")))
    except FileNotFoundError as exc:
        raise SchemaError(f"no schema for {obj.get('apiVersion')} {obj.get('kind')}") from exc
    error = jsonschema.exceptions.best_match(checker.iter_errors(obj))
    if error is not None:
        where = ".".join(str(p) for p in error.absolute_path) or "(root)"
        raise SchemaError(f"{where}: {error.message}")
