"""SecurityAllowance.refuses: which of a scenario's asks a range's allowance does not grant (what placement
checks at planning; the connectors' own check at deploy reads the scenario document itself)."""

from __future__ import annotations

from connectors.base import SecurityAllowance
from orchestrator.domain.ranges import SharingPolicy

ASKS = [
    "privileged",
    "host_network",
    "host_pid",
    "host_path",
    "capability:NET_ADMIN",
    "capability:cap_sys_admin",
]


def test_nothing_dangerous_is_granted_by_default() -> None:
    assert SecurityAllowance().refuses(ASKS) == sorted(ASKS)
    assert SecurityAllowance().refuses([]) == []


def test_a_range_that_allows_privileged_scenarios_grants_all_but_unlisted_capabilities() -> None:
    allowance = SharingPolicy(allow_privileged=True).allowance()
    assert allowance.refuses(ASKS) == ["capability:cap_sys_admin"]
    assert allowance.refuses(["capability:CAP_NET_RAW", "capability:sys_ptrace"]) == []


def test_each_grant_is_separate() -> None:
    only_paths = SecurityAllowance(host_path=True)
    assert only_paths.refuses(["host_path", "host_pid"]) == ["host_pid"]
    assert SecurityAllowance(host_namespaces=True).refuses(["host_network", "host_pid", "privileged"]) == [
        "privileged"
    ]
    assert (
        SecurityAllowance(added_capabilities=frozenset({"CAP_NET_ADMIN"})).refuses(["capability:net_admin"])
        == []
    )


def test_privilege_escalation_is_granted_unless_the_allowance_withholds_it() -> None:
    assert SecurityAllowance().refuses(["privilege_escalation"]) == []
    assert SecurityAllowance(privilege_escalation=False).refuses(["privilege_escalation", "host_path"]) == [
        "host_path",
        "privilege_escalation",
    ]
