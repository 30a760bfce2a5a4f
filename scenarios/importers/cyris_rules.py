"""CyRIS `forwarding_rules` -> Federange flows, read the way CyRIS reads them.

A rule such as `src=office dst=servers.webserver dport=25,53` sits on a guest that forwards traffic (a
firewall). CyRIS resolves each comma-separated element of `src` and `dst` to addresses: a bare name is
every member of that network, `network.guest` is that guest's address on that network. It then writes
one iptables rule per rule, always with `-p tcp` (plus `--sport`/`--dport`, `-m multiport` for lists):
a forwarding rule opens TCP only.

So each (source element, destination element) pair becomes a flow from the source network (narrowed to
the guest's clones when one is named) to the destination network (likewise), on the `dport` ports, TCP.
A rule without `dport` opens every TCP port in CyRIS; Federange flows cannot say "every TCP port", so the
flow opens every port and the report says so. Unknown networks or guests drop the rule, reported.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from scenarios.importers.report import ImportReport

#: Ports a `a:b` range in dport may expand to (iptables multiport ranges); wider ranges are refused.
MAX_RANGE = 64


@dataclass(frozen=True)
class Networks:
    """What the rules resolve against: CyRIS network name -> segment, and segment -> guest -> clones."""

    segments: dict[str, str]
    members: dict[str, dict[str, list[str]]]


def rule_flows(
    path: str,
    guest: str,
    rule: str,
    *,
    networks: Networks,
    report: ImportReport,
) -> list[dict[str, Any]]:
    """The flows of one forwarding rule (none, and a report line, when it cannot be resolved)."""
    fields: dict[str, str] = {}
    for token in rule.split():
        key, sep, value = token.partition("=")
        if not sep or key not in ("src", "dst", "sport", "dport"):
            report.dropped(
                path, token, "not a part of CyRIS forwarding rules (src=, dst=, sport=, dport=); ignored"
            )
            continue
        fields[key] = value
    if not fields.get("src") or not fields.get("dst"):
        report.dropped(path, rule, "needs src= and dst=; not imported")
        return []
    problems: list[str] = []
    sources = [_endpoint(e, networks, problems.append) for e in fields["src"].split(",") if e]
    targets = [_endpoint(e, networks, problems.append) for e in fields["dst"].split(",") if e]
    ports = _ports(fields.get("dport", ""), problems.append)
    if problems:
        report.dropped(path, rule, "; ".join(problems) + "; not imported")
        return []
    flows: list[dict[str, Any]] = []
    for src in sources:
        for dst in targets:
            if src is None or dst is None:
                continue
            if src["segment"] == dst["segment"]:
                report.approximated(
                    path,
                    rule,
                    f"'{src['segment']}' to itself needs no flow: hosts on a segment reach each other",
                )
                continue
            flow: dict[str, Any] = {
                "from": src,
                "to": dst,
                "description": f"CyRIS forwarding rule on {guest}: {rule}"[:500],
            }
            if ports:
                flow["ports"] = [{"port": p, "protocol": "TCP"} for p in ports]
            flows.append(flow)
    if flows:
        scope = (
            f"TCP ports {', '.join(map(str, ports))}"
            if ports
            else "every port (CyRIS opens every TCP port; Federange flows cannot narrow to TCP alone)"
        )
        report.approximated(
            path,
            rule,
            f"becomes flows {', '.join(_side(f['from']) + ' -> ' + _side(f['to']) for f in flows)} "
            f"on {scope}, "
            f"as the iptables rules CyRIS writes (-p tcp); traffic no longer passes through '{guest}'",
        )
    if fields.get("sport"):
        report.dropped(f"{path}.sport", fields["sport"], "flows restrict destination ports only")
    return flows


def _endpoint(element: str, networks: Networks, problem: Callable[[str], None]) -> dict[str, Any] | None:
    network, _, guest = element.partition(".")
    segment = networks.segments.get(network)
    if segment is None:
        problem(f"'{network}' is not a network of the topology")
        return None
    if not guest:
        return {"segment": segment}
    clones = networks.members.get(segment, {}).get(guest)
    if not clones:
        problem(f"'{guest}' is not a guest on network '{network}'")
        return None
    return {"segment": segment, "hosts": list(clones)}


def _ports(text: str, problem: Callable[[str], None]) -> list[int]:
    ports: list[int] = []
    for part in (p for p in text.split(",") if p):
        low, sep, high = part.partition(":")
        if not low.isdigit() or (sep and not high.isdigit()):
            problem(f"dport '{part}' is not a port or a range a:b")
            continue
        first, last = int(low), int(high) if sep else int(low)
        if not 1 <= first <= last <= 65535:
            problem(f"dport '{part}' is not within 1..65535")
        elif last - first >= MAX_RANGE:
            problem(f"dport range '{part}' is wider than {MAX_RANGE} ports")
        else:
            ports += [p for p in range(first, last + 1) if p not in ports]
    return ports


def _side(endpoint: dict[str, Any]) -> str:
    hosts = endpoint.get("hosts")
    return f"{endpoint['segment']} ({', '.join(hosts)})" if hosts else str(endpoint["segment"])
