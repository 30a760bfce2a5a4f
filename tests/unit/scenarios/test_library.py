"""Every library scenario loads, validates (model, cross-references, files, JSON Schema) and is the
kind of scenario a trainer can pick: pinned images (public ones, or built from its own contexts on a base
given as a build argument), bounded resources, probes, entry points, and a walkthrough for every flag."""

from __future__ import annotations

import json
import re

import jsonschema
import pytest
import yaml

from scenarios import library
from scenarios.bundle import Bundle
from scenarios.errors import ScenarioNotFound
from scenarios.footprint import footprint
from scenarios.loader import load_text
from scenarios.materialise import fill, materialise
from scenarios.model import TEMPLATE_RE
from scenarios.schema import SCHEMA_PATH
from scenarios.serialise import dump_yaml
from scenarios.validation import security_problems
from scenarios.walkthrough import load_solution

NAMES = library.names()
REQUIRED = {"ctf-starter", "web-dvwa", "samba-enterprise", "ics-modbus", "log-forensics"}


def test_the_library_has_the_five_promised_scenarios() -> None:
    assert set(NAMES) >= REQUIRED
    assert len(NAMES) >= 5


@pytest.fixture(params=NAMES)
def bundle(request: pytest.FixtureRequest) -> Bundle:
    return library.bundle(request.param)


def test_loads_and_names_its_directory(bundle: Bundle) -> None:
    assert bundle.scenario.metadata.name == bundle.directory.name
    assert library.scenario_dir(bundle.scenario.metadata.name).resolve() == bundle.directory
    assert (
        library.load_library(bundle.scenario.metadata.name, bundle.scenario.metadata.version)
        == bundle.scenario
    )


def test_round_trips_through_yaml(bundle: Bundle) -> None:
    assert load_text(dump_yaml(bundle.scenario)) == bundle.scenario


def test_matches_the_json_schema(bundle: Bundle) -> None:
    schema = json.loads(SCHEMA_PATH.read_text())
    errors = [
        e.message for e in jsonschema.Draft202012Validator(schema).iter_errors(yaml.safe_load(bundle.text))
    ]
    assert errors == []


def test_has_a_trainer_readme(bundle: Bundle) -> None:
    readme = (bundle.directory / "README.md").read_text()
    for heading in ("Learning objectives", "Topology", "What each team gets", "Scoring"):
        assert heading in readme, f"{bundle.scenario.metadata.name}/README.md lacks '{heading}'"
    for host in bundle.scenario.spec.hosts:
        named = f"`{host.build.context}`" if host.build else f"`{host.image}`"
        assert named in readme, f"README does not name the image of {host.name} ({named})"


def test_images_are_pinned(bundle: Bundle) -> None:
    """A public image carries a fixed tag; a built one comes from a Containerfile whose base is the BASE
    build argument and that names no other image."""
    for host in bundle.scenario.spec.hosts:
        if host.build is None:
            assert host.image is not None
            assert re.fullmatch(r"[a-z0-9./-]+(/[a-z0-9._-]+)*:[A-Za-z0-9._-]+", host.image), host.image
            assert not host.image.endswith(":latest"), host.image
            continue
        containerfile = (bundle.directory / host.build.context / host.build.containerfile).read_text()
        froms = [line.split()[1:] for line in containerfile.splitlines() if line.upper().startswith("FROM ")]
        assert froms == [["${BASE}"]], f"{host.name}: {froms}"
        assert re.search(r"^ARG BASE$", containerfile, re.MULTILINE), host.name
        assert ":latest" not in containerfile


def test_has_a_walkthrough_for_every_flag(bundle: Bundle) -> None:
    solution = load_solution(bundle)
    assert solution is not None, f"{bundle.scenario.metadata.name} has no solution/walkthrough.yaml"
    covered = {o.variable for o in solution.walkthrough.objectives}
    flags = {v.name for v in bundle.scenario.spec.variables if v.kind.value == "flag"}
    assert flags <= covered
    assert solution.interpreter[-1] in ("/bin/sh", "python3")


def test_hosts_are_bounded_probed_and_safe(bundle: Bundle) -> None:
    scenario = bundle.scenario
    assert security_problems(scenario) == []
    assert any(h.entry for h in scenario.spec.hosts)
    for host in scenario.spec.hosts:
        assert host.resources.limits is not None, host.name
        assert host.readiness is not None, host.name
        assert not host.needs_vm
    used = footprint(scenario)
    assert used.slots == 1
    assert 0 < used.cpu_millicores <= 8000
    assert 0 < used.memory_mib <= 8192


def test_every_variable_is_used_and_templates_fill(bundle: Bundle) -> None:
    scenario = bundle.scenario
    texts = [bundle.text]
    for step in scenario.spec.provisioning:
        texts.append(bundle.playbook_path(step).read_text())
    referenced = {ref for text in texts for ref in TEMPLATE_RE.findall(text)}
    assert {v.name for v in scenario.spec.variables} == referenced
    values = materialise(scenario, seed=b"library-test", instance_id="team-a")
    other = materialise(scenario, seed=b"library-test", instance_id="team-b")
    for host in scenario.spec.hosts:
        for f in host.files:
            assert "{{ vars." not in fill(f.content, values)
    secrets = [v.name for v in scenario.spec.variables if v.kind.value in ("flag", "password")]
    assert secrets, "a library scenario has per-team flags or passwords"
    assert all(values[name] != other[name] for name in secrets)


def test_unknown_names_and_versions_are_refused() -> None:
    with pytest.raises(ScenarioNotFound, match=r"the library has: .*ctf-starter"):
        library.load_library("no-such-scenario")
    with pytest.raises(ScenarioNotFound, match=r"is at version 1\.0\.0, not 9\.9\.9"):
        library.load_library("ctf-starter", "9.9.9")
    with pytest.raises(ScenarioNotFound):
        library.scenario_dir("../ctf-starter")


def test_ctf_starter_runs_on_busybox_only() -> None:
    scenario = library.load_library("ctf-starter")
    assert {h.image for h in scenario.spec.hosts} == {"busybox:1.36"}
    assert scenario.spec.requires == []
    assert all(h.readiness is not None and h.readiness.tcp_port for h in scenario.spec.hosts)
    playbook = library.bundle("ctf-starter").playbook_path(scenario.spec.provisioning[0])
    for play in yaml.safe_load(playbook.read_text()):
        assert play["gather_facts"] is False
        assert all("ansible.builtin.raw" in task for task in play["tasks"])
