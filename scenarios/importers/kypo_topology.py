"""A KYPO / CyberRangeCZ `topology.yml` -> the spec of a Federange scenario (segments, hosts, flows, groups).

What KYPO means, and what it becomes (the KYPO documentation and its topology-definition parser):

- networks -> segments. `accessible_by_user` (default true) says whether the trainee reaches the hosts on
  it: hosts there become entry points. `hidden` (network or host) only hides a node from KYPO's topology
  view; the node is deployed and reachable like any other.
- routers join networks (router_mappings), and every router is attached to the WAN: routers are how hosts
  reach the internet *and hosts in networks behind other routers*. So every network attached to some
  router reaches every other such network (a flow both ways, every port); a network no router joins
  reaches nothing beyond itself. The routers themselves are not deployed.
- the WAN (default `wan`, 100.100.100.0/24) gives hosts behind a router internet access unless they say
  `block_internet`; it becomes controlled egress (ports 80, 443).
- hosts -> hosts through the image and flavor tables (kypo_hosts); groups -> groups.
- `base_box.man_user` / `mng_protocol` are the older names of `mgmt_user` / `mgmt_protocol`.

Everything else is in the report, by its path in the source.
"""

from __future__ import annotations

from typing import Any

from scenarios.importers.kypo_hosts import convert_host
from scenarios.importers.names import Namer, dns_label
from scenarios.importers.report import ImportReport
from scenarios.importers.shapes import at, describe, flag, mapping, refuse_at, sequence, text
from scenarios.importers.tables import Tables

TOPOLOGY_KEYS = {"name", "hosts", "routers", "wan", "networks", "net_mappings", "router_mappings", "groups"}
NETWORK_KEYS = {"name", "cidr", "accessible_by_user", "hidden"}
ROUTER_KEYS = {"name", "base_box", "flavor", "extra", "hidden"}

#: Keys of the KYPO topology format that Federange understands but cannot provide.
UNSUPPORTED = {
    "monitoring_targets": "KYPO's monitoring of hosts and services has no Federange equivalent",
    "vpn": "KYPO's VPN access (Netbird entrypoints, routes, DNS) is not supported: teams reach the entry "
    "hosts through the range's own access",
    "network_forwarding": "KYPO's traffic mirroring between hosts is not supported",
}
#: Keys that mean nothing once deployed elsewhere.
IRRELEVANT = {"provider": "KYPO's cloud provider (OpenStack) does not apply: ranges deploy the scenario"}


