"""The NetworkPolicy evaluator itself, on hand-written cases with known answers from the Kubernetes docs."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.netpol import External, Network, Pod

NAMESPACES = {
    "shop": {"kubernetes.io/metadata.name": "shop", "team": "a"},
    "other": {"kubernetes.io/metadata.name": "other", "team": "b"},
}
WEB = Pod("shop", "web", {"app": "web", "tier": "front"}, "10.1.0.1", {"http": (8080, "TCP")})
DB = Pod("shop", "db", {"app": "db", "tier": "back"}, "10.1.0.2", {"pg": (5432, "TCP")})
SPY = Pod("other", "spy", {"app": "web"}, "10.2.0.1")
INTERNET = External("203.0.113.7")


def policy(name: str, spec: dict[str, Any], namespace: str = "shop") -> dict[str, Any]:
    return {"kind": "NetworkPolicy", "metadata": {"name": name, "namespace": namespace}, "spec": spec}


def network(*policies: dict[str, Any]) -> Network:
    return Network(namespaces=NAMESPACES, pods=[WEB, DB, SPY], policies=list(policies))


def test_without_policies_everything_is_allowed() -> None:
    net = network()
    assert net.allowed(WEB, DB, 5432)
    assert net.allowed(SPY, DB, 1)
    assert net.allowed(INTERNET, WEB, 22, "UDP")


def test_a_policy_isolates_only_the_pods_it_selects_and_only_for_its_types() -> None:
    deny_db_ingress = policy(
        "deny-db", {"podSelector": {"matchLabels": {"app": "db"}}, "policyTypes": ["Ingress"]}
    )
    net = network(deny_db_ingress)
    assert not net.allowed(WEB, DB, 5432)
    assert net.allowed(DB, WEB, 8080)  # db's egress is not isolated, web's ingress neither
    assert net.allowed(SPY, WEB, 8080)


def test_policy_types_default_to_ingress_plus_egress_when_an_egress_section_exists() -> None:
    ingress_only = policy("a", {"podSelector": {}})
    assert not network(ingress_only).allowed(WEB, DB, 5432)
    assert network(ingress_only).allowed(WEB, INTERNET, 443)  # egress not isolated
    with_egress = policy("b", {"podSelector": {}, "egress": []})
    assert not network(with_egress).allowed(WEB, INTERNET, 443)


def test_policies_are_additive_and_ports_and_protocols_must_match() -> None:
    deny = policy("deny", {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]})
    allow = policy(
        "web-to-db",
        {
            "podSelector": {"matchLabels": {"app": "db"}},
            "policyTypes": ["Ingress"],
            "ingress": [
                {"from": [{"podSelector": {"matchLabels": {"app": "web"}}}], "ports": [{"port": 5432}]}
            ],
        },
    )
    out = policy(
        "web-out",
        {
            "podSelector": {"matchLabels": {"app": "web"}},
            "policyTypes": ["Egress"],
            "egress": [
                {
                    "to": [
                        {
                            "podSelector": {
                                "matchExpressions": [{"key": "tier", "operator": "In", "values": ["back"]}]
                            }
                        }
                    ]
                }
            ],
        },
    )
    assert not network(deny, allow).allowed(WEB, DB, 5432)  # egress of web still denied
    net = network(deny, allow, out)
    assert net.allowed(WEB, DB, 5432)
    assert not net.allowed(WEB, DB, 5433)
    assert not net.allowed(WEB, DB, 5432, "UDP")  # protocol defaults to TCP
    assert not net.allowed(DB, WEB, 8080)  # replies are implied, new connections are not
    assert not net.allowed(SPY, DB, 5432)  # a podSelector peer is in the policy's namespace only


def test_named_ports_resolve_against_the_destination_pod_and_end_port_makes_a_range() -> None:
    named = policy(
        "named",
        {
            "podSelector": {},
            "policyTypes": ["Ingress"],
            "ingress": [{"ports": [{"port": "pg"}, {"port": 9000, "endPort": 9010}]}],
        },
    )
    net = network(named)
    assert net.allowed(WEB, DB, 5432)
    assert not net.allowed(DB, WEB, 5432)  # web has no port named pg
    assert net.allowed(DB, WEB, 9005)
    assert not net.allowed(DB, WEB, 9011)


def test_namespace_selectors_alone_and_combined_with_pod_selectors() -> None:
    from_team_b = policy(
        "from-b",
        {"podSelector": {}, "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"team": "b"}}}]}]},
    )
    assert network(from_team_b).allowed(SPY, WEB, 8080)
    assert not network(from_team_b).allowed(DB, WEB, 8080)
    combined = policy(
        "combined",
        {
            "podSelector": {},
            "ingress": [
                {
                    "from": [
                        {
                            "namespaceSelector": {"matchLabels": {"team": "b"}},
                            "podSelector": {"matchLabels": {"app": "db"}},
                        }
                    ]
                }
            ],
        },
    )
    assert not network(combined).allowed(SPY, WEB, 8080)  # spy is in team b but is not app=db
    two_peers = policy(
        "either",
        {
            "podSelector": {},
            "ingress": [
                {
                    "from": [
                        {"namespaceSelector": {"matchLabels": {"team": "b"}}},
                        {"podSelector": {"matchLabels": {"app": "db"}}},
                    ]
                }
            ],
        },
    )
    assert network(two_peers).allowed(SPY, WEB, 8080)
    assert network(two_peers).allowed(DB, WEB, 8080)


def test_ip_blocks_with_except_apply_to_external_and_pod_addresses() -> None:
    egress = policy(
        "out",
        {
            "podSelector": {"matchLabels": {"app": "web"}},
            "policyTypes": ["Egress"],
            "egress": [
                {
                    "to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["10.0.0.0/8"]}}],
                    "ports": [{"port": 443}],
                }
            ],
        },
    )
    net = network(egress)
    assert net.allowed(WEB, INTERNET, 443)
    assert not net.allowed(WEB, INTERNET, 80)
    assert not net.allowed(WEB, DB, 443)  # 10.1.0.2 is carved out
    assert not net.allowed(WEB, External("10.9.9.9"), 443)


def test_rules_without_peers_or_ports_match_everything() -> None:
    open_ingress = policy("open", {"podSelector": {}, "policyTypes": ["Ingress"], "ingress": [{}]})
    net = network(open_ingress)
    assert net.allowed(SPY, DB, 1)
    assert net.allowed(INTERNET, DB, 65535, "UDP")
    assert not network(policy("none", {"podSelector": {}, "ingress": []})).allowed(SPY, DB, 1)


def test_a_peer_without_any_selector_is_an_error() -> None:
    broken = policy("broken", {"podSelector": {}, "ingress": [{"from": [{}]}]})
    with pytest.raises(ValueError, match="needs podSelector, namespaceSelector or ipBlock"):
        network(broken).allowed(WEB, DB, 1)
