"""A scenario for three teams on the real Docker engine: deployed, provisioned by Ansible, isolated, gone.

Runs over the busybox fixture scenario beside this file and over every library scenario whose images are
all `busybox:*` (they run on the locally built busybox image; nothing else can run without a registry).
"""

from __future__ import annotations

import itertools
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import docker
import pytest

from connectors.ansible.provisioner import ProvisioningResult, provision
from connectors.base import InstanceSpec
from connectors.docker import naming
from connectors.docker.connector import DockerConnector
from connectors.fanout import deploy_many, teardown_many
from scenarios.loader import load_file
from scenarios.materialise import materialise
from scenarios.model import Host, Scenario
from scenarios.serialise import dump_yaml
from tests.integration.connectors.dockerenv import address_on, addresses, remains, run_in
from tests.support import probe
from tests.support.lookup import nslookup_addresses

pytestmark = [pytest.mark.docker, pytest.mark.ansible, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[3]
FIXTURE = Path(__file__).parent / "scenarios" / "busybox-range" / "scenario.yaml"
SEED = b"three-teams-seed"
TEAMS = ("a", "b", "c")


def _busybox_only(path: Path) -> bool:
    scenario = load_file(path)
    return all((h.image or "").startswith("busybox:") for h in scenario.spec.hosts)


LIBRARY = sorted(p for p in (ROOT / "scenarios" / "library").glob("*/scenario.yaml") if _busybox_only(p))
SCENARIOS = [FIXTURE, *LIBRARY]


def _instances(scenario: Scenario) -> list[InstanceSpec]:
    token = uuid.uuid4().hex[:6]
    instances = []
    for team in TEAMS:
        instance_id = f"tt{token}-{team}"
        instances.append(
            InstanceSpec(
                instance_id=instance_id,
                exercise="three-teams",
                team=f"team-{team}",
                scenario_document=dump_yaml(scenario),
                values=materialise(scenario, seed=SEED, instance_id=instance_id),
            )
        )
    return instances


def _ports(host: Host) -> list[int]:
    """TCP ports the host listens on: declared ones and its readiness probe's."""
    ports = [p.port for p in host.ports if p.protocol.value == "TCP"]
    readiness = host.readiness
    if readiness is not None and readiness.tcp_port is not None:
        ports.append(readiness.tcp_port)
    if readiness is not None and readiness.http is not None:
        ports.append(readiness.http.port)
    return sorted(set(ports))


def _closed_port(scenario: Scenario) -> int:
    """A TCP port no host of the scenario declares: a reachable host answers it with a reset (REFUSED),
    which proves the packets got there even for a host that listens on nothing."""
    used = {port for host in scenario.spec.hosts for port in _ports(host)}
    return next(port for port in range(1, 100) if port not in used)


def _probes(
    api: docker.APIClient, instance: InstanceSpec, source: str, targets: list[probe.Target]
) -> dict[probe.Target, probe.Outcome]:
    """Every target probed in parallel from one host (ProbeBroken when any probe gives no verdict)."""
    result = run_in(api, naming.container_name(instance.instance_id, source), probe.batch_command(targets))
    return probe.verdicts(result.output, result.code, targets)


def _check_segments(api: docker.APIClient, instance: InstanceSpec) -> None:
    """Hosts sharing a segment reach each other through the segment's network: every listening port is
    REACHED and a closed one REFUSED (the host itself answered)."""
    scenario = instance.scenario
    closed = _closed_port(scenario)
    for segment in scenario.spec.segments:
        network = naming.segment_network(instance.instance_id, segment.name)
        members = [h for h in scenario.spec.hosts if segment.name in h.segments]
        for source, target in itertools.permutations(members, 2):
            address = address_on(api, naming.container_name(instance.instance_id, target.name), network)
            listening = [probe.Target(address, port) for port in _ports(target)]
            outcomes = _probes(api, instance, source.name, [*listening, probe.Target(address, closed)])
            where = f"{instance.team}: {source.name} -> {target.name} on {segment.name}"
            probe.expect(
                {t: o for t, o in outcomes.items() if t.port != closed}, probe.Outcome.REACHED, where=where
            )
            probe.expect(
                {t: o for t, o in outcomes.items() if t.port == closed}, probe.Outcome.REFUSED, where=where
            )


def _check_isolation(api: docker.APIClient, instance: InstanceSpec, others: list[InstanceSpec]) -> None:
    """No host of `instance` reaches any host of the other teams: every address of theirs, on every port
    they listen on and on a closed one, times out (Docker drops traffic between different bridges; a
    reset would mean the packets got there). The other teams' container names do not resolve to their
    addresses, while a host's own name resolves (so the resolver works there). One exec per host runs every
    probe in parallel, another every lookup."""
    closed = _closed_port(instance.scenario)
    targets: list[probe.Target] = []
    foreign_names: list[str] = []
    foreign_addresses: set[str] = set()
    for other in others:
        for target in other.scenario.spec.hosts:
            foreign = naming.container_name(other.instance_id, target.name)
            found = addresses(api, foreign)
            assert found, f"{foreign} has no address"
            foreign_addresses.update(found)
            foreign_names.append(foreign)
            targets += [probe.Target(a, port) for a in found for port in [*_ports(target), closed]]

    def probes_from(host: str) -> None:
        outcomes = _probes(api, instance, host, targets)
        probe.expect(outcomes, probe.Outcome.TIMEOUT, where=f"{instance.team} {host}")

    def lookups_from(host: str) -> None:
        source = naming.container_name(instance.instance_id, host)
        names = [host, *foreign_names]
        lookups = " ".join(
            f"(said=$(nslookup {name} 2>&1); printf '%s\\n-- end\\n' \"$said\") &" for name in names
        )  # one printf per answer: parallel answers never interleave
        answers = run_in(api, source, ["sh", "-c", f"{lookups} wait"], timeout=30).output.split("-- end")
        assert len(answers) == len(names) + 1, answers
        # answers come back in any order: the own name is recognised by its addresses
        resolved = {a for answer in answers[:-1] for a in nslookup_addresses(answer)}
        own = set(addresses(api, source))
        assert own & resolved, f"{host} does not resolve its own name: {answers}"
        leaked = resolved & foreign_addresses
        assert not leaked, f"{host} resolved another team's name to its address: {leaked}"

    hosts = [h.name for h in instance.scenario.spec.hosts]
    with ThreadPoolExecutor(max_workers=6) as pool:
        checks = [pool.submit(check, host) for host in hosts for check in (probes_from, lookups_from)]
        for check in checks:
            check.result()


def _check_fixture(api: docker.APIClient, instance: InstanceSpec) -> None:
    """What the busybox-range fixture promises: the flag over HTTP, the flow to the db, provisioning."""
    flag = instance.values["flag"]
    gateway = naming.container_name(instance.instance_id, "gateway")
    web = naming.container_name(instance.instance_id, "web")
    page = run_in(api, gateway, ["wget", "-q", "-O", "-", "http://web/index.html"])
    assert page.code == 0 and page.output.strip() == flag, page.output
    through_flow = run_in(api, gateway, ["wget", "-q", "-O", "-", "http://db:5432/password"])
    assert through_flow.code == 0, (
        f"the declared flow gateway -> db carries no traffic: {through_flow.output}"
    )
    assert through_flow.output.strip() == instance.values["db_password"]
    marker = run_in(api, web, ["cat", "/www/provisioned.txt"])
    assert marker.output.strip() == f"provisioned {flag}", marker.output
    mode = run_in(
        api, naming.container_name(instance.instance_id, "db"), ["stat", "-c", "%a", "/data/password"]
    )
    assert mode.output.strip() == "600"


@pytest.mark.parametrize("scenario_file", SCENARIOS, ids=lambda p: p.parent.name)
def test_three_teams_deploy_provision_isolate_teardown(
    scenario_file: Path, range_config: dict[str, Any], docker_engine: docker.APIClient
) -> None:
    scenario = load_file(scenario_file)
    instances = _instances(scenario)
    ids = [i.instance_id for i in instances]
    connector = DockerConnector(range_config)
    try:
        outcomes = deploy_many(connector, instances, workers=3, ready_timeout=60)
        assert all(o.ok for o in outcomes), [o.error for o in outcomes]

        def provisioned(instance: InstanceSpec) -> tuple[InstanceSpec, ProvisioningResult, list[str]]:
            lines: list[str] = []
            result = provision(
                scenario,
                scenario_dir=scenario_file.parent,
                target=connector.provisioning_target(instance_id=instance.instance_id),
                values=instance.values,
                on_event=lines.append,
            )
            return instance, result, lines

        with ThreadPoolExecutor(max_workers=3) as pool:
            runs = list(pool.map(provisioned, instances))
        for instance, result, lines in runs:
            assert result.ok, result.reason + "\n" + "\n".join(lines)
            assert len(result.runs) == len(scenario.spec.provisioning)
            for playbook in scenario.spec.provisioning:
                for host in playbook.hosts:
                    assert any(
                        f"[{host}]" in line and line.startswith(("ok:", "changed:")) for line in lines
                    ), lines
            secrets = [v for k, v in instance.values.items() if scenario.variable(k).is_secret]
            assert not any(s in line for s in secrets for line in lines), "a secret reached the event lines"

        for instance in instances:
            _check_segments(docker_engine, instance)
            if scenario_file == FIXTURE:
                _check_fixture(docker_engine, instance)
        for instance in instances:
            _check_isolation(docker_engine, instance, [o for o in instances if o is not instance])
    finally:
        outcomes = teardown_many(connector, ids, workers=3)
        connector.close()
    assert all(o.ok for o in outcomes), [o.error for o in outcomes]
    assert remains(docker_engine, ids) == []