class Topology:
    """The conversion of one topology document; `hosts`, `segments` and `hosts_out` are read afterwards
    by the optional parts (containers.yml, provisioning)."""

    def __init__(self, data: dict[str, Any], *, report: ImportReport, tables: Tables) -> None:
        self.data = data
        self.report = report
        self.tables = tables
        self.segments = Namer(report, kind="segment")
        self.hosts = Namer(report, kind="host")
        self.hosts_out: list[dict[str, Any]] = []
        self.segments_out: list[dict[str, Any]] = []
        self.host_segments: dict[str, list[str]] = {}
        self.accessible: dict[str, bool] = {}
        self.routed: set[str] = set()  # segments attached to some router (hence to the WAN)
        self.router_names: set[str] = set()
        self.segment_paths: dict[str, str] = {}  # segment -> its network's path in the source
        self._unconnected = ""

    def build(self) -> dict[str, Any]:
        for key in sorted(set(self.data) - TOPOLOGY_KEYS):
            self._other_key(key, self.data[key])
        self._networks()
        self._memberships()
        self._routers()
        hosts = sequence(self.data["hosts"], "hosts")
        if not hosts:
            raise refuse_at("hosts", "a topology without hosts has nothing to deploy")
        for name in sorted(self.router_names):
            self.hosts.reserve(dns_label(name))
        for path, item in hosts:
            self.hosts_out.append(convert_host(path, mapping(item, path), topology=self))
        self._wan()
        return {"segments": self.segments_out, "hosts": self.hosts_out, "groups": self._groups()}

    def finish(self, spec: dict[str, Any]) -> dict[str, Any]:
        """Drop segments no host ended up on, add the routed flows, and `requires: [vm]` when needed."""
        used = {s for h in self.hosts_out for s in h["segments"]}
        for segment in list(self.segments_out):
            if segment["name"] not in used:
                self.segments_out.remove(segment)
                self.report.dropped(
                    self.segment_paths.get(segment["name"], "networks"),
                    segment["name"],
                    "no host is on this network; not imported",
                )
        routed = [s["name"] for s in self.segments_out if s["name"] in self.routed]
        spec["flows"] = [
            {"from": {"segment": a}, "to": {"segment": b}, "description": "routed by KYPO routers (WAN)"}
            for a in routed
            for b in routed
            if a != b
        ]
        if len(routed) > 1:
            self.report.approximated(
                "routers",
                ", ".join(sorted(self.router_names)),
                "networks behind routers reach each other through the WAN: flows between "
                f"{', '.join(routed)} (both ways, every port); the routers themselves are not deployed",
            )
        if any(h.get("needs_vm") for h in self.hosts_out):
            spec["requires"] = ["vm"]
        return spec

    def _other_key(self, key: str, value: Any) -> None:
        if key in UNSUPPORTED:
            self.report.unsupported(key, _summary(value), UNSUPPORTED[key])
        elif key in IRRELEVANT:
            self.report.dropped(key, _summary(value), IRRELEVANT[key])
        else:
            self.report.dropped(key, "", "not a key of the KYPO topology format; not imported")

    def _networks(self) -> None:
        for path, item in sequence(self.data["networks"], "networks"):
            net = mapping(item, path)
            source_name = text(net.get("name"), at(path, "name"))
            name = self.segments.name(source_name, path=at(path, "name"))
            accessible = flag(net.get("accessible_by_user"), at(path, "accessible_by_user"), default=True)
            self.accessible[name] = accessible
            segment: dict[str, Any] = {"name": name, "description": f"KYPO network {source_name}"}
            if net.get("cidr") is not None:
                cidr = text(net["cidr"], at(path, "cidr"))
                segment["description"] += f" ({cidr})"
                self.report.approximated(
                    at(path, "cidr"), cidr, "addresses are assigned by the range; the CIDR is not kept"
                )
            if not accessible:
                segment["description"] += ", not accessible by the user"
                self.report.approximated(
                    at(path, "accessible_by_user"),
                    "false",
                    f"hosts only on '{name}' are not entry points; the team reaches them through other hosts",
                )
            if flag(net.get("hidden"), at(path, "hidden"), default=False):
                self.report.approximated(
                    at(path, "hidden"),
                    "true",
                    "KYPO only hides the network from its topology view; it is deployed like any other",
                )
            for key in sorted(set(net) - NETWORK_KEYS):
                self.report.dropped(at(path, key), _summary(net[key]), "not a key of KYPO networks")
            self.segments_out.append(segment)
            self.segment_paths[name] = path

    def _memberships(self) -> None:
        for path, item in sequence(self.data["net_mappings"], "net_mappings"):
            entry = mapping(item, path)
            host = text(entry.get("host"), at(path, "host"))
            network = text(entry.get("network"), at(path, "network"))
            segment = self.segments.by_source.get(network)
            if segment is None:
                self.report.dropped(path, f"{host} -> {network}", "unknown network; membership not imported")
                continue
            self.host_segments.setdefault(host, [])
            if segment not in self.host_segments[host]:
                self.host_segments[host].append(segment)
            if entry.get("ip") is not None:
                self.report.approximated(
                    at(path, "ip"),
                    text(entry["ip"], at(path, "ip")),
                    f"host '{host}' gets its address from the range",
                )

    def _routers(self) -> None:
        routers = sequence(self.data.get("routers"), "routers")
        for path, item in routers:
            router = mapping(item, path)
            self.router_names.add(text(router.get("name"), at(path, "name")))
        joined: dict[str, list[str]] = {}
        for path, item in sequence(self.data.get("router_mappings"), "router_mappings"):
            entry = mapping(item, path)
            router_name = text(entry.get("router"), at(path, "router"))
            network = text(entry.get("network"), at(path, "network"))
            segment = self.segments.by_source.get(network)
            if router_name not in self.router_names:
                self.report.dropped(path, f"{router_name} -> {network}", "no such router; not imported")
            elif segment is None:
                self.report.dropped(path, f"{router_name} -> {network}", "unknown network; not imported")
            else:
                joined.setdefault(router_name, []).append(segment)
                self.routed.add(segment)
        for path, item in routers:
            router = mapping(item, path)
            name = text(router.get("name"), at(path, "name"))
            nets = list(dict.fromkeys(joined.get(name, [])))
            joins = f"it joins {', '.join(nets)}" if nets else "it joins no network"
            self.report.approximated(
                path,
                name,
                f"routers are not deployed ({joins}): routing becomes segment flows; its base box and "
                "flavor are dropped",
            )
            for key in sorted(set(router) - ROUTER_KEYS):
                self.report.dropped(at(path, key), _summary(router[key]), "not a key of KYPO routers")

    def _wan(self) -> None:
        wan = self.data.get("wan")
        name = "wan (KYPO's default)"
        if wan is not None:
            if isinstance(wan, dict):
                name = text(wan.get("name"), "wan.name", default="wan")
            else:
                raise refuse_at("wan", f"expected a mapping (name, cidr), found {describe(wan)}")
        if any("egress" in h for h in self.hosts_out):
            self.report.approximated(
                "wan",
                name,
                "the WAN is not deployed; hosts behind a router without block_internet get controlled "
                "egress to ports 80 and 443",
            )

    def _groups(self) -> list[dict[str, Any]]:
        groups: list[dict[str, Any]] = []
        names = Namer(self.report, kind="group")
        for host in self.hosts_out:
            names.reserve(host["name"])
        for path, item in sequence(self.data.get("groups"), "groups"):
            group = mapping(item, path)
            source_name = text(group.get("name"), at(path, "name"))
            name = names.name(source_name, path=at(path, "name"))
            members: list[str] = []
            for node_path, node in sequence(group.get("nodes"), at(path, "nodes")):
                node_name = text(node, node_path)
                if node_name in self.hosts.by_source:
                    if self.hosts.by_source[node_name] not in members:
                        members.append(self.hosts.by_source[node_name])
                elif node_name in self.router_names:
                    self.report.dropped(node_path, node_name, "a router, not deployed; left out of the group")
                else:
                    self.report.dropped(node_path, node_name, "no such host; left out of the group")
            groups.append({"name": name, "hosts": members, "description": f"KYPO group {source_name}"})
        return groups

    def unconnected(self) -> str:
        """The segment of hosts without any network (KYPO would refuse them; Federange needs one)."""
        if not self._unconnected:
            self._unconnected = self.segments.name("unconnected", path="net_mappings")
            self.segments_out.append(
                {"name": self._unconnected, "description": "hosts without a KYPO network"}
            )
        return self._unconnected


def _summary(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(sorted(map(str, value)))
    if isinstance(value, list):
        return f"{len(value)} entries"
    return "" if value is None else str(value)
