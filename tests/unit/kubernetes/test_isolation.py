"""NetworkPolicy semantics of rendered instances: who can reach whom, on which port.

Two instances of the same scenario run side by side in one cluster (with the cluster DNS and a pod in
another namespace). For every pair of pods and every port the scenario mentions (plus ports it does not),
the evaluator's answer must equal the matrix the scenario implies: hosts sharing a segment reach each
other on every port, a declared flow opens exactly its sources, destinations and ports, nothing else
passes, and nothing at all passes between instances.
"""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest

from connectors.kubernetes.network import AccessMode, NetworkOptions
from connectors.kubernetes.render import render_instance
from scenarios.model import Scenario
from tests.support.netpol import External, Network, Pod, pods_of
from tests.unit.kubernetes.scenarios import SCENARIOS, instance

DNS = Pod("kube-system", "coredns", {"k8s-app": "kube-dns"}, "10.96.0.10", {"dns": (53, "UDP")})
OUTSIDER = Pod("default", "curious", {"app": "curious"}, "10.244.9.9")
# Addresses outside the cluster are documentation addresses (RFC 5737): to the policies they are "the
# internet" like any other non-private address, and no test names a real public one
# (tests/unit/test_no_public_targets.py).
TEAM_LAPTOP = External("203.0.113.9")
INTERNET_SERVER = External("192.0.2.80")
PARTNER_API = External("198.51.100.7")
PRIVATE_SERVER = External("10.0.0.1")


def expected(scenario: Scenario, src: str, dst: str, port: int, protocol: str) -> bool:
    """The scenario's intent: same segment, or a declared flow covering source, destination and port."""
    source, target = scenario.host(src), scenario.host(dst)
    if set(source.segments) & set(target.segments):
        return True
    for flow in scenario.spec.flows:
        if (
            flow.from_.segment in source.segments
            and (not flow.from_.hosts or src in flow.from_.hosts)
            and flow.to.segment in target.segments
            and (not flow.to.hosts or dst in flow.to.hosts)
            and (not flow.ports or any(p.port == port and p.protocol.value == protocol for p in flow.ports))
        ):
            return True
    return False


def ports_of(scenario: Scenario) -> set[tuple[int, str]]:
    mentioned = {(p.port, p.protocol.value) for h in scenario.spec.hosts for p in h.ports}
    mentioned |= {(p.port, p.protocol.value) for f in scenario.spec.flows for p in f.ports}
    return mentioned | {(9999, "TCP"), (9999, "UDP")}


def cluster(
    scenario: Scenario, options: NetworkOptions | None = None
) -> tuple[Network, list[Pod], list[Pod]]:
    objects: list[dict[str, Any]] = []
    pods: dict[str, list[Pod]] = {}
    namespaces = {
        "kube-system": {"kubernetes.io/metadata.name": "kube-system"},
        "default": {"kubernetes.io/metadata.name": "default"},
    }
    for index, team in enumerate(("a", "b"), start=1):
        rendered = render_instance(
            instance(scenario, instance_id=f"i-team-{team}", team=team), network=options
        )
        namespace = rendered[0]
        namespaces[namespace["metadata"]["name"]] = {
            **namespace["metadata"]["labels"],
            "kubernetes.io/metadata.name": namespace["metadata"]["name"],  # set by the API server
        }
        pods[team] = pods_of(rendered, subnet=f"10.244.{index}.0/24")
        objects += rendered
    network = Network(namespaces=namespaces, pods=[*pods["a"], *pods["b"], DNS, OUTSIDER], policies=objects)
    return network, pods["a"], pods["b"]


@pytest.fixture(params=sorted(SCENARIOS))
def scenario(request: pytest.FixtureRequest) -> Scenario:
    factory = SCENARIOS[request.param]
    return factory()


def test_reachability_inside_an_instance_is_exactly_the_scenarios_matrix(scenario: Scenario) -> None:
    network, team_a, _ = cluster(scenario)
    ports = ports_of(scenario)
    wrong = []
    checked = allowed = 0
    for src in team_a:
        for dst in team_a:
            if src is dst:
                continue
            for port, protocol in sorted(ports):
                want = expected(scenario, src.name, dst.name, port, protocol)
                got = network.allowed(src, dst, port, protocol)
                checked += 1
                allowed += got
                if got != want:
                    wrong.append(
                        f"{src.name} -> {dst.name}:{port}/{protocol}: got {got}, scenario says {want}"
                    )
    assert not wrong, "\n".join(wrong)
    assert allowed > 0
    if scenario.metadata.name != "contract":  # the contract scenario's two hosts share a segment
        assert allowed < checked  # the matrix has both answers, so it tells something


def test_nothing_passes_between_instances_or_from_other_namespaces(scenario: Scenario) -> None:
    network, team_a, team_b = cluster(scenario)
    for src in team_a:
        for dst in team_b:
            for port, protocol in ports_of(scenario):
                assert not network.allowed(src, dst, port, protocol), f"{src.name}(a) -> {dst.name}(b):{port}"
                assert not network.allowed(dst, src, port, protocol), f"{dst.name}(b) -> {src.name}(a):{port}"
        for port, protocol in ports_of(scenario):
            assert not network.allowed(OUTSIDER, src, port, protocol)
            assert not network.allowed(src, OUTSIDER, port, protocol)


