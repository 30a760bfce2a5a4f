"""Rules that relate parts of a scenario to each other, each reported with its path in the document.

Also `security_problems`: what a scenario asks for that a range's security allowance does not permit
(privileged containers, host namespaces, hostPath, added capabilities).
"""

from __future__ import annotations

from collections.abc import Iterable

from scenarios.errors import Problem
from scenarios.model import TEMPLATE_RE, Host, Scenario

DEFAULT_CAPABILITIES_ALLOWED: frozenset[str] = frozenset()


def _duplicates(names: Iterable[str]) -> list[tuple[int, str]]:
    seen: set[str] = set()
    dupes = []
    for i, name in enumerate(names):
        if name in seen:
            dupes.append((i, name))
        seen.add(name)
    return dupes


def cross_reference_problems(scenario: Scenario) -> list[Problem]:
    spec = scenario.spec
    problems: list[Problem] = []
    segments = {s.name for s in spec.segments}
    hosts = {h.name: h for h in spec.hosts}
    variables = {v.name for v in spec.variables}

    for i, name in _duplicates(s.name for s in spec.segments):
        problems.append(Problem(f"spec.segments[{i}].name", f"duplicate segment '{name}'"))
    for i, name in _duplicates(h.name for h in spec.hosts):
        problems.append(Problem(f"spec.hosts[{i}].name", f"duplicate host '{name}'"))
    for i, name in _duplicates(v.name for v in spec.variables):
        problems.append(Problem(f"spec.variables[{i}].name", f"duplicate variable '{name}'"))

    used_segments: set[str] = set()
    for h, host in enumerate(spec.hosts):
        where = f"spec.hosts[{h}]"
        for s, segment in enumerate(host.segments):
            used_segments.add(segment)
            if segment not in segments:
                problems.append(Problem(f"{where}.segments[{s}]", f"unknown segment '{segment}'"))
        for s, segment in _duplicates(host.segments):
            problems.append(Problem(f"{where}.segments[{s}]", f"segment '{segment}' listed twice"))
        for p, _ in _duplicates(f"{port.port}/{port.protocol}" for port in host.ports):
            problems.append(Problem(f"{where}.ports[{p}]", "port listed twice"))
        if host.entry and not host.ports:
            problems.append(
                Problem(f"{where}.ports", "an entry host must declare the ports the team reaches")
            )
        for f, _ in _duplicates(file.path for file in host.files):
            problems.append(Problem(f"{where}.files[{f}].path", "file path listed twice"))
        for v, _ in _duplicates(volume.name for volume in host.volumes):
            problems.append(Problem(f"{where}.volumes[{v}].name", "volume name listed twice"))
        for key in host.env:
            if not key.replace("_", "a").isalnum() or key[0].isdigit():
                problems.append(Problem(f"{where}.env.{key}", "not a valid environment variable name"))
        problems += _template_problems(where, host, variables)
        if host.needs_vm and "vm" not in spec.requires:
            problems.append(
                Problem(
                    f"{where}.needs_vm",
                    "a host that needs a VM makes the scenario require 'vm' (add it to spec.requires): "
                    "without it a container range would be asked to run it",
                )
            )

    for i, declared in enumerate(spec.segments):
        if declared.name not in used_segments:
            problems.append(Problem(f"spec.segments[{i}]", f"segment '{declared.name}' has no host"))

    for f, flow in enumerate(spec.flows):
        for side, endpoint in (("from", flow.from_), ("to", flow.to)):
            where = f"spec.flows[{f}].{side}"
            if endpoint.segment not in segments:
                problems.append(Problem(f"{where}.segment", f"unknown segment '{endpoint.segment}'"))
                continue
            for i, name in enumerate(endpoint.hosts):
                if name not in hosts:
                    problems.append(Problem(f"{where}.hosts[{i}]", f"unknown host '{name}'"))
                elif endpoint.segment not in hosts[name].segments:
                    problems.append(
                        Problem(
                            f"{where}.hosts[{i}]", f"host '{name}' is not on segment '{endpoint.segment}'"
                        )
                    )

    for p, playbook in enumerate(spec.provisioning):
        for i, name in enumerate(playbook.hosts):
            if name not in hosts:
                problems.append(Problem(f"spec.provisioning[{p}].hosts[{i}]", f"unknown host '{name}'"))
        for key, value in playbook.vars.items():
            for ref in TEMPLATE_RE.findall(value):
                if ref not in variables:
                    problems.append(
                        Problem(
                            f"spec.provisioning[{p}].vars.{key}", f"template names unknown variable '{ref}'"
                        )
                    )
    problems += _group_problems(scenario)
    return problems


