"""NetworkPolicies that make an instance an island, with exactly the scenario's declared doors.

The policy set of one instance namespace (NetworkPolicies are additive: traffic passes when any policy
selecting the pod for that direction allows it, and a pod selected by none is open, so the first policy
selects every pod in both directions and allows nothing):

- `default-deny`: every pod, ingress and egress, no rule.
- `allow-dns`: every pod may send UDP/TCP 53 to the cluster DNS pods (`k8s-app: kube-dns` in
  `kube-system`; configurable) - the only peer outside the namespace any rule names by selector.
- `segment-<s>`: pods on segment `s` reach each other on every port (both directions).
- `flow-<n>-<from>-to-<to>-in` / `-out`: one declared flow - ingress on the destination pods (segment,
  narrowed to hosts when listed) from the source pods, on the flow's ports, and the matching egress on the
  source pods. Replies are implied (policies are stateful).
- `egress-<host>`: only hosts that declare `egress` reach the internet, only the declared CIDRs and
  ports, and never the cluster's own address ranges (`cluster_cidrs` are carved out with `except`, so an
  egress rule can never be used to reach another instance's pods).
- `entry-<host>`: entry hosts accept their declared ports from `entry_cidrs` (minus `cluster_cidrs`),
  which is how a team's traffic arrives through the entry Service (NodePort or LoadBalancer with
  `externalTrafficPolicy: Local`, so the client's source address is preserved and matched here).

No rule selects pods of another namespace, so nothing passes between instances.
"""

from __future__ import annotations

import enum
import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from connectors.base import LABEL_HOST, ConnectorRefusal, InstanceSpec
from connectors.kubernetes.naming import policy_name, segment_label
from scenarios.model import FlowEndpoint, Host, Port

#: Address ranges no instance may reach by IP: private, shared (CGNAT), link-local and loopback ranges,
#: where clusters put their pod, service and node networks.
PRIVATE_CIDRS: tuple[str, ...] = (
    "10.0.0.0/8",
    "100.64.0.0/10",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "::1/128",
    "fc00::/7",
    "fe80::/10",
)


class AccessMode(enum.StrEnum):
    """How a team reaches its entry hosts from outside the cluster."""

    NODE_PORT = "NodePort"
    LOAD_BALANCER = "LoadBalancer"
    NONE = "None"  # no outside access: teams come in through something else (a VPN pod, a jump host)


def _networks(cidrs: Sequence[str], *, field_name: str) -> tuple[str, ...]:
    out = []
    for i, cidr in enumerate(cidrs):
        try:
            out.append(str(ipaddress.ip_network(cidr, strict=False)))
        except ValueError as exc:
            raise ValueError(f"{field_name}[{i}]: '{cidr}' is not a CIDR ({exc})") from exc
    return tuple(out)


@dataclass(frozen=True, kw_only=True)
class NetworkOptions:
    """Per-range network settings (from the connector config)."""

    access: AccessMode = AccessMode.NODE_PORT
    entry_cidrs: tuple[str, ...] = ("0.0.0.0/0",)
    cluster_cidrs: tuple[str, ...] = PRIVATE_CIDRS
    dns_namespace: str = "kube-system"
    dns_pod_labels: Mapping[str, str] = field(default_factory=lambda: {"k8s-app": "kube-dns"})

    def __post_init__(self) -> None:
        entry = _networks(self.entry_cidrs, field_name="entry_cidrs")
        cluster = _networks(self.cluster_cidrs, field_name="cluster_cidrs")
        object.__setattr__(self, "entry_cidrs", entry)
        object.__setattr__(self, "cluster_cidrs", cluster)
        for i, cidr in enumerate(entry):
            inside = inside_of(cidr, cluster)
            if inside is not None:
                raise ValueError(
                    f"entry_cidrs[{i}]: {cidr} lies inside cluster_cidrs range {inside}: teams there could "
                    "not be told apart from other instances' pods (narrow cluster_cidrs to the cluster's "
                    "real pod and service ranges)"
                )


def inside_of(cidr: str, ranges: Sequence[str]) -> str | None:
    """The range of `ranges` that contains `cidr` (or equals it), if any."""
    net = ipaddress.ip_network(cidr)
    for candidate in ranges:
        outer = ipaddress.ip_network(candidate)
        if outer.version == net.version and net.subnet_of(outer):  # type: ignore[arg-type]
            return candidate
    return None


def ip_block(cidr: str, *, excluded: Sequence[str]) -> dict[str, Any]:
    """An ipBlock for `cidr` without the `excluded` ranges it contains (`cidr` must not lie inside one)."""
    net = ipaddress.ip_network(cidr, strict=False)
    carved = sorted(
        {
            str(ipaddress.ip_network(b))
            for b in excluded
            if ipaddress.ip_network(b).version == net.version and ipaddress.ip_network(b).subnet_of(net)  # type: ignore[arg-type]
        }
    )
    block: dict[str, Any] = {"cidr": str(net)}
    if carved:
        block["except"] = carved
    return block


