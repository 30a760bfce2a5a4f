"""The KYPO and CyRIS files of the shared corpus import into valid scenarios in which hosts, networks,
memberships and groups survive; what cannot be expressed is reported by its source path; look-alike files
are refused with a message naming the problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from scenarios.bundle import load_bundle
from scenarios.importers.cyris import import_cyris
from scenarios.importers.kypo import import_kypo
from scenarios.importers.report import Fate, ImportRefused
from scenarios.importers.tables import TablesError, load_tables
from scenarios.loader import load_text
from scenarios.serialise import dump_yaml

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
KYPO = FIXTURES / "corpus" / "kypo"
CYRIS = FIXTURES / "corpus" / "cyris"
LOOKALIKES = FIXTURES / "lookalikes"
SANDBOX = "backend-sandbox-service__crczp_sandbox_instance_app_tests_assets_"
TOPOLOGY_TEST = "backend-topology-definition__tests_assets_topology.yml"


def lines(items: list[object]) -> list[str]:
    return [str(i) for i in items]


def test_junior_hacker_keeps_hosts_networks_memberships_and_routing() -> None:
    imported = import_kypo(KYPO / "library-junior-hacker__topology.yml")
    scenario = imported.scenario
    assert scenario.metadata.name == "library-junior-hacker"
    assert [s.name for s in scenario.spec.segments] == ["target-switch", "attacker-switch"]
    assert {h.name: h.segments for h in scenario.spec.hosts} == {
        "attacker": ["attacker-switch"],
        "server": ["target-switch"],
        "client": ["target-switch"],
    }
    assert [(f.from_.segment, f.to.segment, f.ports) for f in scenario.spec.flows] == [
        ("target-switch", "attacker-switch", []),
        ("attacker-switch", "target-switch", []),
    ]
    attacker = scenario.host("attacker")
    assert attacker.entry and [p.port for p in attacker.ports] == [22]
    assert attacker.image == "kalilinux/kali-rolling:latest"
    assert attacker.resources.limits is not None and attacker.resources.limits.memory_mib == 2048
    assert not scenario.host("server").entry  # target-switch is not accessible by the user
    assert scenario.host("server").egress is not None  # the WAN gives internet access
    assert str(imported.report.about("routers[0]")[0]) == (
        "routers[0] 'router': routers are not deployed (it joins target-switch, attacker-switch): routing "
        "becomes segment flows; its base box and flavor are dropped"
    )


def test_secret_laboratory_variables_become_per_team_variables() -> None:
    imported = import_kypo(
        KYPO / "library-secret-laboratory__topology.yml",
        variables=KYPO / "library-secret-laboratory__variables.yml",
    )
    variables = {v.name: v for v in imported.scenario.spec.variables}
    assert sorted(variables) == ["level_2_flag", "level_3_flag", "level_5_flag"]
    assert variables["level_3_flag"].kind.value == "password"
    assert variables["level_2_flag"].kind.value == "token" and variables["level_2_flag"].is_secret
    assert "challenge 2" in variables["level_2_flag"].description
    hidden = imported.report.about("hosts[1].hidden")
    assert lines(hidden) == [
        "hosts[1].hidden 'true': KYPO only hides the host from its topology view; it is deployed and "
        "reachable like any other"
    ]
    assert not imported.scenario.host("server").entry  # its switch is not accessible by the user


@pytest.mark.parametrize(
    "name", [TOPOLOGY_TEST, "backend-topology-definition__tests_assets_topology-with-monitoring.yml"]
)
def test_backend_assets_keep_groups_and_report_the_windows_box(name: str) -> None:
    imported = import_kypo(KYPO / name)
    scenario = imported.scenario
    assert [(g.name, g.hosts) for g in scenario.spec.groups] == [("user-accessible", ["server", "home"])]
    home = scenario.host("home")
    assert home.needs_vm and home.image == "windows/windows-10-amd64"
    assert scenario.spec.requires == ["vm"]
    assert scenario.host("server").egress is None  # block_internet
    report = lines(imported.report.items)
    assert (
        "hosts[1].base_box.image 'windows/windows-10-amd64': no container image (image map pattern "
        "'*windows*'): host marked needs_vm, the scenario requires a VM-capable range"
    ) in report
    assert "groups[0].nodes[2] 'home-router': a router, not deployed; left out of the group" in report
    assert any(line.startswith("hosts[1].extra 'foo, hello, yello'") for line in report)
    assert "routers[0] 'server-router'" in " ".join(report)
    if "monitoring" in name:
        (monitoring,) = imported.report.about("monitoring_targets")
        assert monitoring.fate is Fate.UNSUPPORTED and monitoring.element == "http, icmp, tcp"
    assert all(i.fate in (Fate.DROPPED, Fate.APPROXIMATED, Fate.UNSUPPORTED) for i in imported.report.items)


def test_containers_become_hosts_beside_their_kypo_host() -> None:
    imported = import_kypo(
        KYPO / f"{SANDBOX}definition_flavor_mapping.yml", containers=KYPO / f"{SANDBOX}containers.yml"
    )
    scenario = imported.scenario
    docker = scenario.host("docker")
    assert docker.image == "debian"
    assert docker.segments == scenario.host("home").segments == ["home-switch"]
    assert [p.port for p in docker.ports] == [2222]
    server = scenario.host("server")
    assert (
        server.resources.limits is not None and server.resources.limits.cpu_millicores == 2000
    )  # standard.medium
    report = lines(imported.report.items)
    assert any(
        line.startswith("containers.yml: containers[1] 'docker2': built from dockerfile 'docker2/'")
        for line in report
    )
    assert (
        "containers.yml: containers[0].image 'debian': no tag: the range pulls ':latest'; pin a tag" in report
    )


def test_cyris_full_keeps_guests_networks_gateways_and_generates_playbooks(tmp_path: Path) -> None:
    imported = import_cyris(CYRIS / "cyris__examples_full.yml")
    scenario = imported.scenario
    assert {h.name: h.segments for h in scenario.spec.hosts} == {
        "desktop": ["office"],
        "webserver": ["servers"],
        "firewall": ["office", "servers"],
    }
    assert scenario.host("desktop").entry and all(h.needs_vm for h in scenario.spec.hosts)
    (flow,) = scenario.spec.flows
    assert (flow.from_.segment, flow.to.segment) == ("office", "servers")
    assert sorted({p.port for p in flow.ports}) == [25, 53]
    assert sorted(imported.files) == [
        "playbooks/desktop.yml",
        "playbooks/firewall.yml",
        "playbooks/webserver.yml",
    ]
    assert "danielpass" not in imported.files["playbooks/desktop.yml"]
    assert scenario.variable("desktop_daniel_password").value == "danielpass"
    assert scenario.variable("desktop_daniel_password").is_secret
    report = lines(imported.report.items)
    for expected in (
        "[2].clone_settings[0].hosts[0].instance_number '2': Federange makes one instance per team",
        "[1].guest_settings[0].tasks[3].emulate_attack '1 entries': Federange does not emulate attacks",
        "[1].guest_settings[0].tasks[6].copy_content[1].src '/home/cyuser/database/flag.txt': the content",
        "[0].host_settings 'host_1': CyRIS physical hosts",
    ):
        assert any(line.startswith(expected) for line in report), expected
    written = imported.write(tmp_path / "out")
    assert written[0].name == "scenario.yaml"
    bundle = load_bundle(tmp_path / "out" / "scenario.yaml")  # the playbooks exist and target the right hosts
    assert bundle.scenario == scenario


@pytest.mark.parametrize("name", ["cyris__examples_basic.yml", "cyris__examples_basic-multi_host.yml"])
def test_cyris_basic_examples(name: str) -> None:
    imported = import_cyris(CYRIS / name)
    (host,) = imported.scenario.spec.hosts
    assert (host.name, host.segments, host.entry) == ("desktop", ["office"], True)
    assert imported.files == {}


def test_cyris_clones_form_a_group(tmp_path: Path) -> None:
    text = (CYRIS / "cyris__examples_basic.yml").read_text().replace("number: 1", "number: 3")
    (tmp_path / "three.yml").write_text(text)
    scenario = import_cyris(tmp_path / "three.yml").scenario
    assert [h.name for h in scenario.spec.hosts] == ["desktop-1", "desktop-2", "desktop-3"]
    assert [(g.name, g.hosts) for g in scenario.spec.groups] == [
        ("desktop-clones", ["desktop-1", "desktop-2", "desktop-3"])
    ]


def test_imported_yaml_round_trips() -> None:
    for imported in (import_kypo(KYPO / TOPOLOGY_TEST), import_cyris(CYRIS / "cyris__examples_full.yml")):
        assert load_text(dump_yaml(imported.scenario)) == imported.scenario


@pytest.mark.parametrize(
    ("importer", "path", "message"),
    [
        ("kypo", LOOKALIKES / "docker-compose.yml", "missing 'name', 'hosts', 'networks', 'net_mappings'; this looks like a Docker Compose file"),  # noqa: E501
        ("kypo", LOOKALIKES / "pod.yaml", "this looks like a Kubernetes manifest (apiVersion 'v1', kind 'Pod')"),  # noqa: E501
        ("kypo", LOOKALIKES / "training-definition.json", "this looks like a KYPO training definition"),
        ("kypo", CYRIS / "cyris__examples_full.yml", "this looks like a CyRIS range description"),
        ("kypo", KYPO / f"{SANDBOX}containers.yml", "this looks like a KYPO containers.yml"),
        ("cyris", KYPO / TOPOLOGY_TEST, "the document is a mapping; this looks like a KYPO/CyberRangeCZ topology"),  # noqa: E501
        ("cyris", LOOKALIKES / "docker-compose.yml", "this looks like a Docker Compose file"),
    ],
)  # fmt: skip
def test_look_alike_files_are_refused_naming_the_problem(importer: str, path: Path, message: str) -> None:
    run = import_kypo if importer == "kypo" else import_cyris
    with pytest.raises(ImportRefused) as refused:
        run(path)
    assert message in refused.value.reason
    assert str(path) in str(refused.value)


def test_a_cyris_list_without_clone_settings_is_refused(tmp_path: Path) -> None:
    (tmp_path / "half.yml").write_text("- guest_settings:\n  - id: desktop\n")
    with pytest.raises(
        ImportRefused, match="a CyRIS range description, but an incomplete one: missing 'clone_settings'"
    ):
        import_cyris(tmp_path / "half.yml")


def test_the_image_map_is_overridable(tmp_path: Path) -> None:
    override = tmp_path / "map.yaml"
    override.write_text(
        "images:\n  kali: {image: 'registry.example.org/kali-ssh:2024.1', ssh: true}\n"
        "patterns:\n"
        "  - {match: '*windows*', image: 'registry.example.org/wine:9', command: [sleep, infinity]}\n"
    )
    imported = import_kypo(KYPO / "library-junior-hacker__topology.yml", tables=load_tables(override))
    assert imported.scenario.host("attacker").image == "registry.example.org/kali-ssh:2024.1"
    assert "hosts[0] 'attacker': entry point: the team reaches it over SSH (port 22)" in lines(
        imported.report.about("hosts[0]")
    )
    windows = import_kypo(KYPO / TOPOLOGY_TEST, tables=load_tables(override)).scenario.host("home")
    assert (windows.image, windows.needs_vm) == ("registry.example.org/wine:9", False)


def test_a_broken_image_map_names_the_problem(tmp_path: Path) -> None:
    override = tmp_path / "map.yaml"
    override.write_text("images:\n  kali: {ssh: true}\n")
    with pytest.raises(
        TablesError, match=r"images.kali: Value error, an entry has either an 'image' or 'needs_vm: true'"
    ):
        load_tables(override)
    override.write_text("flavours: {}\n")
    with pytest.raises(TablesError, match=r"unknown keys \['flavours'\]"):
        load_tables(override)
