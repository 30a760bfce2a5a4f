"""A NetworkPolicy evaluator: can traffic go from A to B on port P, under a set of NetworkPolicies?

The semantics of networking.k8s.io/v1 (https://kubernetes.io/docs/concepts/services-networking/network-policies/):
- A pod is isolated for a direction only when some policy in its namespace selects it (podSelector) and
  has that direction in its policyTypes. A non-isolated pod allows everything in that direction.
- policyTypes defaults to ["Ingress"], plus "Egress" when the policy has an `egress` section.
- Policies are additive: traffic an isolated pod sends (receives) passes when any selecting policy has an
  egress (ingress) rule whose peers include the other end and whose ports include the port.
- A rule without `to`/`from` (or with an empty list) matches every peer; without `ports` every port.
- Peers: `podSelector` alone selects pods in the policy's namespace; `namespaceSelector` alone all pods of
  the matching namespaces; both together, matching pods in matching namespaces; `ipBlock` addresses in
  `cidr` but not in `except` - applied to pod addresses too, as most CNIs do.
- Ports: protocol defaults to TCP; a missing port means every port of that protocol; `endPort` makes a
  range; a named port is resolved against the destination pod's container ports.
- A connection passes only when the sender's egress and the receiver's ingress both allow it. Addresses
  outside the cluster are not governed by policies (only the pod end is).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tests.support.kube_api.selectors import match_label_selector


@dataclass(frozen=True)
class Pod:
    namespace: str
    name: str
    labels: Mapping[str, str]
    ip: str
    #: named container ports: name -> (port, protocol)
    ports: Mapping[str, tuple[int, str]] = field(default_factory=dict)


@dataclass(frozen=True)
class External:
    """An address outside the cluster (a team's laptop, an internet server)."""

    ip: str


Peer = Pod | External


def _policy_types(spec: Mapping[str, Any]) -> list[str]:
    if "policyTypes" in spec:
        return list(spec["policyTypes"])
    return ["Ingress", "Egress"] if "egress" in spec else ["Ingress"]


def _in_block(ip: str, block: Mapping[str, Any]) -> bool:
    address = ipaddress.ip_address(ip)
    cidr = ipaddress.ip_network(block["cidr"], strict=False)
    if address.version != cidr.version or address not in cidr:
        return False
    return not any(address in ipaddress.ip_network(e, strict=False) for e in block.get("except") or [])


class Network:
    def __init__(
        self,
        *,
        namespaces: Mapping[str, Mapping[str, str]],
        pods: Iterable[Pod],
        policies: Sequence[Mapping[str, Any]],
    ) -> None:
        self.namespaces = namespaces
        self.pods = list(pods)
        self.policies = [p for p in policies if p.get("kind") == "NetworkPolicy"]

    def _selecting(self, pod: Pod, direction: str) -> list[Mapping[str, Any]]:
        return [
            p
            for p in self.policies
            if p["metadata"]["namespace"] == pod.namespace
            and direction in _policy_types(p["spec"])
            and match_label_selector(p["spec"].get("podSelector") or {}, pod.labels)
        ]

    def _peer_matches(self, peer: Mapping[str, Any], policy_namespace: str, other: Peer) -> bool:
        if "ipBlock" in peer:
            return _in_block(other.ip, peer["ipBlock"])
        if "podSelector" not in peer and "namespaceSelector" not in peer:
            raise ValueError(f"a NetworkPolicy peer needs podSelector, namespaceSelector or ipBlock: {peer}")
        if not isinstance(other, Pod):
            return False
        if "namespaceSelector" in peer:
            namespace_labels = self.namespaces.get(other.namespace, {})
            if not match_label_selector(peer["namespaceSelector"], namespace_labels):
                return False
        elif other.namespace != policy_namespace:
            return False
        return match_label_selector(peer.get("podSelector") or {}, other.labels)

    @staticmethod
    def _port_matches(
        rule_ports: Sequence[Mapping[str, Any]] | None, port: int, protocol: str, dst: Peer
    ) -> bool:
        if not rule_ports:
            return True
        for entry in rule_ports:
            if entry.get("protocol", "TCP") != protocol:
                continue
            wanted = entry.get("port")
            if wanted is None:
                return True
            if isinstance(wanted, str):
                if isinstance(dst, Pod) and dst.ports.get(wanted) == (port, protocol):
                    return True
                continue
            if wanted <= port <= int(entry.get("endPort", wanted)):
                return True
        return False

    def _direction_allows(
        self, pod: Pod, direction: str, other: Peer, port: int, protocol: str, dst: Peer
    ) -> bool:
        selecting = self._selecting(pod, direction)
        if not selecting:
            return True
        rules_key, peers_key = ("egress", "to") if direction == "Egress" else ("ingress", "from")
        for policy in selecting:
            for rule in policy["spec"].get(rules_key) or []:
                peers = rule.get(peers_key) or []
                if peers and not any(self._peer_matches(p, pod.namespace, other) for p in peers):
                    continue
                if self._port_matches(rule.get("ports"), port, protocol, dst):
                    return True
        return False

    def allowed(self, src: Peer, dst: Peer, port: int, protocol: str = "TCP") -> bool:
        """Whether a connection from `src` to `dst` on `port`/`protocol` passes every policy."""
        if isinstance(src, Pod) and not self._direction_allows(src, "Egress", dst, port, protocol, dst):
            return False
        return not (
            isinstance(dst, Pod) and not self._direction_allows(dst, "Ingress", src, port, protocol, dst)
        )


def pods_of(objects: Sequence[Mapping[str, Any]], *, subnet: str) -> list[Pod]:
    """The pods the Deployments in `objects` run (one each), with addresses taken in order from `subnet`."""
    hosts = ipaddress.ip_network(subnet).hosts()
    out = []
    for obj in objects:
        if obj.get("kind") != "Deployment":
            continue
        template = obj["spec"]["template"]
        ports = {
            p["name"]: (p["containerPort"], p.get("protocol", "TCP"))
            for c in template["spec"]["containers"]
            for p in c.get("ports") or []
            if p.get("name")
        }
        out.append(
            Pod(
                namespace=obj["metadata"]["namespace"],
                name=obj["metadata"]["name"],
                labels=dict(template["metadata"]["labels"]),
                ip=str(next(hosts)),
                ports=ports,
            )
        )
    return out