def _ports(ports: Sequence[Port]) -> list[dict[str, Any]]:
    return [{"protocol": p.protocol.value, "port": p.port} for p in ports]


def _selector(endpoint: FlowEndpoint) -> dict[str, Any]:
    selector: dict[str, Any] = {"matchLabels": {segment_label(endpoint.segment): "true"}}
    if endpoint.hosts:
        selector["matchExpressions"] = [
            {"key": LABEL_HOST, "operator": "In", "values": sorted(set(endpoint.hosts))}
        ]
    return selector


def _host_selector(host: Host) -> dict[str, Any]:
    return {"matchLabels": {LABEL_HOST: host.name}}


def _policy(
    instance: InstanceSpec, *, namespace: str, name: str, spec: dict[str, Any], role: str
) -> dict[str, Any]:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {**instance.labels(), "federange.eu/policy-role": role},
        },
        "spec": spec,
    }


def _egress_blocks(host: Host, index: int, options: NetworkOptions) -> list[dict[str, Any]]:
    assert host.egress is not None
    blocks = []
    for c, cidr in enumerate(host.egress.cidrs):
        where = f"spec.hosts[{index}].egress.cidrs[{c}]"
        try:
            net = str(ipaddress.ip_network(cidr, strict=False))
        except ValueError as exc:
            raise ConnectorRefusal(f"{where}: '{cidr}' is not a CIDR ({exc})") from exc
        inside = inside_of(net, options.cluster_cidrs)
        if inside is not None:
            raise ConnectorRefusal(
                f"{where}: egress to {net} is refused: it lies inside the cluster's address range {inside}, "
                "where other instances run"
            )
        blocks.append({"ipBlock": ip_block(net, excluded=options.cluster_cidrs)})
    return blocks


def network_policies(
    instance: InstanceSpec, *, namespace: str, options: NetworkOptions
) -> list[dict[str, Any]]:
    spec = instance.scenario.spec
    policies = [
        _policy(
            instance,
            namespace=namespace,
            name="default-deny",
            role="default-deny",
            spec={"podSelector": {}, "policyTypes": ["Ingress", "Egress"]},
        ),
        _policy(
            instance,
            namespace=namespace,
            name="allow-dns",
            role="dns",
            spec={
                "podSelector": {},
                "policyTypes": ["Egress"],
                "egress": [
                    {
                        "to": [
                            {
                                "namespaceSelector": {
                                    "matchLabels": {"kubernetes.io/metadata.name": options.dns_namespace}
                                },
                                "podSelector": {"matchLabels": dict(options.dns_pod_labels)},
                            }
                        ],
                        "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
                    }
                ],
            },
        ),
    ]
    for segment in spec.segments:
        members = {"podSelector": {"matchLabels": {segment_label(segment.name): "true"}}}
        policies.append(
            _policy(
                instance,
                namespace=namespace,
                name=policy_name("segment", segment.name),
                role="segment",
                spec={
                    **members,
                    "policyTypes": ["Ingress", "Egress"],
                    "ingress": [{"from": [members]}],
                    "egress": [{"to": [members]}],
                },
            )
        )
    for n, flow in enumerate(spec.flows):
        base = ("flow", str(n), flow.from_.segment, "to", flow.to.segment)
        ports = {"ports": _ports(flow.ports)} if flow.ports else {}
        policies.append(
            _policy(
                instance,
                namespace=namespace,
                name=policy_name(*base, "in"),
                role="flow",
                spec={
                    "podSelector": _selector(flow.to),
                    "policyTypes": ["Ingress"],
                    "ingress": [{"from": [{"podSelector": _selector(flow.from_)}], **ports}],
                },
            )
        )
        policies.append(
            _policy(
                instance,
                namespace=namespace,
                name=policy_name(*base, "out"),
                role="flow",
                spec={
                    "podSelector": _selector(flow.from_),
                    "policyTypes": ["Egress"],
                    "egress": [{"to": [{"podSelector": _selector(flow.to)}], **ports}],
                },
            )
        )
    for index, host in enumerate(spec.hosts):
        if host.egress is not None:
            ports = {"ports": _ports(host.egress.ports)} if host.egress.ports else {}
            policies.append(
                _policy(
                    instance,
                    namespace=namespace,
                    name=policy_name("egress", host.name),
                    role="egress",
                    spec={
                        "podSelector": _host_selector(host),
                        "policyTypes": ["Egress"],
                        "egress": [{"to": _egress_blocks(host, index, options), **ports}],
                    },
                )
            )
        if host.entry and host.ports and options.access is not AccessMode.NONE:
            sources = [
                {"ipBlock": ip_block(cidr, excluded=options.cluster_cidrs)} for cidr in options.entry_cidrs
            ]
            policies.append(
                _policy(
                    instance,
                    namespace=namespace,
                    name=policy_name("entry", host.name),
                    role="entry",
                    spec={
                        "podSelector": _host_selector(host),
                        "policyTypes": ["Ingress"],
                        "ingress": [{"from": sources, "ports": _ports(host.ports)}],
                    },
                )
            )
    return policies
