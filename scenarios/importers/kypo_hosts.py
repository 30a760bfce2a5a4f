"""One KYPO host -> one Federange host: base box through the image table, flavor through the flavor table,
entry point when it sits on a network the user can access, egress when it is behind a router.

A base box without a container image (Windows, appliances, names the table does not know) keeps its name
as the image and is marked `needs_vm`: only a VM-capable range can run it, and the scenario then requires
`vm`, so no container range is ever asked to start it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from scenarios.importers.shapes import at, describe, flag, mapping, refuse_at, sequence, text
from scenarios.importers.tables import choose_image

if TYPE_CHECKING:
    from scenarios.importers.kypo_topology import Topology

HOST_KEYS = {"name", "base_box", "flavor", "hidden", "volumes", "extra", "block_internet"}
BASE_BOX_KEYS = {"image", "mgmt_user", "mgmt_protocol", "man_user", "mng_protocol"}
PROTOCOLS = {"ssh", "winrm"}


def convert_host(path: str, kypo: dict[str, Any], *, topology: Topology) -> dict[str, Any]:
    report = topology.report
    source_name = text(kypo.get("name"), at(path, "name"))
    name = topology.hosts.name(source_name, path=at(path, "name"))
    segments = list(topology.host_segments.get(source_name, []))
    if not segments:
        segments = [topology.unconnected()]
        report.approximated(path, source_name, f"no net_mapping: placed on segment '{segments[0]}'")
    host: dict[str, Any] = {"name": name, "segments": segments, "description": f"KYPO host {source_name}"}
    image, protocol, image_path = _base_box(path, kypo.get("base_box"), topology=topology)
    ssh = _image(image_path, host, image, topology=topology)
    _flavor(at(path, "flavor"), host, kypo.get("flavor"), topology=topology)
    if flag(kypo.get("hidden"), at(path, "hidden"), default=False):
        report.approximated(
            at(path, "hidden"),
            "true",
            "KYPO only hides the host from its topology view; it is deployed and reachable like any other",
        )
    if any(topology.accessible.get(s, False) for s in segments):
        _entry(path, host, windows=protocol == "winrm", ssh=ssh, topology=topology)
    blocked = flag(kypo.get("block_internet"), at(path, "block_internet"), default=False)
    if not blocked and any(s in topology.routed for s in segments):
        host["egress"] = {"cidrs": ["0.0.0.0/0"], "ports": [{"port": 80}, {"port": 443}]}
    if kypo.get("volumes") is not None:
        volumes = sequence(kypo["volumes"], at(path, "volumes"))
        if volumes:
            report.unsupported(
                at(path, "volumes"),
                f"{len(volumes)} volumes",
                "KYPO's extra disks are not supported: hosts get the range's scratch space only",
            )
    if kypo.get("extra") is not None:
        extra = mapping(kypo["extra"], at(path, "extra"))
        if extra:
            report.dropped(
                at(path, "extra"), ", ".join(sorted(extra)), "free-form values with no effect (in KYPO too)"
            )
    for key in sorted(set(kypo) - HOST_KEYS):
        report.dropped(at(path, key), _short(kypo[key]), "not a key of KYPO hosts; not imported")
    return host


def _base_box(path: str, value: Any, *, topology: Topology) -> tuple[str, str, str]:
    """(image name, management protocol, where the image name is) of a base box; a bare text is read as
    the image name."""
    where = at(path, "base_box")
    if isinstance(value, str):
        topology.report.approximated(
            where, value, "a base box written as a bare name: read as base_box.image (KYPO wants a mapping)"
        )
        return value, "ssh", where
    if value is None:
        return "", "ssh", where
    box = mapping(value, where, what="a mapping (image, mgmt_user, mgmt_protocol) or an image name")
    image = text(box.get("image"), at(where, "image"), default="")
    for old, new in (("man_user", "mgmt_user"), ("mng_protocol", "mgmt_protocol")):
        if old in box and new in box:
            topology.report.dropped(
                at(where, old), _short(box[old]), f"the older name of '{new}', which is also given and wins"
            )
    user_key = "man_user" if "man_user" in box and "mgmt_user" not in box else "mgmt_user"
    protocol_key = "mng_protocol" if "mng_protocol" in box and "mgmt_protocol" not in box else "mgmt_protocol"
    protocol = text(box.get(protocol_key), at(where, protocol_key), default="ssh").strip().lower()
    if protocol not in PROTOCOLS:
        raise refuse_at(
            at(where, protocol_key), f"expected ssh or winrm, found {describe(box[protocol_key])}"
        )
    if box.get(user_key) is not None:
        topology.report.approximated(
            at(where, user_key),
            text(box[user_key], at(where, user_key)),
            "the management account is the connector's business (KYPO's Ansible user); not kept",
        )
    if protocol_key in box:
        topology.report.approximated(
            at(where, protocol_key),
            protocol,
            "management goes through the range's connector; the protocol only decides the entry port",
        )
    for key in sorted(set(box) - BASE_BOX_KEYS):
        topology.report.dropped(
            at(where, key), _short(box[key]), "not a key of KYPO base boxes; not imported"
        )
    return image, protocol, at(where, "image")


def _image(path: str, host: dict[str, Any], image: str, *, topology: Topology) -> bool:
    """Set the host's image; returns whether it serves SSH itself."""
    if any(c.isspace() for c in image):
        raise refuse_at(path, f"not an image name: {image!r}")
    choice = choose_image(topology.tables, image) if image else None
    if choice is None or choice.entry.needs_vm:
        host["image"] = image or "unknown-base-box"
        host["needs_vm"] = True
        why = "no entry in the image map" if choice is None else choice.how
        topology.report.approximated(
            path,
            image,
            f"no container image ({why}): host marked needs_vm, the scenario requires a VM-capable range",
        )
        return False
    host["image"] = choice.entry.image  # an entry without needs_vm has an image (tables.ImageEntry)
    if choice.entry.command:
        host["command"] = list(choice.entry.command)
    topology.report.approximated(
        path, image, f"VM base box replaced by container image {choice.entry.image} ({choice.how})"
    )
    return choice.entry.ssh


