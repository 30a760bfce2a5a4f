"""The one security-allowance check every connector runs before it creates anything.

A range's `SecurityAllowance` says what scenarios may ask for there (privileged containers, host
namespaces, hostPath volumes, added capabilities); everything else is refused. `disallowed` lists every
host's request the allowance does not grant, with the place in the scenario document and the reason;
`check_allowance` turns a non-empty list into one ConnectorRefusal naming them all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from connectors.base import ConnectorRefusal, InstanceSpec, SecurityAllowance
from scenarios.model import Host, Scenario
from scenarios.validation import security_problems

#: security_problems names each place as `spec.hosts[<index>]...`: the index says which host asks.
_HOST_INDEX = re.compile(r"^spec\.hosts\[(\d+)\]")


def capability(name: str) -> str:
    """`cap_net_admin` / `CAP_NET_ADMIN` / `net_admin` -> `NET_ADMIN` (one spelling of a capability)."""
    return name.strip().upper().removeprefix("CAP_")


@dataclass(frozen=True, kw_only=True)
class Disallowed:
    """One request of one host that the range's allowance does not grant."""

    host: str
    path: str  # in the scenario document, e.g. spec.hosts[0].security.privileged
    reason: str

    def __str__(self) -> str:
        return f"{self.path} (host {self.host}): {self.reason}"


def disallowed(scenario: Scenario, allowance: SecurityAllowance) -> list[Disallowed]:
    """Every request of the scenario's hosts that `allowance` does not grant (empty: nothing)."""
    granted = {capability(c) for c in allowance.added_capabilities}
    problems = security_problems(
        scenario,
        privileged=allowance.privileged,
        host_namespaces=allowance.host_namespaces,
        host_path=allowance.host_path,
        # Either spelling of a granted capability (NET_ADMIN, CAP_NET_ADMIN) is the same permission.
        added_capabilities=frozenset(s for c in granted for s in (c, f"CAP_{c}")),
        privilege_escalation=allowance.privilege_escalation,
    )
    refused = []
    for problem in problems:
        index = _HOST_INDEX.match(problem.path)
        host = scenario.spec.hosts[int(index.group(1))].name if index else ""
        refused.append(Disallowed(host=host, path=problem.path, reason=problem.reason))
    return refused


#: What a container runtime (Docker, containerd, CRI-O) gives a container by default.
RUNTIME_DEFAULT_CAPABILITIES = frozenset(
    {
        "AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD", "NET_BIND_SERVICE",
        "NET_RAW", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT",
    }
)  # fmt: skip
#: Dropped from that default on every run_as_root host (exercises rarely need them; NET_RAW stays
#: because ping and scanners do).
DROPPED_BY_DEFAULT = ("AUDIT_WRITE", "MKNOD", "SETFCAP")
#: The user and group of a run_as_root: false host that does not name one (Debian's first `useradd`).
DEFAULT_USER = 1000


@dataclass(frozen=True, kw_only=True)
class Rights:
    """What a host's processes may do, the same on every container connector (one security model).

    `user`/`group` None: the image's own user (a run_as_root host); `capabilities` the effective set
    (privileged: every capability); `dropped` what to drop from the runtime's default set ("ALL" for
    non-root hosts), `added` what to add to it; `no_new_privileges`: setuid cannot raise privileges."""

    privileged: bool
    user: int | None
    group: int | None
    capabilities: frozenset[str]
    dropped: tuple[str, ...]
    added: tuple[str, ...]
    no_new_privileges: bool


def rights(host: Host) -> Rights:
    """The effective rights of one (already allowed) host.

    run_as_root: the runtime's default capabilities minus DROPPED_BY_DEFAULT and the host's
    `drop_capabilities`, plus its added ones; privilege escalation allowed unless the host says
    otherwise. run_as_root false: the numeric `run_as_user`/`run_as_group` (default DEFAULT_USER), every
    capability dropped but the added ones, no privilege escalation unless the host asks for it."""
    sec = host.security
    added = tuple(sorted({capability(c) for c in sec.capabilities}))
    escalation = sec.run_as_root if sec.allow_privilege_escalation is None else sec.allow_privilege_escalation
    if sec.privileged:
        return Rights(
            privileged=True, user=None, group=None, capabilities=frozenset({"ALL"}), dropped=(),
            added=added, no_new_privileges=False,
        )  # fmt: skip
    if sec.run_as_root:
        dropped = tuple(
            sorted(({*DROPPED_BY_DEFAULT} | {capability(c) for c in sec.drop_capabilities}) - set(added))
        )
        return Rights(
            privileged=False,
            user=None,
            group=None,
            capabilities=frozenset((RUNTIME_DEFAULT_CAPABILITIES - set(dropped)) | set(added)),
            dropped=dropped,
            added=added,
            no_new_privileges=not escalation,
        )
    user = sec.run_as_user if sec.run_as_user is not None else DEFAULT_USER
    return Rights(
        privileged=False,
        user=user,
        group=sec.run_as_group if sec.run_as_group is not None else user,
        capabilities=frozenset(added),
        dropped=("ALL",),
        added=added,
        no_new_privileges=not escalation,
    )


def check_allowance(instance: InstanceSpec) -> None:
    """Raise ConnectorRefusal, naming every offending request, when the instance's scenario asks for
    what the range's allowance does not grant."""
    refused = disallowed(instance.scenario, instance.allowance)
    if refused:
        raise ConnectorRefusal(
            f"the range's security policy refuses this scenario ({instance.scenario.ref}): "
            + "; ".join(str(r) for r in refused)
        )
