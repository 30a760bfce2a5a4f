"""The connector config: exactly one way in, every bad field named."""

from __future__ import annotations

import re
from typing import Any

import pytest

from connectors.base import ConfigInvalid
from connectors.kubernetes.auth import configuration, kubeconfig_text
from connectors.kubernetes.config import parse_config
from connectors.kubernetes.network import AccessMode
from connectors.kubernetes.security import PodSecurityLevel

CA = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"


def test_defaults_for_a_token_config() -> None:
    settings = parse_config({"server": "https://k8s.example:6443", "token": "t0k", "ca_data": CA})
    assert settings.namespace_prefix == "fr"
    assert settings.pod_security is PodSecurityLevel.BASELINE
    assert settings.network.access is AccessMode.NODE_PORT
    assert (settings.qps, settings.burst, settings.max_parallel) == (300.0, 600, 16)
    assert "t0k" not in repr(settings) and "t0k" not in str(settings)  # credentials never reach logs


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({}, "kubeconfig: give exactly one way to reach the cluster"),
        ({"server": "https://a", "in_cluster": True}, "found: server, in_cluster"),
        ({"server": "ftp://a"}, "server: expected an https:// URL"),
        ({"server": "https://a", "token": "x"}, "ca_data: an https server needs the cluster's CA"),
        ({"in_cluster": "yes"}, "in_cluster: Input should be a valid boolean"),
        (
            {"in_cluster": True, "access": "Ingress"},
            "access: Input should be 'NodePort', 'LoadBalancer' or 'None'",
        ),
        ({"in_cluster": True, "pod_security": "strict"}, "pod_security: Input should be 'privileged'"),
        ({"in_cluster": True, "qps": "fast"}, "qps: Input should be a valid number"),
        ({"in_cluster": True, "burst": 0}, "burst: Input should be greater than or equal to 1"),
        ({"in_cluster": True, "max_parallel": 2.5}, "max_parallel: Input should be a valid integer"),
        ({"in_cluster": True, "namespace_prefix": "Team_"}, "namespace_prefix: 'Team_' must be"),
        ({"in_cluster": True, "cluster_cidrs": "10.0.0.0/8"}, "cluster_cidrs: Input should be a valid tuple"),
        ({"in_cluster": True, "entry_cidrs": ["nope"]}, "entry_cidrs[0]: 'nope' is not a CIDR"),
        ({"in_cluster": True, "entry_cidrs": ["10.1.0.0/16"]}, "entry_cidrs[0]: 10.1.0.0/16 lies inside"),
        ({"in_cluster": True, "namespace": "x"}, "namespace: unknown key (known: access, access_address"),
    ],
)
def test_bad_configs_name_the_field(config: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigInvalid, match=re.escape(message)):
        parse_config(config)


def test_a_token_config_builds_its_own_client_configuration() -> None:
    settings = parse_config({"server": "https://k8s.example:6443/", "token": "t0k", "ca_data": CA})
    cfg = configuration(settings.auth)
    assert cfg.host == "https://k8s.example:6443"
    assert cfg.auth_settings()["BearerToken"]["value"] == "Bearer t0k"
    assert cfg.ca_cert_data == CA
    insecure = configuration(parse_config({"server": "https://a", "insecure_skip_tls_verify": True}).auth)
    assert insecure.verify_ssl is False


def test_kubeconfigs_are_read_from_text_and_their_context_chosen() -> None:
    kubeconfig = """
apiVersion: v1
kind: Config
clusters:
- {name: one, cluster: {server: "http://one.example:8080"}}
- {name: two, cluster: {server: "http://two.example:8080"}}
users: [{name: u, user: {token: abc}}]
contexts:
- {name: first, context: {cluster: one, user: u}}
- {name: second, context: {cluster: two, user: u}}
current-context: first
"""
    assert configuration(parse_config({"kubeconfig": kubeconfig}).auth).host == "http://one.example:8080"
    chosen = configuration(parse_config({"kubeconfig": kubeconfig, "context": "second"}).auth)
    assert chosen.host == "http://two.example:8080"
    assert chosen.auth_settings()["BearerToken"]["value"] == "Bearer abc"
    assert kubeconfig_text(parse_config({"kubeconfig": kubeconfig})) == kubeconfig


def test_a_kubeconfig_for_tools_is_built_from_server_token_and_ca() -> None:
    import base64

    import yaml

    text = kubeconfig_text(parse_config({"server": "https://k8s.example", "token": "t0k", "ca_data": CA}))
    document = yaml.safe_load(text)
    cluster = document["clusters"][0]["cluster"]
    assert cluster["server"] == "https://k8s.example"
    assert base64.b64decode(cluster["certificate-authority-data"]).decode() == CA
    assert document["users"][0]["user"] == {"token": "t0k"}
    assert kubeconfig_text(parse_config({"in_cluster": True})) == ""
