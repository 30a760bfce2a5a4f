"""An ApiClient of the official `kubernetes` client for one range, from its settings.

Each connector builds its own `Configuration` and `ApiClient`: the client library's process-wide default
configuration is never read or written, so ranges with different clusters and credentials can be driven
from one process at once. urllib3's own retries are switched off: retrying (with backoff, honouring
Retry-After, never on validation errors) is done in one place, `connectors.kubernetes.apiserver`.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

import yaml
from kubernetes import client, config

from connectors.base import ConnectorError
from connectors.kubernetes.config import Auth, KubernetesConfig


def _pem(ca_data: str) -> str:
    """`ca_data` as PEM text: given as PEM, or as base64 of PEM (like `certificate-authority-data`)."""
    if "-----BEGIN" in ca_data:
        return ca_data
    try:
        decoded = base64.b64decode(ca_data, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise ConnectorError("ca_data: neither PEM nor base64-encoded PEM") from exc
    if "-----BEGIN" not in decoded:
        raise ConnectorError("ca_data: the base64 text does not hold a PEM certificate")
    return decoded


def configuration(auth: Auth) -> client.Configuration:
    cfg = client.Configuration()
    if auth.kubeconfig:
        try:
            document = yaml.safe_load(auth.kubeconfig)
        except yaml.YAMLError as exc:
            raise ConnectorError(f"kubeconfig: not valid YAML ({exc})") from exc
        if not isinstance(document, dict):
            raise ConnectorError("kubeconfig: expected a kubeconfig document (a YAML mapping)")
        try:
            config.load_kube_config_from_dict(  # type: ignore[no-untyped-call]
                document,
                context=auth.context or None,
                client_configuration=cfg,
                persist_config=False,
            )
        except config.ConfigException as exc:
            raise ConnectorError(f"kubeconfig: {exc}") from exc
    elif auth.in_cluster:
        try:
            config.load_incluster_config(client_configuration=cfg)  # type: ignore[no-untyped-call]
        except config.ConfigException as exc:
            raise ConnectorError(f"in_cluster: not running in a Kubernetes pod ({exc})") from exc
    else:
        cfg.host = auth.server.rstrip("/")
        if auth.token:
            cfg.api_key = {"BearerToken": f"Bearer {auth.token}"}
        if auth.insecure_skip_tls_verify:
            cfg.verify_ssl = False
        elif auth.ca_data:
            cfg.ca_cert_data = _pem(auth.ca_data)
    return cfg


def api_client(settings: KubernetesConfig) -> client.ApiClient:
    cfg = configuration(settings.auth)
    cfg.retries = False
    # Enough pooled connections for every parallel deploy plus the readiness watches beside them.
    cfg.connection_pool_maxsize = max(4, 2 * settings.max_parallel + 2)
    api = client.ApiClient(configuration=cfg)
    api.user_agent = "federange-connector/kubernetes"
    return api


def kubeconfig_text(settings: KubernetesConfig) -> str:
    """A kubeconfig for tools run on the instance (Ansible's kubectl connection): the range's own
    kubeconfig, or one built from server/token/CA; empty for in-cluster auth (kubectl finds it itself)."""
    auth = settings.auth
    if auth.kubeconfig:
        return auth.kubeconfig
    if auth.in_cluster:
        return ""
    cluster: dict[str, Any] = {"server": auth.server}
    if auth.insecure_skip_tls_verify:
        cluster["insecure-skip-tls-verify"] = True
    elif auth.ca_data:
        cluster["certificate-authority-data"] = base64.b64encode(_pem(auth.ca_data).encode()).decode()
    user: dict[str, Any] = {"token": auth.token} if auth.token else {}
    document = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "range", "cluster": cluster}],
        "users": [{"name": "federange", "user": user}],
        "contexts": [{"name": "range", "context": {"cluster": "range", "user": "federange"}}],
        "current-context": "range",
    }
    return yaml.safe_dump(document, sort_keys=False)
