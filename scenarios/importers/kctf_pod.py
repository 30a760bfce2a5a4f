"""The `podTemplate` of a kCTF challenge: its containers (the one named `challenge`, and others beside it)
and what each becomes as a Federange host (command, args, env, resources); volumes and the rest of the
pod are reported."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from scenarios.importers.names import Namer
from scenarios.importers.report import ImportRefused, ImportReport
from scenarios.importers.shapes import at, mapping, sequence, text

CONTAINER_KEYS = {"name", "image", "command", "args", "env", "resources", "volumeMounts"}
_CPU = re.compile(r"^(\d+(?:\.\d+)?)(m?)$")
_MEMORY = re.compile(r"^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|M|G|T)?$")
_MEMORY_FACTOR = {
    None: 1, "Ki": 1024, "Mi": 1024**2, "Gi": 1024**3, "Ti": 1024**4,
    "k": 1000, "M": 1000**2, "G": 1000**3, "T": 1000**4,
}  # fmt: skip


@dataclass
class Pod:
    challenge: dict[str, Any] = field(default_factory=dict)
    #: where the `challenge` container is in the source (the pod template when it has none)
    challenge_path: str = "spec.podTemplate"
    others: list[tuple[str, dict[str, Any]]] = field(default_factory=list)


def read_pod(value: Any, path: str, *, report: ImportReport) -> Pod:
    pod = Pod()
    template = mapping(mapping(value, path).get("template"), at(path, "template"))
    spec_path = at(at(path, "template"), "spec")
    spec = mapping(template.get("spec"), spec_path)
    for where, item in sequence(spec.get("containers"), at(spec_path, "containers")):
        container = mapping(item, where)
        name = text(container.get("name"), at(where, "name"))
        if name == "challenge":
            pod.challenge, pod.challenge_path = container, where
        elif name == "healthcheck":
            report.dropped(
                where, name, "kCTF sets the healthcheck container from spec.healthcheck; not imported"
            )
        else:
            pod.others.append((where, container))
    for where, item in sequence(spec.get("volumes"), at(spec_path, "volumes")):
        volume = mapping(item, where)
        kinds = ", ".join(sorted(set(volume) - {"name"})) or "no source"
        report.unsupported(
            where,
            text(volume.get("name"), at(where, "name"), default=""),
            f"pod volumes ({kinds}) are not imported: a flag kept in a secret belongs in a flag "
            "variable and a file of the host",
        )
    for key in sorted(set(spec) - {"containers", "volumes"}):
        report.dropped(at(spec_path, key), "", "pod settings are the range's business; not imported")
    return pod


def container_host(
    where: str,
    container: dict[str, Any],
    *,
    names: Namer,
    segment: str,
    report: ImportReport,
    name: str | None = None,
    default_resources: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A host for one container of the pod (`name` fixed for the challenge, else from the container)."""
    if name is None:
        source = text(container.get("name"), at(where, "name"))
        name = names.name(source, path=at(where, "name"))
        image = text(container.get("image"), at(where, "image"))
        if any(c.isspace() for c in image):
            raise ImportRefused(f"not an image reference: {image!r}", path=at(where, "image"))
        report.approximated(
            where,
            name,
            f"shares the challenge's pod in kCTF (localhost); here its own host on segment '{segment}', "
            "reached by its name",
        )
    else:
        names.reserve(name)
        image = ""
        if container.get("image") is not None:
            report.dropped(
                at(where, "image"), text(container["image"], at(where, "image")), "kCTF uses spec.image"
            )
    host: dict[str, Any] = {"name": name, "image": image, "segments": [segment]}
    for key in ("command", "args"):
        if container.get(key) is not None:
            host[key] = [text(v, p) for p, v in sequence(container[key], at(where, key))]
    env = _env(at(where, "env"), container.get("env"), report=report)
    if env:
        host["env"] = env
    host["resources"] = _resources(
        at(where, "resources"), container.get("resources"), default_resources, report
    )
    mounts = sequence(container.get("volumeMounts"), at(where, "volumeMounts"))
    if mounts:
        report.unsupported(at(where, "volumeMounts"), f"{len(mounts)} mounts", "pod volumes are not imported")
    for key in sorted(set(container) - CONTAINER_KEYS):
        report.dropped(at(where, key), "", "container settings kCTF or the range decide; not imported")
    return host


def _env(path: str, value: Any, *, report: ImportReport) -> dict[str, str]:
    env: dict[str, str] = {}
    for where, item in sequence(value, path):
        entry = mapping(item, where)
        key = text(entry.get("name"), at(where, "name"))
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
            report.dropped(where, key, "not an environment variable name; not imported")
        elif entry.get("valueFrom") is not None:
            report.dropped(where, key, "a value from a secret or the pod is not imported; give the value")
        else:
            env[key] = text(entry.get("value"), at(where, "value"), default="")
    return env


def _resources(path: str, value: Any, default: dict[str, Any] | None, report: ImportReport) -> dict[str, Any]:
    base = default or {"requests": {"cpu_millicores": 100, "memory_mib": 128},
                       "limits": {"cpu_millicores": 500, "memory_mib": 256}}  # fmt: skip
    given = mapping(value, path)
    out: dict[str, Any] = {}
    for side in ("requests", "limits"):
        amounts = mapping(given.get(side), at(path, side))
        merged = dict(base[side])
        if amounts.get("cpu") is not None:
            merged["cpu_millicores"] = _cpu(amounts["cpu"], at(at(path, side), "cpu"))
        if amounts.get("memory") is not None:
            merged["memory_mib"] = _memory(amounts["memory"], at(at(path, side), "memory"))
        out[side] = merged
    limits, requests = out["limits"], out["requests"]
    for key in ("cpu_millicores", "memory_mib"):
        limits[key] = max(limits[key], requests[key])
    if not given:
        report.approximated(
            path,
            "",
            f"none given: requests {requests['cpu_millicores']}m cpu / {requests['memory_mib']} MiB, limits "
            f"{limits['cpu_millicores']}m / {limits['memory_mib']} MiB (kCTF sets cpu only; memory "
            "is a guess)",
        )
    return out


def _cpu(value: Any, path: str) -> int:
    match = _CPU.match(text(value, path).strip())
    if match is None:
        raise ImportRefused(f"not a CPU quantity (such as 500m or 1): {value!r}", path=path)
    amount = float(match.group(1)) * (1 if match.group(2) else 1000)
    return max(1, min(256_000, round(amount)))


def _memory(value: Any, path: str) -> int:
    match = _MEMORY.match(text(value, path).strip())
    if match is None:
        raise ImportRefused(f"not a memory quantity (such as 512Mi or 1Gi): {value!r}", path=path)
    mib = float(match.group(1)) * _MEMORY_FACTOR[match.group(2)] / 1024**2
    return max(4, min(1_048_576, round(mib)))