def test_every_pod_resolves_names_through_the_cluster_dns_and_nothing_else_there(scenario: Scenario) -> None:
    network, team_a, _ = cluster(scenario)
    for pod in team_a:
        assert network.allowed(pod, DNS, 53, "UDP")
        assert network.allowed(pod, DNS, 53, "TCP")
        assert not network.allowed(pod, DNS, 8080)
        assert not network.allowed(DNS, pod, 53, "UDP")


def test_teams_reach_entry_ports_from_outside_and_nothing_more(scenario: Scenario) -> None:
    network, team_a, team_b = cluster(scenario)
    for pod in team_a:
        host = scenario.host(pod.name)
        for port, protocol in ports_of(scenario):
            declared = any(p.port == port and p.protocol.value == protocol for p in host.ports)
            assert network.allowed(TEAM_LAPTOP, pod, port, protocol) == (host.entry and declared), (
                f"laptop -> {pod.name}:{port}/{protocol}"
            )
            # The entry door is for outside addresses: another instance's pods are carved out.
            for other in team_b:
                assert not network.allowed(other, pod, port, protocol)
    closed, team_a, _ = cluster(scenario, NetworkOptions(access=AccessMode.NONE))
    for pod in team_a:
        for port, protocol in ports_of(scenario):
            assert not closed.allowed(TEAM_LAPTOP, pod, port, protocol)


def test_only_hosts_with_declared_egress_reach_the_internet_and_never_private_ranges(
    scenario: Scenario,
) -> None:
    network, team_a, _ = cluster(scenario)
    for pod in team_a:
        egress = scenario.host(pod.name).egress
        allowed_ports = {(p.port, p.protocol.value) for p in egress.ports} if egress else set()
        for port, protocol in ports_of(scenario) | {(80, "TCP"), (443, "TCP")}:
            for target in (INTERNET_SERVER, PARTNER_API):
                inside = egress is not None and any(
                    ipaddress.ip_address(target.ip) in ipaddress.ip_network(c) for c in egress.cidrs
                )
                want = inside and (port, protocol) in allowed_ports
                assert network.allowed(pod, target, port, protocol) == want, (
                    f"{pod.name} -> {target.ip}:{port}"
                )
            assert not network.allowed(pod, PRIVATE_SERVER, port, protocol)


def test_the_web_breach_matrix_has_the_intended_doors() -> None:
    """Spot checks that spell out the web-breach scenario's intent in words."""
    from tests.unit.kubernetes.scenarios import web_breach

    network, team_a, _ = cluster(web_breach())
    pod = {p.name: p for p in team_a}
    assert network.allowed(pod["attacker"], pod["web"], 8080)  # both on dmz
    assert not network.allowed(pod["attacker"], pod["api"], 9000)  # only web may cross to api
    assert network.allowed(pod["web"], pod["api"], 9000)
    assert not network.allowed(pod["web"], pod["api"], 22)  # ... and only on 9000
    assert not network.allowed(pod["web"], pod["db"], 5432)  # db is not a flow destination
    assert network.allowed(pod["monitor"], pod["attacker"], 22)  # mgmt -> dmz, every port
    assert not network.allowed(pod["attacker"], pod["monitor"], 9100)  # flows are one-way
    assert network.allowed(pod["jump"], pod["db"], 5432)  # jump sits on internal too
    assert network.allowed(pod["db"], pod["monitor"], 161, "UDP")
    assert not network.allowed(pod["db"], pod["monitor"], 161, "TCP")
    assert not network.allowed(pod["api"], pod["monitor"], 161, "UDP")  # narrowed to db


def test_the_e2e_isolation_scenario_means_what_the_e2e_suite_checks_on_a_cluster() -> None:
    from scenarios.loader import load_text
    from tests.e2e.kubernetes_cluster import ISOLATION

    scenario = load_text(ISOLATION.format(image="busybox:1.36"))
    network, team_a, team_b = cluster(scenario)
    a = {p.name: p for p in team_a}
    b = {p.name: p for p in team_b}
    assert network.allowed(a["client"], a["web"], 8080)
    assert network.allowed(a["peer"], a["web"], 8080)
    assert network.allowed(a["client"], DNS, 53, "UDP")
    assert not network.allowed(a["stranger"], a["web"], 8080)
    assert not network.allowed(a["client"], b["web"], 8080)
    assert not network.allowed(b["peer"], a["web"], 8080)
    # no egress declared: nothing outside the cluster, on any port (the e2e suite cannot send packets
    # there; it checks a Service of a scratch namespace instead)
    for port in (53, 80, 443, 8080):
        for outside in (INTERNET_SERVER, PARTNER_API, TEAM_LAPTOP):
            assert not network.allowed(a["client"], outside, port)
            assert not network.allowed(b["web"], outside, port)
