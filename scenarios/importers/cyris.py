"""CyRIS range descriptions (a YAML list of host_settings, guest_settings, clone_settings) -> a Federange
scenario.

How the parts map (everything else is in the report, by its path in the source):

- guest_settings + clone_settings guests -> hosts (`number` > 1 gives `<guest>-1..n`); KVM base images go
  through the image map (by config file stem, guest id, then basevm_os_type), otherwise `needs_vm`;
- topology networks -> segments; members and gateways -> host segments (interface names are not kept);
- forwarding_rules -> flows (TCP and UDP on the given ports); entry_point -> entry hosts;
- tasks -> a generated provisioning playbook per guest (see cyris_tasks);
- host_settings, range_id and instance_number are reported: Federange places instances on ranges and
  deploys one instance per team.
"""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath
from typing import Any

from scenarios.importers.cyris_tasks import guest_playbook
from scenarios.importers.lookalike import read_document, refuse
from scenarios.importers.names import Namer, dns_label
from scenarios.importers.report import Imported, ImportRefused, ImportReport
from scenarios.importers.tables import Tables, choose_image, load_tables
from scenarios.importers.validated import validated

SECTIONS = ("host_settings", "guest_settings", "clone_settings")


def import_cyris(path: Path, *, tables: Tables | None = None, version: str = "1.0.0") -> Imported:
    """Import a CyRIS description; raises ImportRefused when `path` is not one."""
    data = read_document(path)
    sections = _sections(data, source=str(path))
    report = ImportReport(source=str(path))
    builder = _Range(sections, report=report, tables=tables or load_tables(), source=path.name)
    spec, files = builder.build()
    name = dns_label(path.stem.removesuffix(".yml"), fallback="cyris")
    document = {
        "apiVersion": "federange/v1",
        "kind": "Scenario",
        "metadata": {
            "name": name,
            "version": version,
            "title": f"CyRIS range {builder.range_id or path.stem}",
            "description": f"Imported from the CyRIS range description {path.name}.",
            "tags": ["imported", "cyris"],
            "annotations": {"federange.eu/imported-from": f"cyris:{path.name}"},
        },
        "spec": spec,
    }
    return Imported(scenario=validated(document, source=str(path)), files=files, report=report)


def _sections(data: Any, *, source: str) -> dict[str, tuple[int, Any]]:
    if not isinstance(data, list):
        raise refuse("a CyRIS range description (a YAML list of sections)", [], data, source=source)
    found: dict[str, tuple[int, Any]] = {}
    for i, item in enumerate(data):
        if isinstance(item, dict):
            for key, value in item.items():
                found.setdefault(str(key), (i, value))
    missing = [s for s in ("guest_settings", "clone_settings") if s not in found]
    if missing:
        raise refuse("a CyRIS range description", missing, data, source=source)
    for key in ("guest_settings", "clone_settings"):
        if not isinstance(found[key][1], list) or not found[key][1]:
            raise ImportRefused(
                f"not a CyRIS range description: '{key}' must be a non-empty list", source=source
            )
    return found


def _members(value: Any) -> list[tuple[str, str]]:
    """'desktop.eth0, web.eth1' (or a list) -> [('desktop', 'eth0'), ('web', 'eth1')]."""
    items = value if isinstance(value, list) else re.split(r"[,\s]+", str(value or ""))
    pairs = []
    for item in items:
        text = str(item).strip()
        if text:
            guest, _, interface = text.partition(".")
            pairs.append((guest, interface))
    return pairs


