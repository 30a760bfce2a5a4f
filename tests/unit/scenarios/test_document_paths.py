"""Invalid scenarios are refused with every problem named by its path in the document."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from scenarios.bundle import file_problems, load_bundle
from scenarios.errors import ScenarioError
from scenarios.loader import from_data, load_text
from scenarios.validation import security_problems

BASE = """
apiVersion: federange/v1
kind: Scenario
metadata: {name: paths, version: 1.0.0, title: Paths}
spec:
  variables:
    - {name: flag, kind: flag}
  segments:
    - {name: dmz}
    - {name: lan}
  hosts:
    - name: web
      image: nginx:1.27
      ports: [{port: 80}]
      entry: true
      resources: {requests: {cpu_millicores: 100, memory_mib: 64}}
      segments: [dmz]
    - name: db
      image: mariadb:11.4
      resources: {requests: {cpu_millicores: 100, memory_mib: 64}}
      segments: [lan]
    - name: app
      image: busybox:1.36
      resources: {requests: {cpu_millicores: 100, memory_mib: 64}}
      segments: [dmz, lan]
  flows:
    - from: {segment: dmz, hosts: [web]}
      to: {segment: lan, hosts: [db]}
      ports: [{port: 3306}]
"""


def base() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(BASE)
    return data


def problems_of(data: dict[str, Any]) -> list[str]:
    with pytest.raises(ScenarioError) as caught:
        from_data(data)
    return [str(p) for p in caught.value.problems]


def test_the_base_document_is_valid() -> None:
    assert from_data(base()).ref == "paths@1.0.0"


def test_unknown_segment() -> None:
    data = base()
    data["spec"]["hosts"][2]["segments"] = ["dmz2"]
    assert "spec.hosts[2].segments[0]: unknown segment 'dmz2'" in problems_of(data)


def test_duplicate_host() -> None:
    data = base()
    data["spec"]["hosts"][2]["name"] = "web"
    assert "spec.hosts[2].name: duplicate host 'web'" in problems_of(data)


def test_flow_to_a_missing_host() -> None:
    data = base()
    data["spec"]["flows"][0]["to"]["hosts"] = ["database"]
    assert "spec.flows[0].to.hosts[0]: unknown host 'database'" in problems_of(data)


def test_flow_to_a_missing_segment_and_from_a_host_elsewhere() -> None:
    data = base()
    data["spec"]["flows"][0]["to"]["segment"] = "dataa"
    data["spec"]["flows"][0]["from"]["hosts"] = ["db"]
    found = problems_of(data)
    assert "spec.flows[0].to.segment: unknown segment 'dataa'" in found
    assert "spec.flows[0].from.hosts[0]: host 'db' is not on segment 'dmz'" in found


def test_resources_missing() -> None:
    data = base()
    del data["spec"]["hosts"][1]["resources"]
    assert problems_of(data) == ["spec.hosts[1].resources: Field required"]


def test_forbidden_privileged_request_with_the_default_allowance() -> None:
    data = base()
    data["spec"]["hosts"][2]["security"] = {"privileged": True, "capabilities": ["NET_ADMIN"]}
    scenario = from_data(data)
    found = [str(p) for p in security_problems(scenario)]
    assert found == [
        "spec.hosts[2].security.privileged: privileged containers are not allowed on this range",
        "spec.hosts[2].security.capabilities[0]: adding capability NET_ADMIN is not allowed on this range",
    ]
    assert security_problems(scenario, privileged=True, added_capabilities=frozenset({"net_admin"})) == []


def test_every_problem_is_reported_at_once() -> None:
    data = base()
    data["spec"]["hosts"][0]["segments"] = ["nowhere"]
    data["spec"]["hosts"][1]["env"] = {"PASSWORD": "{{ vars.pasword }}"}
    data["spec"]["flows"][0]["to"]["hosts"] = ["ghost"]
    found = problems_of(data)
    assert found == [
        "spec.hosts[0].segments[0]: unknown segment 'nowhere'",
        "spec.hosts[1].env.PASSWORD: template names unknown variable 'pasword'",
        "spec.flows[0].from.hosts[0]: host 'web' is not on segment 'dmz'",
        "spec.flows[0].to.hosts[0]: unknown host 'ghost'",
    ]


def test_structural_errors_use_author_names() -> None:
    data = base()
    data["spec"]["flows"][0]["from"]["segment"] = "Not A Name"
    data["spec"]["hosts"][0]["ports"] = [{"port": 70000}]
    found = problems_of(data)
    assert any(p.startswith("spec.flows[0].from.segment: String should match pattern") for p in found)
    assert "spec.hosts[0].ports[0].port: Input should be less than or equal to 65535" in found


def test_groups_must_name_hosts() -> None:
    data = base()
    data["spec"]["groups"] = [
        {"name": "servers", "hosts": ["web", "dbb", "web"]},
        {"name": "servers"},
        {"name": "app"},
    ]
    assert problems_of(data) == [
        "spec.groups[1].name: duplicate group 'servers'",
        "spec.groups[0].hosts[1]: unknown host 'dbb'",
        "spec.groups[0].hosts[2]: host 'web' listed twice",
        "spec.groups[2].name: group 'app' has the name of a host",
    ]


@pytest.mark.parametrize(
    ("written", "mode"), [("'0755'", 0o755), ("'0o600'", 0o600), ("0644", 0o644), ("420", 420)]
)
def test_file_modes_may_be_octal_text(written: str, mode: int) -> None:
    text = BASE.replace(
        "      segments: [dmz]\n",
        f"      segments: [dmz]\n      files: [{{path: /x, content: y, mode: {written}}}]\n",
        1,
    )
    assert load_text(text).host("web").files[0].mode == mode


def test_a_bad_file_mode_names_the_path() -> None:
    text = BASE.replace(
        "      segments: [dmz]\n",
        "      segments: [dmz]\n      files: [{path: /x, content: y, mode: '0999'}]\n",
        1,
    )
    with pytest.raises(ScenarioError, match=r"spec.hosts\[0\].files\[0\].mode"):
        load_text(text)


def test_look_alike_documents_are_refused_with_the_reason() -> None:
    with pytest.raises(
        ScenarioError,
        match="expected apiVersion 'federange/v1' and kind 'Scenario', found apiVersion='v1', kind='Pod'",
    ):
        load_text("apiVersion: v1\nkind: Pod\nmetadata: {name: x}\n")
    with pytest.raises(ScenarioError, match="not valid YAML: line 2"):
        load_text("a: 1\n  b: [\n")


def test_playbook_files_are_checked(tmp_path: Path) -> None:
    data = base()
    data["spec"]["provisioning"] = [
        {"name": "ok", "playbook": "playbooks/ok.yml", "hosts": ["web"]},
        {"name": "missing", "playbook": "playbooks/missing.yml", "hosts": ["web"]},
        {"name": "wrong host", "playbook": "playbooks/other.yml", "hosts": ["web"]},
        {"name": "escape", "playbook": "../outside.yml", "hosts": ["web"]},
        {"name": "not a playbook", "playbook": "playbooks/dict.yml", "hosts": ["web"]},
    ]
    (tmp_path / "playbooks").mkdir()
    (tmp_path / "playbooks/ok.yml").write_text("- hosts: web\n  tasks: []\n")
    (tmp_path / "playbooks/other.yml").write_text("- hosts: web,db\n  tasks: []\n")
    (tmp_path / "playbooks/dict.yml").write_text("hosts: web\n")
    (tmp_path / "outside.yml").write_text("- hosts: web\n")
    scenario = from_data(data)
    found = [str(p) for p in file_problems(scenario, tmp_path)]
    assert found[0] == f"spec.provisioning[1].playbook: file 'playbooks/missing.yml' not found in {tmp_path}"
    assert found[1].startswith("spec.provisioning[2].playbook: 'playbooks/other.yml' play 0 targets 'db'")
    assert found[2].startswith("spec.provisioning[3].playbook: '../outside.yml' points outside the scenario")
    assert found[3] == (
        "spec.provisioning[4].playbook: 'playbooks/dict.yml' is not an Ansible playbook "
        "(a non-empty list of plays)"
    )
    assert len(found) == 4
    (tmp_path / "scenario.yaml").write_text(yaml.safe_dump(data))
    with pytest.raises(ScenarioError, match=r"spec.provisioning\[1\].playbook"):
        load_bundle(tmp_path / "scenario.yaml")
    assert load_bundle(tmp_path / "scenario.yaml", check_files=False).scenario == scenario
