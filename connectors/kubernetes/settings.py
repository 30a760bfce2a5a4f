"""The Kubernetes connector's configuration, read once from the range's connector config.

Authentication, exactly one of:

    kubeconfig: <YAML text>          a kubeconfig (secret field); `context` picks one of its contexts
    server: https://host:6443        the API server, with `token` (secret field, a bearer token) and
                                     `ca_data` (PEM) or `insecure_skip_tls_verify: true`
    in_cluster: true                 the service account of the pod Federange runs in

Rendering and access:

    namespace_prefix: fr             instance namespaces are `<prefix>-<instance id>`
    pod_security: baseline           the Pod Security level the range requires at least (or restricted)
    access: NodePort                 how teams reach entry hosts: NodePort, LoadBalancer or None
    access_address: range.example    the address teams use for NodePorts (default: the pod's node IP)
    entry_cidrs: [0.0.0.0/0]         where teams connect from
    cluster_cidrs: [...]             the cluster's pod/service/node ranges (default: all private ranges)

Behaviour (all bounded; defaults in brackets):

    qps [20], burst [40]             client-side rate limit over all calls of this connector (qps 0: none)
    max_parallel [8]                 instances deployed at once by `deploy_many`
    connect_timeout [10], request_timeout [30]   seconds per HTTP call
    retry_attempts [5], retry_initial [0.2], retry_max [5]   retries on 429/5xx/connection errors
    teardown_timeout [300]           seconds to wait for an instance namespace to disappear
    watch_window [10]                longest single watch call while waiting for readiness
    slots [0]                        instance slots the range offers (reported by probe; 0: unknown)

Images scenarios build themselves (see connectors.kubernetes.images):

    registry: registry.example:5000  where nodes pull them from (`http://` prefix: no TLS); optional

Every problem is a ValueError naming the field.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from connectors.kubernetes.network import PRIVATE_CIDRS, AccessMode, NetworkOptions
from connectors.kubernetes.security import PodSecurityLevel

FIELD_MANAGER = "federange"


@dataclass(frozen=True, kw_only=True)
class Auth:
    kubeconfig: str = ""
    context: str = ""
    server: str = ""
    token: str = ""
    ca_data: str = ""
    insecure_skip_tls_verify: bool = False
    in_cluster: bool = False

    def __repr__(self) -> str:  # never show credentials in logs or tracebacks
        mode = (
            "kubeconfig" if self.kubeconfig else "in-cluster" if self.in_cluster else f"server={self.server}"
        )
        return f"Auth({mode})"


@dataclass(frozen=True, kw_only=True)
class KubernetesSettings:
    auth: Auth
    namespace_prefix: str = "fr"
    pod_security: PodSecurityLevel = PodSecurityLevel.BASELINE
    network: NetworkOptions = field(default_factory=NetworkOptions)
    access_address: str = ""
    qps: float = 20.0
    burst: int = 40
    max_parallel: int = 8
    connect_timeout: float = 10.0
    request_timeout: float = 30.0
    retry_attempts: int = 5
    retry_initial: float = 0.2
    retry_max: float = 5.0
    teardown_timeout: float = 300.0
    watch_window: float = 10.0
    slots: int = 0
    registry: str = ""
    field_manager: str = FIELD_MANAGER


def _number(config: Mapping[str, Any], name: str, default: float, *, minimum: float) -> float:
    value = config.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"{name}: expected a number, got {value!r}")
    try:
        number = float(value)
    except ValueError as exc:
        raise ValueError(f"{name}: expected a number, got {value!r}") from exc
    if number < minimum:
        raise ValueError(f"{name}: must be at least {minimum:g}, got {number:g}")
    return number


def _integer(config: Mapping[str, Any], name: str, default: int, *, minimum: int) -> int:
    number = _number(config, name, default, minimum=minimum)
    if number != int(number):
        raise ValueError(f"{name}: expected a whole number, got {number:g}")
    return int(number)


def _text(config: Mapping[str, Any], name: str, default: str = "") -> str:
    value = config.get(name, default)
    if value is None:
        return default
    if not isinstance(value, str):
        raise ValueError(f"{name}: expected text, got {type(value).__name__}")
    return value


def _flag(config: Mapping[str, Any], name: str) -> bool:
    value = config.get(name, False)
    if not isinstance(value, bool):
        raise ValueError(f"{name}: expected true or false, got {value!r}")
    return value


def _cidrs(config: Mapping[str, Any], name: str, default: tuple[str, ...]) -> tuple[str, ...]:
    value = config.get(name)
    if value is None:
        return default
    if isinstance(value, str) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{name}: expected a list of CIDRs")
    return tuple(value)


def _auth(config: Mapping[str, Any]) -> Auth:
    kubeconfig = config.get("kubeconfig")
    auth = Auth(
        # A kubeconfig arrives as YAML text (a secret field); an already parsed mapping is accepted too.
        kubeconfig=yaml.safe_dump(dict(kubeconfig))
        if isinstance(kubeconfig, Mapping)
        else _text(config, "kubeconfig"),
        context=_text(config, "context"),
        server=_text(config, "server"),
        token=_text(config, "token"),
        ca_data=_text(config, "ca_data"),
        insecure_skip_tls_verify=_flag(config, "insecure_skip_tls_verify"),
        in_cluster=_flag(config, "in_cluster"),
    )
    modes = [
        m
        for m, on in (
            ("kubeconfig", bool(auth.kubeconfig)),
            ("server", bool(auth.server)),
            ("in_cluster", auth.in_cluster),
        )
        if on
    ]
    if len(modes) != 1:
        found = ", ".join(modes) if modes else "none"
        raise ValueError(
            "kubeconfig: give exactly one way to reach the cluster - kubeconfig, server (+ token, ca_data) "
            f"or in_cluster: true (found: {found})"
        )
    if auth.server:
        if not auth.server.startswith(("https://", "http://")):
            raise ValueError(f"server: expected an https:// URL of the API server, got {auth.server!r}")
        if auth.server.startswith("https://") and not (auth.ca_data or auth.insecure_skip_tls_verify):
            raise ValueError(
                "ca_data: an https server needs the cluster's CA certificate (PEM), or "
                "insecure_skip_tls_verify: true"
            )
    return auth


def parse_settings(config: Mapping[str, Any]) -> KubernetesSettings:
    """The settings from a connector config mapping; raises ValueError naming the first bad field."""
    access_text = _text(config, "access", AccessMode.NODE_PORT.value)
    try:
        access = AccessMode(access_text)
    except ValueError as exc:
        known = ", ".join(m.value for m in AccessMode)
        raise ValueError(f"access: '{access_text}' is not one of {known}") from exc
    level_text = _text(config, "pod_security", PodSecurityLevel.BASELINE.value)
    try:
        level = PodSecurityLevel(level_text)
    except ValueError as exc:
        raise ValueError(f"pod_security: '{level_text}' is not baseline, restricted or privileged") from exc
    network = NetworkOptions(
        access=access,
        entry_cidrs=_cidrs(config, "entry_cidrs", ("0.0.0.0/0",)),
        cluster_cidrs=_cidrs(config, "cluster_cidrs", PRIVATE_CIDRS),
    )
    prefix = _text(config, "namespace_prefix", "fr")
    if prefix and (len(prefix) > 20 or not prefix.replace("-", "a").isalnum() or prefix != prefix.lower()):
        raise ValueError(f"namespace_prefix: '{prefix}' must be at most 20 lower-case letters, digits or '-'")
    return KubernetesSettings(
        auth=_auth(config),
        namespace_prefix=prefix,
        pod_security=level,
        network=network,
        access_address=_text(config, "access_address"),
        qps=_number(config, "qps", 20.0, minimum=0),
        burst=_integer(config, "burst", 40, minimum=1),
        max_parallel=_integer(config, "max_parallel", 8, minimum=1),
        connect_timeout=_number(config, "connect_timeout", 10.0, minimum=0.1),
        request_timeout=_number(config, "request_timeout", 30.0, minimum=0.1),
        retry_attempts=_integer(config, "retry_attempts", 5, minimum=1),
        retry_initial=_number(config, "retry_initial", 0.2, minimum=0),
        retry_max=_number(config, "retry_max", 5.0, minimum=0),
        teardown_timeout=_number(config, "teardown_timeout", 300.0, minimum=0.1),
        watch_window=_number(config, "watch_window", 10.0, minimum=0.1),
        slots=_integer(config, "slots", 0, minimum=0),
        registry=_registry(config),
    )


def _registry(config: Mapping[str, Any]) -> str:
    registry = _text(config, "registry").strip().rstrip("/")
    address = registry.removeprefix("http://").removeprefix("https://")
    if registry and (not address or any(c.isspace() for c in address) or "://" in address):
        raise ValueError(f"registry: expected host[:port][/path], optionally after http://, got {registry!r}")
    return registry
