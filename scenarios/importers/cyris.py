"""CyRIS range descriptions (a YAML list of host_settings, guest_settings, clone_settings) -> a Federange
scenario.

How the parts map (everything else is in the report, by its path in the source):

- guest_settings + clone_settings guests -> hosts (`number` > 1 gives `<guest>-1..n`); KVM base images go
  through the image map (by config file stem, guest id, then basevm_os_type), otherwise `needs_vm`;
- topology networks -> segments; members and gateways -> host segments (interface names are not kept);
- forwarding_rules -> TCP flows, read as CyRIS reads them (cyris_rules); entry_point -> entry hosts;
- tasks -> a generated provisioning playbook per guest (see cyris_tasks);
- host_settings, range_id and instance_number are reported: Federange places instances on ranges and
  deploys one instance per team.
"""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath
from typing import Any

from scenarios.importers.cyris_rules import Networks, rule_flows
from scenarios.importers.cyris_tasks import guest_playbook
from scenarios.importers.lookalike import CYRIS, read_document, refuse
from scenarios.importers.names import Namer, dns_label
from scenarios.importers.report import Imported, ImportRefused, ImportReport, refusals_from
from scenarios.importers.shapes import at, flag, integer, mapping, refuse_at, sequence, text
from scenarios.importers.tables import Tables, choose_image, load_tables
from scenarios.importers.validated import validated

SECTIONS = ("host_settings", "guest_settings", "clone_settings")
#: Clones of one guest in one instance: CyRIS has no limit, a scenario instance needs one.
MAX_CLONES = 50


def import_cyris(path: Path, *, tables: Tables | None = None, version: str = "1.0.0") -> Imported:
    """Import a CyRIS description; raises ImportRefused when `path` is not one, or names the part of it
    whose shape CyRIS does not allow."""
    with refusals_from(str(path)):
        data = read_document(path)
        sections = _sections(data, source=str(path))
        report = ImportReport(source=str(path))
        builder = _Range(sections, report=report, tables=tables or load_tables())
        spec, files = builder.build()
        name = dns_label(path.stem.removesuffix(".yml"), fallback="cyris")
        document = {
            "apiVersion": "federange/v1",
            "kind": "Scenario",
            "metadata": {
                "name": name,
                "version": version,
                "title": f"CyRIS range {builder.range_id or path.stem}"[:200],
                "description": f"Imported from the CyRIS range description {path.name}.",
                "tags": ["imported", "cyris"],
                "annotations": {"federange.eu/imported-from": f"cyris:{path.name}"},
            },
            "spec": spec,
        }
        return Imported(scenario=validated(document, source=str(path)), files=files, report=report)


def _sections(data: Any, *, source: str) -> dict[str, tuple[int, Any]]:
    if not isinstance(data, list):
        raise refuse(
            "a CyRIS range description (a YAML list of sections)", [], data, source=source, kind=CYRIS
        )
    found: dict[str, tuple[int, Any]] = {}
    for i, item in enumerate(data):
        if isinstance(item, dict):
            for key, value in item.items():
                found.setdefault(str(key), (i, value))
    missing = [s for s in ("guest_settings", "clone_settings") if s not in found]
    if missing:
        raise refuse("a CyRIS range description", missing, data, source=source, kind=CYRIS)
    for key in ("guest_settings", "clone_settings"):
        index, value = found[key]
        if not sequence(value, f"[{index}].{key}"):
            raise ImportRefused(f"'{key}' must be a non-empty list", source=source, path=f"[{index}].{key}")
    return found


def _members(value: Any, path: str) -> list[tuple[str, str]]:
    """'desktop.eth0, web.eth1' (or a list) -> [('desktop', 'eth0'), ('web', 'eth1')]."""
    if isinstance(value, list):
        items = [text(v, p) for p, v in sequence(value, path)]
    else:
        items = re.split(r"[,\s]+", text(value, path, default=""))
    pairs = []
    for item in items:
        if item.strip():
            guest, _, interface = item.strip().partition(".")
            pairs.append((guest, interface))
    return pairs


