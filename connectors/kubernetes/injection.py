"""What gets injected into a host: environment, command line and files, with per-instance values filled.

Secret values never appear in a Deployment. An environment variable whose template names a secret
variable (flag, password, token, or any variable marked secret) is read from the host's `<host>-env`
Secret; a secret value used on the command line is passed as `$(FEDERANGE_SECRET_<NAME>)`, which the
kubelet expands from an environment variable read from the same Secret. Files go into a ConfigMap, or a
Secret when the file is marked secret or its content names a secret variable, and are mounted one by one
(`subPath`) at their path with their mode.

Values substituted into env values and command lines have `$` doubled, so a value can never be read by
the kubelet as a `$(VAR)` reference.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from connectors.base import LABEL_HOST, ConnectorRefusal, InstanceSpec
from connectors.kubernetes.naming import env_secret_name, files_config_map_name, files_secret_name
from scenarios.materialise import secret_names
from scenarios.model import TEMPLATE_RE, Host

SECRET_ENV_PREFIX = "FEDERANGE_SECRET_"  # noqa: S105 - a name prefix, not a secret
FILES_VOLUME = "files"
SECRET_FILES_VOLUME = "secret-files"  # noqa: S105 - a volume name, not a secret
MAX_FILE_MODE = 0o777


@dataclass(frozen=True, kw_only=True)
class Injection:
    """The container fields and the ConfigMap/Secret objects of one host."""

    env: list[dict[str, Any]] = field(default_factory=list)
    command: list[str] | None = None
    args: list[str] | None = None
    volumes: list[dict[str, Any]] = field(default_factory=list)
    mounts: list[dict[str, Any]] = field(default_factory=list)
    objects: list[dict[str, Any]] = field(default_factory=list)
    digest: str = ""


class _Filler:
    def __init__(self, instance: InstanceSpec, *, where: str) -> None:
        self.values: Mapping[str, str] = instance.values
        self.secret = secret_names(instance.scenario)
        self.where = where
        self.secret_env: dict[str, str] = {}

    def value(self, name: str, path: str) -> str:
        if name not in self.values:
            raise ConnectorRefusal(
                f"{path}: the instance has no value for variable '{name}' (materialise the scenario's "
                "variables for this instance first)"
            )
        return self.values[name]

    def names_secret(self, text: str) -> bool:
        return any(name in self.secret for name in TEMPLATE_RE.findall(text))

    def plain(self, text: str, path: str) -> str:
        """Fill every template with its value (files, and secret env values going into a Secret)."""
        return TEMPLATE_RE.sub(lambda m: self.value(m.group(1), path), text)

    def expandable(self, text: str, path: str) -> str:
        """Fill for a field the kubelet expands: `$` escaped, secret values as `$(FEDERANGE_SECRET_x)`."""

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            value = self.value(name, path)
            if name in self.secret:
                env_name = f"{SECRET_ENV_PREFIX}{name}"
                self.secret_env[env_name] = value
                return f"$({env_name})"
            return value.replace("$", "$$")

        return TEMPLATE_RE.sub(replace, text)


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _object(
    kind: str, *, name: str, namespace: str, labels: dict[str, str], data: dict[str, str]
) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": kind,
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
    }
    if kind == "Secret":
        obj["type"] = "Opaque"
        obj["data"] = {k: _b64(v) for k, v in sorted(data.items())}
    else:
        obj["data"] = dict(sorted(data.items()))
    return obj


def injection(instance: InstanceSpec, host: Host, *, index: int, namespace: str) -> Injection:
    where = f"spec.hosts[{index}]"
    filler = _Filler(instance, where=where)
    labels = {**instance.labels(), LABEL_HOST: host.name}

    env: list[dict[str, Any]] = []
    env_secret: dict[str, str] = {}
    for key, value in host.env.items():
        path = f"{where}.env.{key}"
        if filler.names_secret(value):
            env_secret[key] = filler.plain(value, path)
            env.append(
                {"name": key, "valueFrom": {"secretKeyRef": {"name": env_secret_name(host.name), "key": key}}}
            )
        else:
            env.append({"name": key, "value": filler.expandable(value, path)})
    command = (
        [filler.expandable(v, f"{where}.command[{i}]") for i, v in enumerate(host.command)]
        if host.command is not None
        else None
    )
    args = (
        [filler.expandable(v, f"{where}.args[{i}]") for i, v in enumerate(host.args)]
        if host.args is not None
        else None
    )
    secret_refs = [
        {"name": name, "valueFrom": {"secretKeyRef": {"name": env_secret_name(host.name), "key": name}}}
        for name in sorted(filler.secret_env)
    ]
    env_secret.update(filler.secret_env)

    plain_files: dict[str, str] = {}
    secret_files: dict[str, str] = {}
    plain_items: list[dict[str, Any]] = []
    secret_items: list[dict[str, Any]] = []
    mounts: list[dict[str, Any]] = []
    for i, file in enumerate(host.files):
        path = f"{where}.files[{i}]"
        if file.mode > MAX_FILE_MODE:
            raise ConnectorRefusal(
                f"{path}.mode: {oct(file.mode)} cannot be set on Kubernetes (file modes are 0000-0777: no "
                "setuid, setgid or sticky bit)"
            )
        key = f"file-{i}"
        content = filler.plain(file.content, f"{path}.content")
        secret = file.secret or filler.names_secret(file.content)
        (secret_files if secret else plain_files)[key] = content
        (secret_items if secret else plain_items).append({"key": key, "path": key, "mode": file.mode})
        volume = SECRET_FILES_VOLUME if secret else FILES_VOLUME
        mounts.append({"name": volume, "mountPath": file.path, "subPath": key, "readOnly": True})

    objects: list[dict[str, Any]] = []
    volumes: list[dict[str, Any]] = []
    if env_secret:
        objects.append(
            _object(
                "Secret", name=env_secret_name(host.name), namespace=namespace, labels=labels, data=env_secret
            )
        )
    if plain_files:
        name = files_config_map_name(host.name)
        objects.append(_object("ConfigMap", name=name, namespace=namespace, labels=labels, data=plain_files))
        volumes.append({"name": FILES_VOLUME, "configMap": {"name": name, "items": plain_items}})
    if secret_files:
        name = files_secret_name(host.name)
        objects.append(_object("Secret", name=name, namespace=namespace, labels=labels, data=secret_files))
        volumes.append({"name": SECRET_FILES_VOLUME, "secret": {"secretName": name, "items": secret_items}})

    digest = hashlib.sha256(
        json.dumps([o.get("data") for o in objects], sort_keys=True).encode()
    ).hexdigest()[:16]
    return Injection(
        env=secret_refs + env,
        command=command,
        args=args,
        volumes=volumes,
        mounts=mounts,
        objects=objects,
        digest=digest,
    )
