"""What trainers (CLI `scenario show`, API `/api/v1/scenarios`) see of a scenario: footprint and topology
as plain JSON-ready data. Variables are listed by name and kind only: values never leave the instance."""

from __future__ import annotations

from typing import Any

from scenarios.footprint import footprint
from scenarios.model import Port, Scenario


def _ports(ports: list[Port]) -> list[str]:
    return [f"{p.port}/{p.protocol.value}" for p in ports]


def describe(scenario: Scenario) -> dict[str, Any]:
    meta, spec = scenario.metadata, scenario.spec
    used = footprint(scenario)
    return {
        "name": meta.name,
        "version": meta.version,
        "title": meta.title,
        "description": meta.description,
        "tags": list(meta.tags),
        "difficulty": meta.difficulty.value,
        "requires": list(spec.requires),
        "duration": spec.duration.model_dump(),
        "footprint": {
            **used.demand(),
            "hosts": used.hosts,
            "requests_cpu_millicores": used.requests_cpu_millicores,
            "requests_memory_mib": used.requests_memory_mib,
        },
        "segments": [
            {
                "name": s.name,
                "description": s.description,
                "hosts": [h.name for h in spec.hosts if s.name in h.segments],
            }
            for s in spec.segments
        ],
        "hosts": [
            {
                "name": h.name,
                "description": h.description,
                "image": h.image or "",
                "build": h.build.context if h.build else None,
                "segments": list(h.segments),
                "ports": _ports(h.ports),
                "entry": h.entry,
                "needs_vm": h.needs_vm,
                "egress": h.egress is not None,
                "requests": h.resources.requests.model_dump(),
                "limits": None if h.resources.limits is None else h.resources.limits.model_dump(),
                "readiness": _readiness(scenario, h.name),
            }
            for h in spec.hosts
        ],
        "flows": [
            {
                "from": f.from_.segment + (f" ({', '.join(f.from_.hosts)})" if f.from_.hosts else ""),
                "to": f.to.segment + (f" ({', '.join(f.to.hosts)})" if f.to.hosts else ""),
                "ports": _ports(f.ports) or ["all"],
                "description": f.description,
            }
            for f in spec.flows
        ],
        "variables": [
            {"name": v.name, "kind": v.kind.value, "secret": v.is_secret, "description": v.description}
            for v in spec.variables
        ],
        "provisioning": [
            {"name": p.name, "playbook": p.playbook, "hosts": list(p.hosts)} for p in spec.provisioning
        ],
        "groups": [{"name": g.name, "hosts": list(g.hosts)} for g in spec.groups],
    }


def _readiness(scenario: Scenario, host: str) -> str:
    probe = scenario.host(host).readiness
    if probe is None:
        return ""
    if probe.tcp_port is not None:
        return f"tcp {probe.tcp_port}"
    if probe.http is not None:
        return f"http {probe.http.port}{probe.http.path}"
    return "exec " + " ".join(probe.exec or [])
