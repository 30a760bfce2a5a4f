"""The Kubernetes connector's config schema (`KubernetesConfig`), read once from a range's connector config.

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

    qps [300], burst [600]           client-side rate limit over all calls of this connector (qps 0: none)
    max_parallel [16]                instances deployed (and namespaces deleted) at once, pooled connections
    The defaults beat `kubectl apply --server-side` of the same manifests (bench/deploy_kubernetes.py);
    the API server's Priority and Fairness still has the last word (429 + Retry-After, honoured).
    connect_timeout [10], request_timeout [30]   seconds per HTTP call
    retry_attempts [5], retry_initial [0.2], retry_max [5]   retries on 429/5xx/connection errors
    teardown_timeout [300]           seconds to wait for an instance namespace to disappear
    watch_window [10]                longest single watch call while waiting for readiness
    slots [0]                        instance slots the range offers (reported by probe; 0: unknown)

Images scenarios build themselves (see connectors.kubernetes.images):

    registry: registry.example:5000  where nodes pull them from (`http://` prefix: no TLS); optional

Every problem is named by its field's path (ConfigInvalid).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Annotated, Any

import yaml
from pydantic import AfterValidator, Field, field_validator

from connectors.base import ConfigProblem
from connectors.kubernetes.network import PRIVATE_CIDRS, AccessMode, NetworkOptions, inside_of
from connectors.kubernetes.security import PodSecurityLevel
from connectors.schema import ConfigModel, Secret, parse

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


def _cidr(text: str) -> str:
    try:
        return str(ipaddress.ip_network(text, strict=False))
    except ValueError as exc:
        raise ValueError(f"'{text}' is not a CIDR ({exc})") from None


def _kubeconfig_text(value: Any) -> Any:
    """A kubeconfig arrives as YAML text; an already parsed mapping is accepted too (kept as text)."""
    return yaml.safe_dump(dict(value)) if isinstance(value, Mapping) else value


Cidr = Annotated[str, AfterValidator(_cidr)]
Flag = Annotated[bool, Field(strict=True)]


class KubernetesConfig(ConfigModel):
    kubeconfig: Annotated[str, Secret()] = ""
    context: str = ""
    server: str = ""
    token: Annotated[str, Secret()] = ""
    ca_data: str = ""
    insecure_skip_tls_verify: Flag = False
    in_cluster: Flag = False
    namespace_prefix: str = "fr"
    pod_security: PodSecurityLevel = PodSecurityLevel.BASELINE
    access: AccessMode = AccessMode.NODE_PORT
    access_address: str = ""
    entry_cidrs: tuple[Cidr, ...] = ("0.0.0.0/0",)
    cluster_cidrs: tuple[Cidr, ...] = PRIVATE_CIDRS
    qps: float = Field(default=300.0, ge=0)
    burst: int = Field(default=600, ge=1)
    max_parallel: int = Field(default=16, ge=1)
    connect_timeout: float = Field(default=10.0, ge=0.1)
    request_timeout: float = Field(default=30.0, ge=0.1)
    retry_attempts: int = Field(default=5, ge=1)
    retry_initial: float = Field(default=0.2, ge=0)
    retry_max: float = Field(default=5.0, ge=0)
    teardown_timeout: float = Field(default=300.0, ge=0.1)
    watch_window: float = Field(default=10.0, ge=0.1)
    slots: int = Field(default=0, ge=0)
    #: Where nodes pull the images scenarios build themselves (`http://` prefix: no TLS); optional.
    registry: str = ""

    _kubeconfig = field_validator("kubeconfig", mode="before")(_kubeconfig_text)

    @field_validator("registry")
    @classmethod
    def _registry(cls, registry: str) -> str:
        registry = registry.strip().rstrip("/")
        address = registry.removeprefix("http://").removeprefix("https://")
        if registry and (not address or any(c.isspace() for c in address) or "://" in address):
            raise ValueError(f"expected host[:port][/path], optionally after http://, got {registry!r}")
        return registry

    @field_validator("namespace_prefix")
    @classmethod
    def _prefix(cls, prefix: str) -> str:
        if prefix and (
            len(prefix) > 20 or not prefix.replace("-", "a").isalnum() or prefix != prefix.lower()
        ):
            raise ValueError(f"'{prefix}' must be at most 20 lower-case letters, digits or '-'")
        return prefix

    def problems(self) -> list[ConfigProblem]:
        found = []
        modes = [
            m
            for m, on in (
                ("kubeconfig", bool(self.kubeconfig)),
                ("server", bool(self.server)),
                ("in_cluster", self.in_cluster),
            )
            if on
        ]
        if len(modes) != 1:
            found.append(
                ConfigProblem(
                    path=("kubeconfig",),
                    reason="give exactly one way to reach the cluster - kubeconfig, server (+ token, "
                    f"ca_data) or in_cluster: true (found: {', '.join(modes) if modes else 'none'})",
                )
            )
        if self.server and not self.server.startswith(("https://", "http://")):
            found.append(ConfigProblem(path=("server",), reason="expected an https:// URL of the API server"))
        elif self.server.startswith("https://") and not (self.ca_data or self.insecure_skip_tls_verify):
            found.append(
                ConfigProblem(
                    path=("ca_data",),
                    reason="an https server needs the cluster's CA certificate (PEM), or "
                    "insecure_skip_tls_verify: true",
                )
            )
        for index, cidr in enumerate(self.entry_cidrs):
            inside = inside_of(cidr, self.cluster_cidrs)
            if inside is not None:
                found.append(
                    ConfigProblem(
                        path=("entry_cidrs", index),
                        reason=f"{cidr} lies inside cluster_cidrs range {inside}: teams there could not be "
                        "told apart from other instances' pods (narrow cluster_cidrs to the cluster's real "
                        "pod and service ranges)",
                    )
                )
        return found

    @property
    def field_manager(self) -> str:
        return FIELD_MANAGER

    @cached_property
    def auth(self) -> Auth:
        return Auth(
            kubeconfig=self.kubeconfig,
            context=self.context,
            server=self.server,
            token=self.token,
            ca_data=self.ca_data,
            insecure_skip_tls_verify=self.insecure_skip_tls_verify,
            in_cluster=self.in_cluster,
        )

    @cached_property
    def network(self) -> NetworkOptions:
        return NetworkOptions(
            access=self.access, entry_cidrs=self.entry_cidrs, cluster_cidrs=self.cluster_cidrs
        )


def parse_config(config: Mapping[str, Any] | None) -> KubernetesConfig:
    """The config from a range's connector config mapping; raises ConfigInvalid naming every bad field."""
    return parse(KubernetesConfig, config, kind="kubernetes")
