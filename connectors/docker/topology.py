"""How a scenario's segments and flows become Docker networks (pure: a plan, no engine calls).

Isolation model and why:

- every segment is its own bridge network, `internal` (no route out of it, no NAT): hosts on a segment
  reach each other by host name (a network alias), nothing else;
- a host that declares egress, or is an entry point, gets one more bridge of its own (the "edge"),
  non-internal: Docker publishes ports only on non-internal networks, and egress needs a route out.
  The edge carries NAT (masquerade) only when the host declares egress. A per-host edge, rather than
  turning the whole segment non-internal, keeps the hosts without egress on that segment without a
  route out, and gives the host no new neighbour (it is alone on its edge, inter-container traffic off);
- a cross-segment flow becomes an internal network joining the flow's source hosts and destination
  hosts (all hosts of a side unless the flow narrows it to some). Narrowing to hosts is honoured; the
  flow's ports and direction are not (see `limitations`);
- instances never share a network, and Docker drops traffic between different bridges, so a team's
  hosts cannot reach another team's hosts by name or address.
"""

from __future__ import annotations

from dataclasses import dataclass

from connectors.docker import naming
from scenarios.model import Scenario

ROLE_SEGMENT = "segment"
ROLE_EDGE = "edge"
ROLE_FLOW = "flow"


@dataclass(frozen=True, kw_only=True)
class NetworkPlan:
    """One network of an instance and the hosts attached to it."""

    name: str
    role: str
    internal: bool
    masquerade: bool
    segment: str = ""
    members: tuple[str, ...] = ()


def _side_hosts(scenario: Scenario, segment: str, hosts: list[str]) -> set[str]:
    if hosts:
        return set(hosts)
    return {h.name for h in scenario.spec.hosts if segment in h.segments}


def plan_networks(instance_id: str, scenario: Scenario) -> list[NetworkPlan]:
    """Every network of the instance, in creation order: segments, edges, flows.

    Hosts that run in the range host's network namespace (an allowed `host_network`) join none.
    """
    attachable = [h for h in scenario.spec.hosts if not h.security.host_network]
    plans: list[NetworkPlan] = []
    for segment in scenario.spec.segments:
        members = tuple(h.name for h in attachable if segment.name in h.segments)
        plans.append(
            NetworkPlan(
                name=naming.segment_network(instance_id, segment.name),
                role=ROLE_SEGMENT,
                internal=True,
                masquerade=False,
                segment=segment.name,
                members=members,
            )
        )
    for host in attachable:
        if host.entry or host.egress is not None:
            plans.append(
                NetworkPlan(
                    name=naming.edge_network(instance_id, host.name),
                    role=ROLE_EDGE,
                    internal=False,
                    masquerade=host.egress is not None,
                    members=(host.name,),
                )
            )
    names = {h.name for h in attachable}
    for index, flow in enumerate(scenario.spec.flows):
        sources = _side_hosts(scenario, flow.from_.segment, flow.from_.hosts) & names
        targets = _side_hosts(scenario, flow.to.segment, flow.to.hosts) & names
        if not sources or not targets or sources == targets:
            continue
        plans.append(
            NetworkPlan(
                name=naming.flow_network(instance_id, index),
                role=ROLE_FLOW,
                internal=True,
                masquerade=False,
                segment=f"{flow.from_.segment}->{flow.to.segment}",
                members=tuple(sorted(sources | targets)),
            )
        )
    return plans


def networks_of(plans: list[NetworkPlan], host: str) -> list[NetworkPlan]:
    """The networks one host joins (edge last: the engine routes out through a non-internal network)."""
    own = [p for p in plans if host in p.members]
    return sorted(own, key=lambda p: p.role == ROLE_EDGE)


def limitations(scenario: Scenario) -> list[str]:
    """Where this range enforces less than the scenario declares (Docker has no per-port policy between
    networks, and filtering needs NET_ADMIN on the engine host). Shown to operators, never hidden."""
    notes: list[str] = []
    for index, flow in enumerate(scenario.spec.flows):
        where = f"flow {index} ({flow.from_.segment} -> {flow.to.segment})"
        ports = ", ".join(f"{p.port}/{p.protocol.value}" for p in flow.ports)
        limited = f"limited to {ports} in the scenario" if ports else "all ports"
        notes.append(
            f"{where}: the joined hosts reach each other on every port in both directions ({limited}); "
            "Docker cannot filter ports or direction between networks"
        )
    for host in scenario.spec.hosts:
        if host.egress is not None:
            notes.append(
                f"host {host.name}: egress leaves through NAT to any destination; "
                "the declared cidrs and ports are not enforced"
            )
        elif host.entry:
            notes.append(
                f"host {host.name}: its edge network (for the published entry ports) has no NAT, so its "
                "packets cannot get answers from beyond the range host, but they are not dropped either"
            )
        for volume in host.volumes:
            if volume.host_path is None:
                notes.append(
                    f"host {host.name} volume {volume.name}: size_mib ({volume.size_mib}) is not enforced "
                    "by Docker's local volume driver"
                )
    return notes
