"""KYPO / CyberRangeCZ sandbox definitions (`topology.yml`, optional `containers.yml` and `variables.yml`)
-> a Federange scenario.

How the parts map (everything else is listed in the report, by its path in the source file):

- networks -> segments; net_mappings -> the segments of each host (IP addresses are not kept);
- routers (+ router_mappings) -> flows in both directions, every port, between each pair of networks a
  router joins; the router itself is not deployed; the WAN becomes per-host controlled egress (80/443) for
  hosts without `block_internet`;
- hosts -> hosts: `base_box.image` through the image map (no container image -> `needs_vm`), `flavor`
  through the flavor table; a host is an entry point when it is not hidden and sits on a network that is
  accessible by the user;
- groups -> groups (router members are left out, reported);
- containers.yml -> one host per container mapping, on the segments of the KYPO host it ran in;
- variables.yml -> per-instance variables (KYPO's automatic problem generation).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from scenarios.importers.kypo_extras import import_containers, import_variables
from scenarios.importers.lookalike import read_document, refuse
from scenarios.importers.names import Namer, dns_label
from scenarios.importers.report import Imported, ImportRefused, ImportReport
from scenarios.importers.tables import Tables, choose_image, load_tables
from scenarios.importers.validated import validated

TOPOLOGY_KEYS = {"name", "hosts", "routers", "wan", "networks", "net_mappings", "router_mappings", "groups"}
HOST_KEYS = {"name", "base_box", "flavor", "hidden", "volumes", "extra", "block_internet"}
BASE_BOX_KEYS = {"image", "mgmt_user", "mgmt_protocol"}
NETWORK_KEYS = {"name", "cidr", "accessible_by_user"}


def import_kypo(
    topology: Path,
    *,
    containers: Path | None = None,
    variables: Path | None = None,
    tables: Tables | None = None,
    version: str = "1.0.0",
) -> Imported:
    """Import a KYPO sandbox definition; raises ImportRefused when `topology` is not a KYPO topology."""
    data = read_document(topology)
    missing = [
        k
        for k in ("name", "hosts", "networks", "net_mappings")
        if not isinstance(data, dict) or k not in data
    ]
    if missing:
        raise refuse("a KYPO/CyberRangeCZ topology", missing, data, source=str(topology))
    for key in ("hosts", "networks", "net_mappings"):
        if not isinstance(data[key], list):
            raise ImportRefused(f"not a KYPO topology: '{key}' must be a list", source=str(topology))
    report = ImportReport(source=str(topology))
    builder = _Topology(data, report=report, tables=tables or load_tables())
    spec = builder.build()
    files: dict[str, str] = {}
    if containers is not None:
        import_containers(read_document(containers), builder, source=str(containers), report=report)
    if variables is not None:
        spec["variables"] = import_variables(read_document(variables), source=str(variables), report=report)
    name = dns_label(str(data["name"]), fallback="kypo")
    document = {
        "apiVersion": "federange/v1",
        "kind": "Scenario",
        "metadata": {
            "name": name,
            "version": version,
            "title": str(data["name"]),
            "description": f"Imported from the KYPO/CyberRangeCZ topology {topology.name}.",
            "tags": ["imported", "kypo"],
            "annotations": {"federange.eu/imported-from": f"kypo:{topology.name}"},
        },
        "spec": spec,
    }
    return Imported(scenario=validated(document, source=str(topology)), files=files, report=report)


class _Topology:
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
        self.router_names: set[str] = set()
        #: host name -> whether its image serves SSH itself (from the image map)
        self.serves_ssh: dict[str, bool] = {}

    def build(self) -> dict[str, Any]:
        for key in sorted(set(self.data) - TOPOLOGY_KEYS):
            self._unknown(key, self.data[key])
        self._networks()
        self._memberships()
        flows = self._routers()
        self._wan()
        self._hosts()
        spec: dict[str, Any] = {
            "segments": self.segments_out,
            "hosts": self.hosts_out,
            "flows": flows,
            "groups": self._groups(),
        }
        if any(h.get("needs_vm") for h in self.hosts_out):
            spec["requires"] = ["vm"]
        return spec

    def _unknown(self, path: str, value: Any) -> None:
        if path == "monitoring_targets":
            count = (
                len(value)
                if isinstance(value, list)
                else sum(len(v or []) for v in dict(value or {}).values())
            )
            self.report.dropped(
                path, "", f"KYPO monitoring targets ({count} groups) have no Federange equivalent"
            )
        else:
            self.report.dropped(path, "", "not a KYPO topology key Federange knows; not imported")

    def _networks(self) -> None:
        for i, net in enumerate(self.data["networks"]):
            path = f"networks[{i}]"
            name = self.segments.name(str(net.get("name", f"network-{i}")), path=f"{path}.name")
            accessible = bool(net.get("accessible_by_user", True))
            self.accessible[name] = accessible
            segment: dict[str, Any] = {"name": name, "description": f"KYPO network {net.get('name')}"}
            if "cidr" in net:
                segment["description"] += f" ({net['cidr']})"
                self.report.approximated(
                    f"{path}.cidr",
                    str(net["cidr"]),
                    "addresses are assigned by the range; the CIDR is not kept",
                )
            if not accessible:
                segment["description"] += ", not accessible by the user"
                self.report.approximated(
                    f"{path}.accessible_by_user",
                    "false",
                    f"hosts only on '{name}' are not entry points; the team reaches them through other hosts",
                )
            for key in sorted(set(net) - NETWORK_KEYS):
                self.report.dropped(f"{path}.{key}", str(net[key]), "not a KYPO network key Federange knows")
            self.segments_out.append(segment)

    def _memberships(self) -> None:
        for i, mapping in enumerate(self.data["net_mappings"]):
            path = f"net_mappings[{i}]"
            host, network = str(mapping.get("host", "")), str(mapping.get("network", ""))
            segment = self.segments.by_source.get(network)
            if segment is None:
                self.report.dropped(path, f"{host} -> {network}", "unknown network; membership not imported")
                continue
            self.host_segments.setdefault(host, []).append(segment)
            if "ip" in mapping:
                self.report.approximated(
                    f"{path}.ip", str(mapping["ip"]), f"host '{host}' gets its address from the range"
                )

    def _routers(self) -> list[dict[str, Any]]:
        joined: dict[str, list[str]] = {}
        for i, mapping in enumerate(self.data.get("router_mappings") or []):
            router, network = str(mapping.get("router", "")), str(mapping.get("network", ""))
            segment = self.segments.by_source.get(network)
            if segment is None:
                self.report.dropped(f"router_mappings[{i}]", f"{router} -> {network}", "unknown network")
                continue
            joined.setdefault(router, []).append(segment)
        flows: list[dict[str, Any]] = []
        seen: set[tuple[str, str]] = set()
        for i, router in enumerate(self.data.get("routers") or []):
            name = str(router.get("name", f"router-{i}"))
            self.router_names.add(name)
            nets = list(dict.fromkeys(joined.get(name, [])))
            pairs = [(a, b) for a in nets for b in nets if a != b]
            for a, b in pairs:
                if (a, b) not in seen:
                    seen.add((a, b))
                    flows.append(
                        {"from": {"segment": a}, "to": {"segment": b}, "description": f"routed by {name}"}
                    )
            if len(nets) > 1:
                joins = f"{' <-> '.join(nets)}, every port"
            else:
                joins = f"it joins only {nets[0]}: no flow needed" if nets else "it joins no network"
            self.report.approximated(
                f"routers[{i}]",
                name,
                f"routers become segment flows ({joins}); the router itself is not deployed "
                "(its base box and flavor are dropped)",
            )
        return flows

    def _wan(self) -> None:
        wan = self.data.get("wan")
        if wan:
            self.report.approximated(
                "wan",
                str(wan.get("name", "")) if isinstance(wan, dict) else str(wan),
                "the WAN is not deployed; hosts without block_internet get controlled egress to ports "
                "80 and 443",
            )

    def _hosts(self) -> None:
        for name in sorted({str(r.get("name")) for r in self.data.get("routers") or []}):
            self.hosts.reserve(dns_label(name))
        for i, kypo in enumerate(self.data["hosts"]):
            self.hosts_out.append(self._host(i, kypo))

    def _host(self, i: int, kypo: dict[str, Any]) -> dict[str, Any]:
        path = f"hosts[{i}]"
        source_name = str(kypo.get("name", f"host-{i}"))
        name = self.hosts.name(source_name, path=f"{path}.name")
        segments = list(dict.fromkeys(self.host_segments.get(source_name, [])))
        if not segments:
            segments = [self._unconnected()]
            self.report.approximated(path, source_name, "no net_mapping: placed on segment 'unconnected'")
        host: dict[str, Any] = {"name": name, "segments": segments, "description": f"KYPO host {source_name}"}
        box = kypo.get("base_box") or {}
        self._image(path, host, box)
        self._flavor(path, host, str(kypo.get("flavor", "")))
        hidden = bool(kypo.get("hidden", False))
        if hidden:
            self.report.approximated(
                f"{path}.hidden", "true", "hidden hosts are not entry points of the team"
            )
        if not hidden and any(self.accessible.get(s, False) for s in segments):
            self._entry(path, host, box)
        if self.data.get("wan") and not kypo.get("block_internet", False):
            host["egress"] = {"cidrs": ["0.0.0.0/0"], "ports": [{"port": 80}, {"port": 443}]}
        for key in ("volumes", "extra"):
            if kypo.get(key):
                what = (
                    ", ".join(sorted(map(str, kypo[key])))
                    if isinstance(kypo[key], dict)
                    else f"{len(kypo[key])}"
                )
                self.report.dropped(
                    f"{path}.{key}", what, f"KYPO host '{key}' is not expressible; not imported"
                )
        for key in sorted(set(kypo) - HOST_KEYS):
            self.report.dropped(f"{path}.{key}", str(kypo[key]), "not a KYPO host key Federange knows")
        for key in sorted(set(box) - BASE_BOX_KEYS):
            self.report.dropped(
                f"{path}.base_box.{key}", str(box[key]), "not a KYPO base_box key; not imported"
            )
        for key in ("mgmt_user", "mgmt_protocol"):
            if key in box:
                self.report.dropped(
                    f"{path}.base_box.{key}", str(box[key]), "management access is the connector's job"
                )
        return host

    def _unconnected(self) -> str:
        if not any(s["name"] == "unconnected" for s in self.segments_out):
            self.segments.reserve("unconnected")
            self.segments_out.append({"name": "unconnected", "description": "hosts without a KYPO network"})
        return "unconnected"

    def _image(self, path: str, host: dict[str, Any], box: dict[str, Any]) -> None:
        image = str(box.get("image", ""))
        choice = choose_image(self.tables, image) if image else None
        if choice is None or choice.entry.needs_vm:
            host["image"] = image or "unknown-base-box"
            host["needs_vm"] = True
            why = "no entry in the image map" if choice is None else choice.how
            self.report.approximated(
                f"{path}.base_box.image", image, f"no container image ({why}); host marked needs_vm"
            )
            return
        host["image"] = choice.entry.image
        if choice.entry.command:
            host["command"] = list(choice.entry.command)
        self.report.approximated(
            f"{path}.base_box.image",
            image,
            f"VM base box replaced by container image {choice.entry.image} ({choice.how})",
        )
        self.serves_ssh[host["name"]] = choice.entry.ssh

    def _flavor(self, path: str, host: dict[str, Any], flavor: str) -> None:
        resources = self.tables.flavors.get(flavor)
        if resources is None:
            resources = self.tables.flavors[self.tables.default_flavor]
            self.report.approximated(
                f"{path}.flavor", flavor, f"unknown flavor: resources of '{self.tables.default_flavor}' used"
            )
        host["resources"] = resources.model_dump(exclude_defaults=True)

    def _entry(self, path: str, host: dict[str, Any], box: dict[str, Any]) -> None:
        windows = box.get("mgmt_protocol") == "winrm"
        port = 3389 if windows else 22
        host["entry"] = True
        host["ports"] = [{"port": port, "name": "rdp" if windows else "ssh"}]
        ssh = self.serves_ssh.get(host["name"], False)
        how = "RDP" if windows else "SSH"
        if host.get("needs_vm") or ssh:
            self.report.approximated(
                path, host["name"], f"entry point: the team reaches it over {how} (port {port})"
            )
        else:
            self.report.approximated(
                path,
                host["name"],
                f"entry point on port {port}, but image {host['image']} runs no SSH server: map its base "
                "box to an image that serves SSH (--image-map) to give the team a way in",
            )

    def _groups(self) -> list[dict[str, Any]]:
        groups: list[dict[str, Any]] = []
        names = Namer(self.report, kind="group")
        for host in self.hosts_out:
            names.reserve(host["name"])
        for i, group in enumerate(self.data.get("groups") or []):
            path = f"groups[{i}]"
            name = names.name(str(group.get("name", f"group-{i}")), path=f"{path}.name")
            members: list[str] = []
            for n, node in enumerate(group.get("nodes") or []):
                if node in self.hosts.by_source:
                    members.append(self.hosts.by_source[node])
                elif node in self.router_names:
                    self.report.dropped(
                        f"{path}.nodes[{n}]", str(node), "a router, not deployed; left out of the group"
                    )
                else:
                    self.report.dropped(
                        f"{path}.nodes[{n}]", str(node), "no such host; left out of the group"
                    )
            groups.append({"name": name, "hosts": members, "description": f"KYPO group {group.get('name')}"})
        return groups