class _Range:
    def __init__(
        self, sections: dict[str, tuple[int, Any]], *, report: ImportReport, tables: Tables, source: str
    ) -> None:
        self.sections = sections
        self.report = report
        self.tables = tables
        self.source = source
        self.range_id = ""
        self.clones: dict[str, list[str]] = {}  # guest id -> host names
        self.entry: set[str] = set()
        self.host_segments: dict[str, list[str]] = {}
        self.flows: list[dict[str, Any]] = []
        self.segments: list[dict[str, Any]] = []
        self.segment_names = Namer(report, kind="segment")

    def build(self) -> tuple[dict[str, Any], dict[str, str]]:
        self._other_sections()
        clone = self._clone()
        guests = self._guests()
        self._clone_guests(clone, guests)
        self._topology(clone)
        hosts, variables, provisioning, files = self._hosts(guests)
        spec: dict[str, Any] = {
            "segments": self.segments,
            "hosts": hosts,
            "flows": self.flows,
            "variables": variables,
            "provisioning": provisioning,
            "groups": [
                {
                    "name": dns_label(f"{guest}-clones"),
                    "hosts": names,
                    "description": f"clones of CyRIS guest {guest}",
                }
                for guest, names in self.clones.items()
                if len(names) > 1
            ],
        }
        if any(h.get("needs_vm") for h in hosts):
            spec["requires"] = ["vm"]
        return spec, files

    def _other_sections(self) -> None:
        if "host_settings" in self.sections:
            index, hosts = self.sections["host_settings"]
            ids = ", ".join(str(h.get("id")) for h in hosts or [] if isinstance(h, dict))
            self.report.dropped(
                f"[{index}].host_settings",
                ids,
                "CyRIS physical hosts (mgmt_addr, virbr_addr, account) are not needed: Federange places "
                "instances on ranges",
            )
        for key, (index, _) in self.sections.items():
            if key not in SECTIONS:
                self.report.dropped(f"[{index}].{key}", "", "not a CyRIS section; not imported")

    def _clone(self) -> dict[str, Any]:
        index, clones = self.sections["clone_settings"]
        for extra in range(1, len(clones)):
            self.report.dropped(
                f"[{index}].clone_settings[{extra}]", "", "only the first clone setting is imported"
            )
        clone = dict(clones[0])
        self.range_id = str(clone.get("range_id", ""))
        if "range_id" in clone:
            self.report.dropped(
                f"[{index}].clone_settings[0].range_id",
                self.range_id,
                "Federange names every instance itself",
            )
        return clone

    def _guests(self) -> dict[str, tuple[int, dict[str, Any]]]:
        index, guests = self.sections["guest_settings"]
        found: dict[str, tuple[int, dict[str, Any]]] = {}
        for g, guest in enumerate(guests):
            if not isinstance(guest, dict) or "id" not in guest:
                self.report.dropped(
                    f"[{index}].guest_settings[{g}]", "", "a guest without an 'id'; not imported"
                )
                continue
            found[str(guest["id"])] = (g, guest)
        return found

    def _clone_guests(self, clone: dict[str, Any], guests: dict[str, tuple[int, dict[str, Any]]]) -> None:
        index = self.sections["clone_settings"][0]
        hosts = Namer(self.report, kind="host")
        for h, host in enumerate(clone.get("hosts") or []):
            path = f"[{index}].clone_settings[0].hosts[{h}]"
            self.report.dropped(
                f"{path}.instance_number",
                str(host.get("instance_number", 1)),
                "Federange makes one instance per team: the number of teams decides how many",
            )
            self.report.dropped(f"{path}.host_id", str(host.get("host_id", "")), "CyRIS hosts are not used")
            for c, wanted in enumerate(host.get("guests") or []):
                where = f"{path}.guests[{c}]"
                guest_id = str(wanted.get("guest_id", ""))
                if guest_id not in guests:
                    self.report.dropped(where, guest_id, "no such guest in guest_settings; not imported")
                    continue
                number = int(wanted.get("number", 1))
                names = [f"{guest_id}-{n}" for n in range(1, number + 1)] if number > 1 else [guest_id]
                self.clones.setdefault(guest_id, []).extend(
                    hosts.name(n, path=f"{where}.guest_id") for n in names
                )
                if wanted.get("entry_point") in (True, "yes", "true"):
                    self.entry.update(self.clones[guest_id])
                for r, rule in enumerate(wanted.get("forwarding_rules") or []):
                    self._forwarding(f"{where}.forwarding_rules[{r}]", guest_id, str(rule.get("rule", "")))
        for guest_id, (g, _) in guests.items():
            if guest_id not in self.clones:
                self.report.dropped(
                    f"[{self.sections['guest_settings'][0]}].guest_settings[{g}]",
                    guest_id,
                    "defined but never cloned; not imported",
                )

    def _topology(self, clone: dict[str, Any]) -> None:
        index = self.sections["clone_settings"][0]
        for h, host in enumerate(clone.get("hosts") or []):
            for t, topology in enumerate(host.get("topology") or []):
                path = f"[{index}].clone_settings[0].hosts[{h}].topology[{t}]"
                if topology.get("type", "custom") != "custom":
                    self.report.dropped(
                        path, str(topology.get("type")), "only custom topologies are supported"
                    )
                    continue
                for n, network in enumerate(topology.get("networks") or []):
                    self._network(f"{path}.networks[{n}]", network)
        for hosts in self.clones.values():
            for host in hosts:
                if host not in self.host_segments:
                    self.host_segments[host] = [self._segment("default", path="(none)")]
                    self.report.approximated(host, host, "on no CyRIS network: placed on segment 'default'")

    def _segment(self, source: str, *, path: str) -> str:
        if source in self.segment_names.by_source:
            return self.segment_names.by_source[source]
        name = self.segment_names.name(source, path=path)
        self.segments.append({"name": name, "description": f"CyRIS network {source}"})
        return name

    def _network(self, path: str, network: dict[str, Any]) -> None:
        segment = self._segment(str(network.get("name", "network")), path=f"{path}.name")
        members = _members(network.get("members"))
        gateways = _members(network.get("gateway"))
        for guest, _ in [*members, *gateways]:
            if guest not in self.clones:
                self.report.dropped(path, guest, "member is not a cloned guest; not imported")
                continue
            for host in self.clones[guest]:
                self.host_segments.setdefault(host, [])
                if segment not in self.host_segments[host]:
                    self.host_segments[host].append(segment)
        interfaces = ", ".join(f"{g}.{i}" for g, i in [*members, *gateways] if i)
        if interfaces:
            self.report.approximated(f"{path}.members", interfaces, "interface names are not kept")
        if gateways:
            self.report.approximated(
                f"{path}.gateway",
                ", ".join(g for g, _ in gateways),
                f"the gateway sits on '{segment}'; routing through it is replaced by flows from "
                "forwarding_rules",
            )

    def _forwarding(self, path: str, guest: str, rule: str) -> None:
        fields = dict(part.split("=", 1) for part in rule.split() if "=" in part)
        sources = [s for s in fields.get("src", "").split(",") if s]
        targets = [s for s in fields.get("dst", "").split(",") if s]
        ports = [int(p) for p in fields.get("dport", "").split(",") if p.isdigit()]
        if not sources or not targets:
            self.report.dropped(path, rule, "needs src= and dst= segments; not imported")
            return
        for src in sources:
            for dst in targets:
                flow: dict[str, Any] = {
                    "from": {"segment": self._segment(src, path=path)},
                    "to": {"segment": self._segment(dst, path=path)},
                    "description": f"CyRIS forwarding rule on {guest}: {rule}",
                }
                if ports:
                    flow["ports"] = [
                        {"port": p, "protocol": proto} for p in ports for proto in ("TCP", "UDP")
                    ]
                self.flows.append(flow)
        self.report.approximated(
            path,
            rule,
            f"becomes flows from {', '.join(sources)} to {', '.join(targets)}"
            + (" (protocol unstated: TCP and UDP)" if ports else " (every port)")
            + f"; traffic no longer passes through '{guest}'",
        )
        if "sport" in fields:
            self.report.dropped(f"{path}.sport", fields["sport"], "flows restrict destination ports only")

    def _hosts(
        self, guests: dict[str, tuple[int, dict[str, Any]]]
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]], dict[str, str]]:
        index = self.sections["guest_settings"][0]
        hosts: list[dict[str, Any]] = []
        variables: list[dict[str, Any]] = []
        provisioning: list[dict[str, Any]] = []
        files: dict[str, str] = {}
        flavor = self.tables.flavors[self.tables.default_flavor]
        self.report.approximated(
            f"[{index}].guest_settings",
            "",
            f"CyRIS guests have no size: every host gets the resources of '{self.tables.default_flavor}'",
        )
        for guest_id, names in self.clones.items():
            g, guest = guests[guest_id]
            path = f"[{index}].guest_settings[{g}]"
            image = self._image(path, guest)
            for name in names:
                host: dict[str, Any] = {
                    "name": name,
                    "description": f"CyRIS guest {guest_id}",
                    "segments": self.host_segments[name],
                    "resources": flavor.model_dump(exclude_defaults=True),
                    **image,
                }
                if name in self.entry:
                    host["entry"] = True
                    host["ports"] = [{"port": 22, "name": "ssh"}]
                hosts.append(host)
            if names[0] in self.entry:
                self.report.approximated(
                    path, guest_id, "entry point: the team reaches it over SSH (port 22)"
                )
            for key in ("ip_addr", "basevm_host"):
                if key in guest:
                    self.report.dropped(
                        f"{path}.{key}", str(guest[key]), "addresses and hosts come from the range"
                    )
            playbook_file = f"playbooks/{dns_label(guest_id)}.yml"
            generated = guest_playbook(
                guest_id, hosts=names, tasks=guest.get("tasks"), path=f"{path}.tasks",
                playbook_file=playbook_file, report=self.report,
            )  # fmt: skip
            if generated is not None:
                files[playbook_file] = generated.text
                variables += generated.variables
                provisioning.append(
                    {
                        "name": f"CyRIS tasks of guest {guest_id}"[:80],
                        "playbook": playbook_file,
                        "hosts": names,
                        "vars": generated.step_vars,
                    }
                )
        return hosts, variables, provisioning, files

    def _image(self, path: str, guest: dict[str, Any]) -> dict[str, Any]:
        config = str(guest.get("basevm_config_file", ""))
        keys = [
            k
            for k in (PurePosixPath(config).stem, str(guest["id"]), str(guest.get("basevm_os_type", "")))
            if k
        ]
        choice = choose_image(self.tables, *keys)
        kind = guest.get("basevm_type", "kvm")
        if choice is None or choice.entry.needs_vm:
            why = "no entry in the image map" if choice is None else choice.how
            self.report.approximated(
                f"{path}.basevm_config_file",
                config,
                f"a {kind} image: no container image ({why}); host marked needs_vm",
            )
            return {"image": config or f"cyris-{guest['id']}", "needs_vm": True}
        self.report.approximated(
            f"{path}.basevm_config_file",
            config,
            f"{kind} image replaced by container image {choice.entry.image}",
        )
        found: dict[str, Any] = {"image": choice.entry.image}
        if choice.entry.command:
            found["command"] = list(choice.entry.command)
        return found
