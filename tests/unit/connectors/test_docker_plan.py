"""The Docker connector's pure decisions: config parsing, network plan, container plan, subnets,
readiness verdicts (no engine)."""

from __future__ import annotations

import io
import ipaddress
import tarfile
from datetime import UTC, datetime, timedelta

import pytest

from connectors.base import ConnectorError, InstanceSpec
from connectors.docker import naming
from connectors.docker.config import DockerConfig
from connectors.docker.containers import files_archive, plan_container
from connectors.docker.readiness import HostState, container_verdict, probe_command
from connectors.docker.subnets import is_overlap, pick_subnet, used_subnets
from connectors.docker.topology import ROLE_EDGE, ROLE_FLOW, ROLE_SEGMENT, limitations, plan_networks
from scenarios.loader import load_text
from scenarios.materialise import materialise
from scenarios.model import Readiness, Scenario
from scenarios.serialise import dump_yaml

SCENARIO = """
apiVersion: federange/v1
kind: Scenario
metadata: {name: plan, version: 1.0.0, title: Plan}
spec:
  variables: [{name: flag, kind: flag}]
  segments: [{name: dmz}, {name: lan}]
  hosts:
    - name: gw
      image: busybox:1.36
      command: [httpd, -f, -p, "2222"]
      entry: true
      ports: [{port: 2222}]
      segments: [dmz]
      resources:
        requests: {cpu_millicores: 100, memory_mib: 32}
        limits: {cpu_millicores: 250, memory_mib: 64}
    - name: web
      image: busybox:1.36
      args: ["{{ vars.flag }}"]
      env: {FLAG: "{{ vars.flag }}"}
      segments: [dmz, lan]
      egress: {}
      files: [{path: /srv/flag, content: "flag={{ vars.flag }}", mode: 0600}]
      readiness: {tcp_port: 80}
      volumes: [{name: data, mount_path: /data}]
      resources: {requests: {cpu_millicores: 50, memory_mib: 16}}
      security: {capabilities: [net_admin]}
    - name: db
      image: busybox:1.36
      segments: [lan]
      resources: {requests: {cpu_millicores: 50, memory_mib: 16}}
  flows:
    - {from: {segment: dmz, hosts: [gw]}, to: {segment: lan, hosts: [db]}, ports: [{port: 5432}]}
"""


@pytest.fixture
def scenario() -> Scenario:
    return load_text(SCENARIO)


def _instance(scenario: Scenario) -> InstanceSpec:
    return InstanceSpec(
        instance_id="i-1",
        exercise="ex",
        team="team-a",
        scenario_document=dump_yaml(scenario),
        values=materialise(scenario, seed=b"unit", instance_id="i-1"),
    )


def test_networks_one_internal_bridge_per_segment_edges_and_flows(scenario: Scenario) -> None:
    plans = {p.name: p for p in plan_networks("i-1", scenario)}
    assert plans["fr-i-1.dmz"].role == ROLE_SEGMENT and plans["fr-i-1.dmz"].internal
    assert plans["fr-i-1.dmz"].members == ("gw", "web")
    assert plans["fr-i-1.lan"].members == ("web", "db")
    edge_gw, edge_web = plans["fr-i-1.gw.edge"], plans["fr-i-1.web.edge"]
    assert edge_gw.role == ROLE_EDGE and not edge_gw.internal and not edge_gw.masquerade
    assert edge_web.masquerade, "a host declaring egress gets NAT on its own edge"
    flow = plans["fr-i-1.flow.0"]
    assert flow.role == ROLE_FLOW and flow.internal and flow.members == ("db", "gw")


def test_limitations_are_stated_not_hidden(scenario: Scenario) -> None:
    notes = " | ".join(limitations(scenario))
    assert "flow 0 (dmz -> lan)" in notes and "5432/TCP" in notes
    assert "host web: egress" in notes and "size_mib" in notes


def test_names_cannot_collide_between_instances() -> None:
    assert naming.container_name("x", "web-db") != naming.container_name("x-web", "db")
    assert naming.segment_network("x", "flow") != naming.flow_network("x", 0)


def test_container_plan_follows_the_scenario(scenario: Scenario) -> None:
    instance = _instance(scenario)
    config = DockerConfig.from_mapping({"image_map": {"busybox:1.36": "local/busybox:test"}})
    networks = plan_networks("i-1", scenario)
    gw = plan_container(instance, scenario.host("gw"), config=config, networks=networks)
    web = plan_container(instance, scenario.host("web"), config=config, networks=networks)
    db = plan_container(instance, scenario.host("db"), config=config, networks=networks)
    flag = instance.values["flag"]
    assert gw.image == "local/busybox:test" and gw.entrypoint == ["httpd", "-f", "-p", "2222"]
    assert gw.published == ["2222/tcp"] and not web.published and not db.published
    assert (gw.nano_cpus, gw.mem_bytes) == (250_000_000, 64 * 1024 * 1024), "limits are what was booked"
    assert web.entrypoint is None and web.command == [flag] and web.environment == {"FLAG": flag}
    assert [n.name for n in gw.networks] == ["fr-i-1.dmz", "fr-i-1.flow.0", "fr-i-1.gw.edge"], "edge last"
    assert web.cap_add == ["NET_ADMIN"] and "MKNOD" in web.cap_drop
    assert web.volumes[0].name == "fr-i-1.web.data"
    assert web.labels[naming.LABEL_HOSTS] == "gw,web,db"
    assert Readiness.model_validate_json(web.labels[naming.LABEL_READINESS]).tcp_port == 80
    assert gw.labels[naming.LABEL_ENTRY_PORTS] == "2222/TCP"
    args = gw.host_config_args(config)
    assert args["init"] is True and args["network_mode"] == "fr-i-1.dmz"
    assert args["port_bindings"] == {"2222/tcp": ("0.0.0.0", None)}
    other = plan_container(instance, scenario.host("gw"), config=config, networks=networks)
    assert other.spec_hash == gw.spec_hash and web.spec_hash != gw.spec_hash


