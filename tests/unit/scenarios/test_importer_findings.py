"""Regressions of issue 13's importer findings, each on a real file (or a one-line edit of one): what
KYPO and CyRIS mean must survive the import, and legal shapes must never end in a Python traceback."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from orchestrator.cli import app
from scenarios.bundle import load_bundle
from scenarios.errors import ScenarioError
from scenarios.importers.cyris import import_cyris
from scenarios.importers.kctf import import_kctf
from scenarios.importers.kypo import import_kypo, sandbox_definition
from scenarios.importers.report import Fate, ImportRefused
from scenarios.loader import load_text
from scenarios.serialise import dump_yaml

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
KYPO = FIXTURES / "corpus" / "kypo"
CYRIS = FIXTURES / "corpus" / "cyris"
JUNIOR = KYPO / "library-junior-hacker__topology.yml"
SMALL_SANDBOX = KYPO / "backend-topology-definition__tests_assets_topology.yml"  # two routers, two networks
FULL = CYRIS / "cyris__examples_full.yml"
SANDBOX = FIXTURES / "kypo-sandbox"


def edited(tmp_path: Path, source: Path, edit: Callable[[Any], None], name: str = "topology.yml") -> Path:
    data = yaml.safe_load(source.read_text(encoding="utf-8"))
    edit(data)
    target = tmp_path / name
    target.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return target


def report_lines(imported: Any, path: str) -> list[str]:
    return [str(i) for i in imported.report.about(path)]


# -- CyRIS --------------------------------------------------------------------------------------------


def with_rule(rule: str) -> Callable[[Any], None]:
    def edit(data: Any) -> None:
        clone = next(item["clone_settings"] for item in data if "clone_settings" in item)
        guests = clone[0]["hosts"][0]["guests"]
        next(g for g in guests if g.get("forwarding_rules"))["forwarding_rules"] = [{"rule": rule}]

    return edit


def test_cyris_network_dot_guest_is_that_guest_on_that_network(tmp_path: Path) -> None:
    """`dst=servers.webserver` is guest webserver on network servers (CyRIS's getIpList), not a segment."""
    imported = import_cyris(
        edited(tmp_path, FULL, with_rule("src=office.desktop dst=servers.webserver dport=25"))
    )
    (flow,) = imported.scenario.spec.flows
    assert (flow.from_.segment, flow.from_.hosts) == ("office", ["desktop"])
    assert (flow.to.segment, flow.to.hosts) == ("servers", ["webserver"])
    assert [s.name for s in imported.scenario.spec.segments] == ["office", "servers"]


def test_cyris_forwarding_rules_open_tcp_only() -> None:
    """CyRIS writes every forwarding rule as `iptables ... -p tcp ...`: the flow opens TCP, not UDP."""
    imported = import_cyris(FULL)
    (flow,) = imported.scenario.spec.flows
    assert [(p.port, p.protocol.value) for p in flow.ports] == [(25, "TCP"), (53, "TCP")]
    (line,) = [
        str(i) for i in imported.report.items if "forwarding_rules[0]" in i.path and "-p tcp" in i.reason
    ]
    assert "TCP ports 25, 53" in line


def test_a_cyris_rule_without_dport_says_what_it_opens(tmp_path: Path) -> None:
    imported = import_cyris(edited(tmp_path, FULL, with_rule("src=office dst=servers")))
    (flow,) = imported.scenario.spec.flows
    assert flow.ports == []
    assert any("CyRIS opens every TCP port" in i.reason for i in imported.report.items)


@pytest.mark.parametrize(
    ("rule", "why"),
    [
        ("src=office dst=internet dport=80", "'internet' is not a network of the topology"),
        ("src=office dst=servers.mailserver dport=25", "'mailserver' is not a guest on network 'servers'"),
        ("src=office dst=servers dport=http", "dport 'http' is not a port"),
    ],
)
def test_a_cyris_rule_that_names_nothing_real_is_dropped_and_reported(
    tmp_path: Path, rule: str, why: str
) -> None:
    imported = import_cyris(edited(tmp_path, FULL, with_rule(rule)))
    assert imported.scenario.spec.flows == []
    dropped = [i for i in imported.report.items if i.fate is Fate.DROPPED and i.element == rule]
    assert len(dropped) == 1 and why in dropped[0].reason
    assert dropped[0].path.endswith(".forwarding_rules[0]")


# -- KYPO: shapes -------------------------------------------------------------------------------------


def test_a_string_base_box_is_read_as_its_image(tmp_path: Path) -> None:
    imported = import_kypo(edited(tmp_path, JUNIOR, lambda d: d["hosts"][0].__setitem__("base_box", "kali")))
    assert imported.scenario.host("attacker").image == "kalilinux/kali-rolling:latest"
    assert report_lines(imported, "hosts[0].base_box")[0].startswith(
        "hosts[0].base_box 'kali': a base box written as a bare name: read as base_box.image"
    )


def test_empty_net_mappings_import_with_every_host_on_one_segment(tmp_path: Path) -> None:
    imported = import_kypo(edited(tmp_path, JUNIOR, lambda d: d.__setitem__("net_mappings", [])))
    assert {h.name: h.segments for h in imported.scenario.spec.hosts} == {
        "attacker": ["unconnected"],
        "server": ["unconnected"],
        "client": ["unconnected"],
    }
    assert [str(i) for i in imported.report.about("networks[0]")] == [
        "networks[0].cidr '10.1.26.0/24': addresses are assigned by the range; the CIDR is not kept",
        "networks[0].accessible_by_user 'false': hosts only on 'target-switch' are not entry points; the "
        "team reaches them through other hosts",
        "networks[0] 'target-switch': no host is on this network; not imported",
    ]


ONE_LINE_EDITS: dict[str, Callable[[Any], None]] = {
    "base box as a name": lambda d: d["hosts"][1].__setitem__("base_box", "debian-12-x86_64"),
    "no net_mappings": lambda d: d.__setitem__("net_mappings", []),
    "groups: null": lambda d: d.__setitem__("groups", None),
    "no routers": lambda d: d.__setitem__("routers", []),
    "no router_mappings": lambda d: d.pop("router_mappings"),
    "no wan": lambda d: d.pop("wan"),
    "no flavor": lambda d: d["hosts"][0].pop("flavor"),
    "no base box": lambda d: d["hosts"][2].pop("base_box"),
    "quoted boolean": lambda d: d["networks"][0].__setitem__("accessible_by_user", "false"),
    "upper-case protocol": lambda d: d["hosts"][0]["base_box"].__setitem__("mgmt_protocol", "SSH"),
    "numeric flavor": lambda d: d["hosts"][0].__setitem__("flavor", 4),
    "a host that is a name": lambda d: d["hosts"].append("router2"),
    "routers as a mapping": lambda d: d.__setitem__("routers", {"name": "router"}),
    "a network that is a name": lambda d: d["networks"].append("dmz"),
    "a group without nodes": lambda d: d.__setitem__("groups", [{"name": "empty"}]),
}


@pytest.mark.parametrize("edit", sorted(ONE_LINE_EDITS))
def test_one_line_edits_of_a_real_topology_import_or_are_refused_by_path(tmp_path: Path, edit: str) -> None:
    """Legal shapes import; shapes KYPO forbids are refused naming the part. Never a Python exception
    (today's code raised AttributeError for 4 of the 11 edits the issue tried)."""
    forbidden = {"a host that is a name": "hosts[3]", "routers as a mapping": "routers"}
    forbidden["a network that is a name"] = "networks[2]"
    refused: ImportRefused | None = None
    try:
        imported = import_kypo(edited(tmp_path, JUNIOR, ONE_LINE_EDITS[edit]))
    except ImportRefused as exc:
        refused = exc
    if refused is not None:
        assert refused.path == forbidden.get(edit), str(refused)
        return
    assert edit not in forbidden
    assert load_text(dump_yaml(imported.scenario)) == imported.scenario


def test_quoted_booleans_mean_what_they_say(tmp_path: Path) -> None:
    def edit(data: Any) -> None:
        data["networks"][1]["accessible_by_user"] = "false"  # attacker-switch
        data["hosts"][1]["block_internet"] = "false"  # server
        data["hosts"][1]["hidden"] = "no"
        data["hosts"][2]["hidden"] = "yes"

    imported = import_kypo(edited(tmp_path, JUNIOR, edit))
    scenario = imported.scenario
    assert not scenario.host("attacker").entry  # "false" is false: the network is not accessible
    assert scenario.host("server").egress is not None  # "false" is false: the internet is not blocked
    assert imported.report.about("hosts[1].hidden") == []
    assert len(imported.report.about("hosts[2].hidden")) == 1


# -- KYPO: meaning ------------------------------------------------------------------------------------


def test_hidden_hosts_stay_reachable() -> None:
    """`hidden` only hides a host from KYPO's topology view: the hidden server on an accessible network is
    an entry point like any other."""
    imported = import_kypo(SMALL_SANDBOX)
    assert imported.scenario.host("server").entry
    assert "topology view" in report_lines(imported, "hosts[0].hidden")[0]


def test_hosts_behind_different_routers_reach_each_other() -> None:
    """The official two-router topology: every router is on the WAN, so the two networks reach each
    other (flows both ways), and the hidden server on the accessible network is the entry point."""
    imported = import_kypo(SMALL_SANDBOX)
    flows = {(f.from_.segment, f.to.segment, tuple(f.ports)) for f in imported.scenario.spec.flows}
    assert flows == {("server-switch", "home-switch", ()), ("home-switch", "server-switch", ())}
    assert [h.name for h in imported.scenario.spec.hosts if h.entry] == ["server"]
    (routing,) = [i for i in imported.report.items if i.path == "routers"]
    assert "through the WAN" in routing.reason


def test_a_network_no_router_joins_reaches_nothing_beyond_itself(tmp_path: Path) -> None:
    def edit(data: Any) -> None:
        data["router_mappings"] = [m for m in data["router_mappings"] if m["network"] == "attacker-switch"]

    imported = import_kypo(edited(tmp_path, JUNIOR, edit))
    assert imported.scenario.spec.flows == []
    assert imported.scenario.host("server").egress is None  # no router, no WAN
    assert imported.scenario.host("attacker").egress is not None


def test_unknown_flavors_say_what_the_host_books(tmp_path: Path) -> None:
    imported = import_kypo(edited(tmp_path, JUNIOR, lambda d: d["hosts"][0].__setitem__("flavor", "m1.huge")))
    (item,) = imported.report.about("hosts[0].flavor")
    assert item.reason == (
        "flavor 'm1.huge' is not in the flavor table: the host books the default 'standard.small' (1000m "
        "cpu, 2048 MiB), a guess; add the flavor to an --image-map file to book what it had"
    )
    assert "flavor m1.huge unknown: sized as standard.small" in imported.scenario.host("attacker").description


def test_real_kypo_keys_are_understood_or_reported_unsupported(tmp_path: Path) -> None:
    def edit(data: Any) -> None:
        data["provider"] = "OpenStack"
        data["vpn"] = {"entrypoints": [{"name": "attacker", "routes": ["10.1.0.0/16"]}]}
        data["networks"][1]["hidden"] = True
        box = data["hosts"][0]["base_box"]
        box["man_user"] = box.pop("mgmt_user")
        box["mng_protocol"] = "winrm"

    imported = import_kypo(edited(tmp_path, JUNIOR, edit))
    (vpn,) = imported.report.about("vpn")
    assert vpn.fate is Fate.UNSUPPORTED and "VPN" in vpn.reason
    assert "topology view" in report_lines(imported, "networks[1].hidden")[0]
    assert "management account" in report_lines(imported, "hosts[0].base_box.man_user")[0]
    assert [p.port for p in imported.scenario.host("attacker").ports] == [3389]  # mng_protocol: winrm
    assert "OpenStack" in report_lines(imported, "provider")[0]
    assert not [i for i in imported.report.items if "not a key of" in i.reason]


# -- KYPO: a training keeps its provisioning ----------------------------------------------------------


def test_a_training_keeps_its_provisioning_and_its_definition(tmp_path: Path) -> None:
    found = sandbox_definition(SANDBOX)
    assert found.provisioning == SANDBOX / "provisioning" and found.trainings == (SANDBOX / "training.json",)
    imported = import_kypo(
        found.topology, variables=found.variables, provisioning=found.provisioning, trainings=found.trainings
    )
    scenario = imported.scenario
    (step,) = scenario.spec.provisioning
    assert (step.playbook, step.hosts) == ("provisioning/playbook.yml", ["attacker", "vault"])
    assert step.vars == {"vault_code": "{{ vars.vault_code }}"}  # the role reads it under its KYPO name
    assert {g.name: g.hosts for g in scenario.spec.groups} == {"hosts": ["attacker", "vault"], "man": []}
    assert sorted(imported.copies) == [
        "provisioning/playbook.yml",
        "provisioning/requirements.yml",
        "provisioning/roles/vault/tasks/main.yml",
        "training/training.json",
    ]
    (training,) = imported.report.about("training: training.json")
    assert training.fate is Fate.DROPPED and "kept verbatim as training/training.json" in training.reason
    assert "vault_code (variable vault_code)" in training.reason
    assert scenario.metadata.annotations["federange.eu/kypo-training"] == "training/training.json"
    imported.write(tmp_path / "out")
    bundle = load_bundle(tmp_path / "out" / "scenario.yaml")  # plays target hosts or groups only
    assert bundle.scenario == scenario
    role = tmp_path / "out" / "provisioning" / "roles" / "vault" / "tasks" / "main.yml"
    assert role.read_bytes() == (SANDBOX / "provisioning/roles/vault/tasks/main.yml").read_bytes()


def test_a_provisioning_that_cannot_be_kept_says_so_precisely(tmp_path: Path) -> None:
    copied = tmp_path / "sandbox"
    shutil.copytree(SANDBOX, copied)
    playbook = copied / "provisioning" / "playbook.yml"
    playbook.write_text(playbook.read_text().replace("hosts: man", "hosts: vault:&inside"))
    found = sandbox_definition(copied)
    imported = import_kypo(found.topology, provisioning=found.provisioning)
    assert imported.scenario.spec.provisioning == [] and imported.copies == {}
    assert [str(i) for i in imported.report.about("provisioning/playbook.yml")] == [
        "provisioning/playbook.yml '&inside': a play targets '&inside', which can be no Federange host or "
        "group: the provisioning is not imported"
    ]


def test_binary_files_of_the_provisioning_are_copied_byte_for_byte(tmp_path: Path) -> None:
    copied = tmp_path / "sandbox"
    shutil.copytree(SANDBOX, copied)
    blob = bytes(range(256))
    (copied / "provisioning" / "roles" / "vault" / "files").mkdir()
    (copied / "provisioning" / "roles" / "vault" / "files" / "key.bin").write_bytes(blob)
    found = sandbox_definition(copied)
    imported = import_kypo(found.topology, provisioning=found.provisioning)
    imported.write(tmp_path / "out")
    assert (tmp_path / "out" / "provisioning" / "roles" / "vault" / "files" / "key.bin").read_bytes() == blob


# -- VM-only hosts, refusals --------------------------------------------------------------------------


def test_vm_only_hosts_require_a_vm_range_and_are_never_rendered_for_kubernetes(tmp_path: Path) -> None:
    imported = import_kypo(SMALL_SANDBOX)
    home = imported.scenario.host("home")
    assert home.needs_vm and imported.scenario.spec.requires == ["vm"]
    imported.write(tmp_path / "out")
    result = CliRunner().invoke(app, ["scenario", "render", str(tmp_path / "out"), "--team", "a"])
    assert result.exit_code == 1
    assert "refused: host(s) home need a VM (needs_vm)" in result.stderr
    assert "kind: Deployment" not in result.stdout


def test_an_unknown_base_box_needs_a_vm(tmp_path: Path) -> None:
    edit = lambda d: d["hosts"][2]["base_box"].__setitem__("image", "acme/appliance-7")  # noqa: E731
    imported = import_kypo(edited(tmp_path, JUNIOR, edit))
    assert imported.scenario.host("client").needs_vm and imported.scenario.spec.requires == ["vm"]


def test_a_needs_vm_host_makes_the_scenario_require_vm() -> None:
    document = yaml.safe_load(dump_yaml(import_kypo(SMALL_SANDBOX).scenario))
    document["spec"]["requires"] = []
    with pytest.raises(ScenarioError, match=r"spec.hosts\[1\].needs_vm: a host that needs a VM"):
        load_text(yaml.safe_dump(document))


@pytest.mark.parametrize(
    ("run", "source", "edit", "expected"),
    [
        (import_kypo, JUNIOR, lambda d: d.pop("name"), "a KYPO/CyberRangeCZ topology, but an incomplete one: missing 'name'"),  # noqa: E501
        (import_cyris, FULL, lambda d: d.pop(2), "a CyRIS range description, but an incomplete one: missing 'clone_settings'"),  # noqa: E501
        (import_kctf, FIXTURES / "kctf/echo-pwn/challenge.yaml", lambda d: d.pop("spec"), "a kCTF challenge (apiVersion kctf.dev/v1, kind Challenge), but an incomplete one: missing 'spec'"),  # noqa: E501
    ],
)  # fmt: skip
def test_a_refusal_never_contradicts_itself(
    tmp_path: Path, run: Callable[[Path], Any], source: Path, edit: Callable[[Any], None], expected: str
) -> None:
    with pytest.raises(ImportRefused) as refused:
        run(edited(tmp_path, source, edit, name="challenge.yaml" if run is import_kctf else "input.yml"))
    assert refused.value.reason == expected
    assert "looks like" not in refused.value.reason


def test_a_containers_file_without_mappings_is_refused_without_contradiction(tmp_path: Path) -> None:
    containers = edited(
        tmp_path,
        KYPO / "backend-sandbox-service__crczp_sandbox_instance_app_tests_assets_containers.yml",
        lambda d: d.pop("container_mappings"),
        name="containers.yml",
    )
    topology = (
        KYPO
        / "backend-sandbox-service__crczp_sandbox_instance_app_tests_assets_definition_flavor_mapping.yml"
    )
    with pytest.raises(ImportRefused) as refused:
        import_kypo(topology, containers=containers)
    assert refused.value.reason == "not a KYPO containers.yml: missing 'container_mappings'"
    assert refused.value.source == str(containers)


def test_a_topology_file_of_another_name_is_taken_alone() -> None:
    """Only a `topology.yml` (or a definition directory) brings the files beside it."""
    found = sandbox_definition(JUNIOR)
    assert (found.containers, found.variables, found.provisioning, found.trainings) == (None, None, None, ())
    assert import_kypo(JUNIOR).copies == {}
