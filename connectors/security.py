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
from scenarios.model import Scenario
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
    )
    refused = []
    for problem in problems:
        index = _HOST_INDEX.match(problem.path)
        host = scenario.spec.hosts[int(index.group(1))].name if index else ""
        refused.append(Disallowed(host=host, path=problem.path, reason=problem.reason))
    return refused


def check_allowance(instance: InstanceSpec) -> None:
    """Raise ConnectorRefusal, naming every offending request, when the instance's scenario asks for
    what the range's allowance does not grant."""
    refused = disallowed(instance.scenario, instance.allowance)
    if refused:
        raise ConnectorRefusal(
            f"the range's security policy refuses this scenario ({instance.scenario.ref}): "
            + "; ".join(str(r) for r in refused)
        )