def _group_problems(scenario: Scenario) -> list[Problem]:
    hosts = {h.name for h in scenario.spec.hosts}
    problems = [
        Problem(f"spec.groups[{i}].name", f"duplicate group '{name}'")
        for i, name in _duplicates(g.name for g in scenario.spec.groups)
    ]
    for g, group in enumerate(scenario.spec.groups):
        if group.name in hosts:
            problems.append(Problem(f"spec.groups[{g}].name", f"group '{group.name}' has the name of a host"))
        for i, name in enumerate(group.hosts):
            if name not in hosts:
                problems.append(Problem(f"spec.groups[{g}].hosts[{i}]", f"unknown host '{name}'"))
        for i, name in _duplicates(group.hosts):
            problems.append(Problem(f"spec.groups[{g}].hosts[{i}]", f"host '{name}' listed twice"))
    return problems


def _template_problems(where: str, host: Host, variables: set[str]) -> list[Problem]:
    texts: list[tuple[str, str]] = []
    texts += [(f"{where}.env.{k}", v) for k, v in host.env.items()]
    texts += [(f"{where}.command[{i}]", v) for i, v in enumerate(host.command or [])]
    texts += [(f"{where}.args[{i}]", v) for i, v in enumerate(host.args or [])]
    texts += [(f"{where}.files[{i}].content", f.content) for i, f in enumerate(host.files)]
    return [
        Problem(path, f"template names unknown variable '{ref}'")
        for path, text in texts
        for ref in TEMPLATE_RE.findall(text)
        if ref not in variables
    ]


def security_problems(
    scenario: Scenario,
    *,
    privileged: bool = False,
    host_namespaces: bool = False,
    host_path: bool = False,
    added_capabilities: frozenset[str] = DEFAULT_CAPABILITIES_ALLOWED,
    privilege_escalation: bool = True,
) -> list[Problem]:
    """What the scenario asks for that a range with this allowance refuses (empty: nothing)."""
    problems: list[Problem] = []
    for h, host in enumerate(scenario.spec.hosts):
        where = f"spec.hosts[{h}]"
        sec = host.security
        if sec.privileged and not privileged:
            problems.append(
                Problem(f"{where}.security.privileged", "privileged containers are not allowed on this range")
            )
        if sec.host_network and not host_namespaces:
            problems.append(
                Problem(f"{where}.security.host_network", "hostNetwork is not allowed on this range")
            )
        if sec.host_pid and not host_namespaces:
            problems.append(Problem(f"{where}.security.host_pid", "hostPID is not allowed on this range"))
        if sec.allow_privilege_escalation and not privilege_escalation:
            problems.append(
                Problem(
                    f"{where}.security.allow_privilege_escalation",
                    "privilege escalation (setuid, sudo) is not allowed on this range",
                )
            )
        for c, cap in enumerate(sec.capabilities):
            if cap.upper() not in {a.upper() for a in added_capabilities}:
                problems.append(
                    Problem(
                        f"{where}.security.capabilities[{c}]",
                        f"adding capability {cap} is not allowed on this range",
                    )
                )
        for v, volume in enumerate(host.volumes):
            if volume.host_path is not None and not host_path:
                problems.append(
                    Problem(
                        f"{where}.volumes[{v}].host_path", "hostPath volumes are not allowed on this range"
                    )
                )
    return problems