class _Range:
    def __init__(self, sections: dict[str, tuple[int, Any]], *, report: ImportReport, tables: Tables) -> None:
        self.sections = sections
        self.report = report
        self.tables = tables
        self.range_id = ""
        self.clones: dict[str, list[str]] = {}  # guest id -> host names
        self.entry: set[str] = set()
        self.host_segments: dict[str, list[str]] = {}
        self.flows: list[dict[str, Any]] = []
        self.segments: list[dict[str, Any]] = []
        self.segment_names = Namer(report, kind="segment")
        self.members: dict[str, dict[str, list[str]]] = {}  # segment -> guest -> clones on it
        self.rules: list[tuple[str, str, str]] = []  # (path, guest, rule)

    def build(self) -> tuple[dict[str, Any], dict[str, str]]:
        self._other_sections()
        clone, clone_path = self._clone()
        guests = self._guests()
        self._clone_guests(clone, clone_path, guests)
        self._topology(clone, clone_path)
        networks = Networks(segments=dict(self.segment_names.by_source), members=self.members)
        for path, guest, rule in self.rules:
            self.flows += rule_flows(path, guest, rule, networks=networks, report=self.report)
        hosts, variables, provisioning, files = self._hosts(guests)
        used = {s for h in hosts for s in h["segments"]}
        self.segments = [s for s in self.segments if s["name"] in used]
        spec: dict[str, Any] = {
            "segments": self.segments,
            "hosts": hosts,
            "flows": self.flows,
            "variables": variables,
            "provisioning": provisioning,
            "groups": self._groups(),
        }
        if any(h.get("needs_vm") for h in hosts):
            spec["requires"] = ["vm"]
        return spec, files

    def _groups(self) -> list[dict[str, Any]]:
        names = Namer(self.report, kind="group")
        for hosts in self.clones.values():
            for host in hosts:
                names.reserve(host)
        return [
            {
                "name": names.name(f"{guest}-clones", path=guest),
                "hosts": hosts,
                "description": f"clones of CyRIS guest {guest}",
            }
            for guest, hosts in self.clones.items()
            if len(hosts) > 1
        ]

    def _other_sections(self) -> None:
        if "host_settings" in self.sections:
            index, hosts = self.sections["host_settings"]
            path = f"[{index}].host_settings"
            ids = ", ".join(
                text(mapping(h, p).get("id"), at(p, "id"), default="?") for p, h in sequence(hosts, path)
            )
            self.report.dropped(
                path,
                ids,
                "CyRIS physical hosts (mgmt_addr, virbr_addr, account) are not needed: Federange places "
                "instances on ranges",
            )
        for key, (index, _) in self.sections.items():
            if key not in SECTIONS:
                self.report.dropped(f"[{index}].{key}", "", "not a CyRIS section; not imported")

    def _clone(self) -> tuple[dict[str, Any], str]:
        index, clones = self.sections["clone_settings"]
        items = sequence(clones, f"[{index}].clone_settings")
        for extra_path, _ in items[1:]:
            self.report.dropped(extra_path, "", "only the first clone setting is imported")
        path = items[0][0]
        clone = mapping(items[0][1], path)
        if clone.get("range_id") is not None:
            self.range_id = text(clone["range_id"], at(path, "range_id"))
            self.report.dropped(at(path, "range_id"), self.range_id, "Federange names every instance itself")
        return clone, path

    def _guests(self) -> dict[str, tuple[str, dict[str, Any]]]:
        index, guests = self.sections["guest_settings"]
        found: dict[str, tuple[str, dict[str, Any]]] = {}
        for path, item in sequence(guests, f"[{index}].guest_settings"):
            guest = mapping(item, path)
            guest_id = text(guest.get("id"), at(path, "id"))
            if guest_id in found:
                raise refuse_at(at(path, "id"), f"guest '{guest_id}' is defined twice")
            found[guest_id] = (path, guest)
        return found

    def _clone_guests(
        self, clone: dict[str, Any], clone_path: str, guests: dict[str, tuple[str, dict[str, Any]]]
    ) -> None:
        hosts = Namer(self.report, kind="host")
        for path, item in sequence(clone.get("hosts"), at(clone_path, "hosts")):
            host = mapping(item, path)
            number = text(host.get("instance_number"), at(path, "instance_number"), default="1")
            self.report.dropped(
                at(path, "instance_number"),
                number,
                "Federange makes one instance per team: the number of teams decides how many",
            )
            self.report.dropped(
                at(path, "host_id"),
                text(host.get("host_id"), at(path, "host_id"), default=""),
                "CyRIS hosts are not used",
            )
            for where, entry in sequence(host.get("guests"), at(path, "guests")):
                wanted = mapping(entry, where)
                guest_id = text(wanted.get("guest_id"), at(where, "guest_id"))
                if guest_id not in guests:
                    self.report.dropped(where, guest_id, "no such guest in guest_settings; not imported")
                    continue
                count = integer(
                    wanted.get("number"), at(where, "number"), default=1, minimum=1, maximum=MAX_CLONES
                )
                names = [f"{guest_id}-{n}" for n in range(1, count + 1)] if count > 1 else [guest_id]
                self.clones.setdefault(guest_id, []).extend(
                    hosts.name(n, path=at(where, "guest_id")) for n in names
                )
                if flag(wanted.get("entry_point"), at(where, "entry_point"), default=False):
                    self.entry.update(self.clones[guest_id])
                for r, rule in sequence(wanted.get("forwarding_rules"), at(where, "forwarding_rules")):
                    rule_text = text(mapping(rule, r).get("rule"), at(r, "rule"))
                    self.rules.append((r, guest_id, rule_text))
        for guest_id, (path, _) in guests.items():
            if guest_id not in self.clones:
                self.report.dropped(path, guest_id, "defined but never cloned; not imported")
        if not self.clones:
            raise refuse_at(
                at(clone_path, "hosts"), "no guest of guest_settings is cloned: nothing to deploy"
            )

    def _topology(self, clone: dict[str, Any], clone_path: str) -> None:
        for h, item in sequence(clone.get("hosts"), at(clone_path, "hosts")):
            host = mapping(item, h)
            for path, entry in sequence(host.get("topology"), at(h, "topology")):
                topology = mapping(entry, path)
                kind = text(topology.get("type"), at(path, "type"), default="custom")
                if kind != "custom":
                    self.report.dropped(path, kind, "only custom topologies are supported")
                    continue
                for n, network in sequence(topology.get("networks"), at(path, "networks")):
                    self._network(n, mapping(network, n))
        for guest_id, clones in self.clones.items():
            for host_name in clones:
                if host_name not in self.host_segments:
                    self.host_segments[host_name] = [self._segment("default", path="(none)")]
                    self.report.approximated(
                        at(clone_path, "hosts"),
                        host_name,
                        f"guest {guest_id} is on no CyRIS network: placed on segment 'default'",
                    )

    def _segment(self, source: str, *, path: str) -> str:
        if source in self.segment_names.by_source:
            return self.segment_names.by_source[source]
        name = self.segment_names.name(source, path=path)
        self.segments.append({"name": name, "description": f"CyRIS network {source}"})
        return name

    def _network(self, path: str, network: dict[str, Any]) -> None:
        segment = self._segment(text(network.get("name"), at(path, "name")), path=at(path, "name"))
        members = _members(network.get("members"), at(path, "members"))
        gateways = _members(network.get("gateway"), at(path, "gateway"))
        for guest, _ in [*members, *gateways]:
            if guest not in self.clones:
                self.report.dropped(path, guest, "member is not a cloned guest; not imported")
                continue
            self.members.setdefault(segment, {})[guest] = list(self.clones[guest])
            for host in self.clones[guest]:
                self.host_segments.setdefault(host, [])
                if segment not in self.host_segments[host]:
                    self.host_segments[host].append(segment)
        interfaces = ", ".join(f"{g}.{i}" for g, i in [*members, *gateways] if i)
        if interfaces:
            self.report.approximated(at(path, "members"), interfaces, "interface names are not kept")
        if gateways:
            self.report.approximated(
                at(path, "gateway"),
                ", ".join(g for g, _ in gateways),
                f"the gateway sits on '{segment}'; routing through it is replaced by flows from "
                "forwarding_rules",
            )

    def _hosts(
        self, guests: dict[str, tuple[str, dict[str, Any]]]
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]], dict[str, str]]:
        index = self.sections["guest_settings"][0]
        hosts: list[dict[str, Any]] = []
        variables: list[dict[str, Any]] = []
        provisioning: list[dict[str, Any]] = []
        files: dict[str, str] = {}
        flavor = self.tables.flavors[self.tables.default_flavor]
        booked = flavor.reserved
        self.report.approximated(
            f"[{index}].guest_settings",
            "",
            f"CyRIS guests have no size: every host books the resources of '{self.tables.default_flavor}' "
            f"({booked.cpu_millicores}m cpu, {booked.memory_mib} MiB)",
        )
        playbooks = Namer(self.report, kind="playbook")
        for guest_id, names in self.clones.items():
            path, guest = guests[guest_id]
            image = self._image(path, guest_id, guest)
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
                if guest.get(key) is not None:
                    self.report.dropped(
                        at(path, key), str(guest[key]), "addresses and hosts come from the range"
                    )
            playbook_file = f"playbooks/{playbooks.name(guest_id, path=at(path, 'id'))}.yml"
            generated = guest_playbook(
                guest_id, hosts=names, tasks=guest.get("tasks"), path=at(path, "tasks"),
                playbook_file=playbook_file, report=self.report,
            )  # fmt: skip
            if generated is not None:
                files[playbook_file] = generated.text
                known = {v["name"] for v in variables}
                variables += [v for v in generated.variables if v["name"] not in known]
                provisioning.append(
                    {
                        "name": f"CyRIS tasks of guest {guest_id}"[:80],
                        "playbook": playbook_file,
                        "hosts": names,
                        "vars": generated.step_vars,
                    }
                )
        return hosts, variables, provisioning, files

    def _image(self, path: str, guest_id: str, guest: dict[str, Any]) -> dict[str, Any]:
        config = text(guest.get("basevm_config_file"), at(path, "basevm_config_file"), default="")
        os_type = text(guest.get("basevm_os_type"), at(path, "basevm_os_type"), default="")
        keys = [k for k in (PurePosixPath(config).stem, guest_id, os_type) if k]
        choice = choose_image(self.tables, *keys)
        kind = text(guest.get("basevm_type"), at(path, "basevm_type"), default="kvm")
        if choice is None or choice.entry.needs_vm:
            why = "no entry in the image map" if choice is None else choice.how
            self.report.approximated(
                at(path, "basevm_config_file"),
                config,
                f"a {kind} image: no container image ({why}); host marked needs_vm, the scenario requires "
                "a VM-capable range",
            )
            image = (
                config if config and not any(c.isspace() for c in config) else f"cyris-{dns_label(guest_id)}"
            )
            return {"image": image, "needs_vm": True}
        self.report.approximated(
            at(path, "basevm_config_file"),
            config,
            f"{kind} image replaced by container image {choice.entry.image}",
        )
        found: dict[str, Any] = {"image": choice.entry.image}
        if choice.entry.command:
            found["command"] = list(choice.entry.command)
        return found