def test_files_archive_keeps_content_and_mode(scenario: Scenario) -> None:
    instance = _instance(scenario)
    plan = plan_container(
        instance, scenario.host("web"), config=DockerConfig(), networks=plan_networks("i-1", scenario)
    )
    with tarfile.open(fileobj=io.BytesIO(files_archive(plan.files))) as archive:
        member = archive.getmember("srv/flag")
        assert member.mode == 0o600
        content = archive.extractfile(member)
        assert content is not None and content.read().decode() == f"flag={instance.values['flag']}"


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ({"base_url": "docker.sock"}, "base_url: expected a unix://"),
        ({"pull": "always"}, "pull: Input should be 'never' or 'if-missing'"),
        ({"address_pool": "100.64.0.0/16"}, "address_pool: 100.64.0.0/16 is not a private range"),
        ({"subnet_prefix": 30}, "subnet_prefix: Input should be less than or equal to 29"),
        ({"address_pool": "10.0.0.0/24", "subnet_prefix": 20}, "subnet_prefix: must lie between 24"),
        ({"api_timeout": "fast"}, "api_timeout: Input should be a valid number"),
        ({"tls_cert": "PEM"}, "tls_cert: tls_cert and tls_key go together"),
        ({"image_map": ["busybox"]}, "image_map: Input should be a valid dictionary"),
        ({"image_map": {"busybox:1.36": ""}}, 'image_map["busybox:1.36"]: String should have at least 1'),
        ({"registry": "x"}, "registry: unknown key (known: address_pool, api_timeout"),
    ],
)
def test_bad_config_names_the_field(config: dict[str, object], expected: str) -> None:
    with pytest.raises(ConnectorError) as failure:
        DockerConfig.from_mapping(config)
    assert expected in failure.value.reason


def test_subnets_skip_what_is_used() -> None:
    pool = ipaddress.IPv4Network("10.213.0.0/16")
    used = used_subnets(
        [
            {"IPAM": {"Config": [{"Subnet": "10.213.0.0/26"}, {"Subnet": "fd00::/64"}]}},
            {"IPAM": {"Config": [{"Subnet": "10.213.0.64/27"}]}},
            {"IPAM": {"Config": None}},
        ]
    )
    assert pick_subnet(pool, 26, used) == ipaddress.IPv4Network("10.213.0.128/26")
    assert (
        pick_subnet(ipaddress.IPv4Network("10.0.0.0/26"), 26, [*used, ipaddress.IPv4Network("10.0.0.0/8")])
        is None
    )
    assert is_overlap("Pool overlaps with other one on this address space")


NOW = datetime(2030, 1, 1, tzinfo=UTC)


def _started(seconds_ago: float) -> str:
    return (NOW - timedelta(seconds=seconds_ago)).strftime("%Y-%m-%dT%H:%M:%S.%f") + "123Z"


@pytest.mark.parametrize(
    ("state", "restarts", "expected", "reason"),
    [
        ({"Status": "running", "StartedAt": _started(60)}, 0, HostState.RUNNING, ""),
        ({"Status": "exited", "ExitCode": 3}, 0, HostState.FAILED, "exited with code 3"),
        (
            {"Status": "exited", "ExitCode": 137, "OOMKilled": True},
            0,
            HostState.FAILED,
            "out of memory (limit 32 MiB)",
        ),
        ({"Status": "restarting", "ExitCode": 1}, 5, HostState.FAILED, "crash loop: restarted 5 times"),
        ({"Status": "restarting", "ExitCode": 1}, 1, HostState.STARTING, "restarting"),
        ({"Status": "running", "StartedAt": _started(2)}, 4, HostState.FAILED, "crash loop"),
        ({"Status": "created"}, 0, HostState.STARTING, "not started"),
        ({"Status": "removing"}, 0, HostState.TERMINATING, "removed"),
    ],
)
def test_container_verdicts(
    state: dict[str, object], restarts: int, expected: HostState, reason: str
) -> None:
    verdict = container_verdict(state, restart_count=restarts, memory_mib=32, now=NOW)
    assert verdict.state is expected and reason in verdict.reason


def test_probe_commands_need_only_a_shell() -> None:
    tcp = probe_command(Readiness(tcp_port=8080))
    assert tcp[:2] == ["sh", "-c"] and ":1F90 " in tcp[2]
    http = probe_command(Readiness.model_validate({"http": {"port": 80, "path": "/health"}}))
    assert "http://127.0.0.1:80/health" in http[2]
    assert probe_command(Readiness(exec=["test", "-f", "/ready"])) == ["test", "-f", "/ready"]