def _flavor(path: str, host: dict[str, Any], value: Any, *, topology: Topology) -> None:
    tables = topology.tables
    flavor = text(value, path, default="")
    resources = tables.flavors.get(flavor)
    if resources is None:
        resources = tables.flavors[tables.default_flavor]
        booked = resources.reserved
        said = f"flavor '{flavor}' is not in the flavor table" if flavor else "no flavor given"
        topology.report.approximated(
            path,
            flavor,
            f"{said}: the host books the default '{tables.default_flavor}' ({booked.cpu_millicores}m cpu, "
            f"{booked.memory_mib} MiB), a guess; add the flavor to an --image-map file to book what it had",
        )
        host["description"] += f" (flavor {flavor or 'none'} unknown: sized as {tables.default_flavor})"
    host["resources"] = resources.model_dump(exclude_defaults=True)


def _entry(path: str, host: dict[str, Any], *, windows: bool, ssh: bool, topology: Topology) -> None:
    port = 3389 if windows else 22
    how = "RDP" if windows else "SSH"
    host["entry"] = True
    host["ports"] = [{"port": port, "name": "rdp" if windows else "ssh"}]
    if host.get("needs_vm") or ssh:
        topology.report.approximated(
            path, host["name"], f"entry point: the team reaches it over {how} (port {port})"
        )
    else:
        topology.report.approximated(
            path,
            host["name"],
            f"entry point on port {port}, but image {host['image']} runs no SSH server: map its base "
            "box to an image that serves SSH (--image-map) to give the team a way in",
        )


def _short(value: Any) -> str:
    if isinstance(value, dict | list):
        return describe(value)
    return "" if value is None else str(value)
