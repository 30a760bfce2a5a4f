"""What a scenario's hosts may do on a range, and the Pod Security level their namespace gets.

Two range policies apply, and a scenario must satisfy both or it is refused before anything is created:
the range's `SecurityAllowance` (privileged containers, host namespaces, hostPath, added capabilities:
each refused unless allowed) and the Pod Security Standard the range enforces on instance namespaces
(`baseline` by default, or `restricted`: then a host that could only run under `baseline` is refused).
The namespace is labelled with the strictest level every host satisfies: `restricted` when all can, else
`baseline`; `privileged` only when a host asks for something only that level admits (privileged, host
namespaces, hostPath, capabilities beyond baseline's) and the allowance grants each of those requests.
"""

from __future__ import annotations

import enum
from typing import Any

from connectors.base import ConnectorRefusal, InstanceSpec
from connectors.security import capability, check_allowance, rights
from scenarios.model import Host


class PodSecurityLevel(enum.StrEnum):
    PRIVILEGED = "privileged"
    BASELINE = "baseline"
    RESTRICTED = "restricted"

    @property
    def strictness(self) -> int:
        return {"privileged": 0, "baseline": 1, "restricted": 2}[self.value]


#: Capabilities the Pod Security `baseline` level admits in `capabilities.add`.
BASELINE_CAPABILITIES = frozenset(
    {
        "AUDIT_WRITE",
        "CHOWN",
        "DAC_OVERRIDE",
        "FOWNER",
        "FSETID",
        "KILL",
        "MKNOD",
        "NET_BIND_SERVICE",
        "SETFCAP",
        "SETGID",
        "SETPCAP",
        "SETUID",
        "SYS_CHROOT",
    }
)
#: ... and the only one `restricted` admits.
RESTRICTED_CAPABILITIES = frozenset({"NET_BIND_SERVICE"})


def host_level(host: Host) -> tuple[PodSecurityLevel, list[str]]:
    """The strictest Pod Security level `host` satisfies once rendered, and why it is not stricter."""
    sec = host.security
    caps = {capability(c) for c in sec.capabilities}
    privileged_needs = []
    if sec.privileged:
        privileged_needs.append("runs a privileged container")
    if sec.host_network:
        privileged_needs.append("uses the host network")
    if sec.host_pid:
        privileged_needs.append("uses the host PID namespace")
    if any(v.host_path is not None for v in host.volumes):
        privileged_needs.append("mounts a hostPath volume")
    if caps - BASELINE_CAPABILITIES:
        privileged_needs.append("adds capabilities " + ", ".join(sorted(caps - BASELINE_CAPABILITIES)))
    if privileged_needs:
        return PodSecurityLevel.PRIVILEGED, privileged_needs
    baseline_needs = []
    if sec.run_as_root:
        baseline_needs.append("may run as root (set security.run_as_root: false)")
    elif not rights(host).no_new_privileges:
        baseline_needs.append("allows privilege escalation")
    if caps - RESTRICTED_CAPABILITIES:
        baseline_needs.append("adds capabilities " + ", ".join(sorted(caps - RESTRICTED_CAPABILITIES)))
    if baseline_needs:
        return PodSecurityLevel.BASELINE, baseline_needs
    return PodSecurityLevel.RESTRICTED, []


def namespace_level(instance: InstanceSpec, *, required: PodSecurityLevel) -> PodSecurityLevel:
    """The Pod Security level of the instance's namespace; raises ConnectorRefusal when the scenario asks
    for something the range's allowance refuses, or cannot meet the level the range enforces.

    The refusal lists every offending place in the scenario document (`spec.hosts[1].security...`).
    """
    check_allowance(instance)
    level = PodSecurityLevel.RESTRICTED
    shortfalls = []
    for index, host in enumerate(instance.scenario.spec.hosts):
        host_lvl, reasons = host_level(host)
        if host_lvl.strictness < level.strictness:
            level = host_lvl
        # Privileged needs were granted by the allowance above; the required level is about the rest.
        if host_lvl is not PodSecurityLevel.PRIVILEGED and host_lvl.strictness < required.strictness:
            shortfalls.append(f"spec.hosts[{index}] ({host.name}) " + " and ".join(reasons))
    if shortfalls:
        raise ConnectorRefusal(
            f"the range enforces Pod Security '{required.value}' on instances, which this scenario does not "
            "meet: " + "; ".join(shortfalls)
        )
    return level


def pod_security_context(host: Host) -> dict[str, Any]:
    context: dict[str, Any] = {"seccompProfile": {"type": "RuntimeDefault"}}
    granted = rights(host)
    if granted.user is not None:
        # Numeric: the kubelet refuses runAsNonRoot for an image whose user is a name (node-red).
        context.update({"runAsNonRoot": True, "runAsUser": granted.user, "runAsGroup": granted.group})
    return context


def container_security_context(host: Host) -> dict[str, Any]:
    """The host's rights (connectors.security.rights, the same on Docker): a run_as_root host keeps the
    runtime's default capabilities but a few, a non-root host drops them all; the declared additions;
    privilege escalation as the host's rights say."""
    granted = rights(host)
    if granted.privileged:
        context: dict[str, Any] = {"privileged": True}
        if granted.added:
            context["capabilities"] = {"add": list(granted.added)}
        return context
    capabilities: dict[str, Any] = {"drop": list(granted.dropped)}
    if granted.added:
        capabilities["add"] = list(granted.added)
    context = {"allowPrivilegeEscalation": not granted.no_new_privileges, "capabilities": capabilities}
    if granted.user is not None:
        context["runAsNonRoot"] = True
    return context
