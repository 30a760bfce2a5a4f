"""Walkthroughs: the solution/ manifest's checks, what a script is given and how its output is judged."""

from __future__ import annotations

from pathlib import Path

import pytest

from scenarios import library
from scenarios.bundle import load_bundle
from scenarios.errors import ScenarioError
from scenarios.materialise import materialise
from scenarios.walkthrough import (
    Walkthrough,
    interpreter,
    load_solution,
    recovered,
    script_environment,
    solution_problems,
    verdicts,
)


def test_recovered_lines_are_read_and_the_last_one_wins() -> None:
    output = "noise\nRECOVERED flag_a FLAG{1}\n  RECOVERED flag_b  two words  \nRECOVERED flag_a FLAG{2}\n"
    assert recovered(output) == {"flag_a": "FLAG{2}", "flag_b": "two words"}
    assert recovered("recovered flag_a x\nRECOVERED\n") == {}


def test_an_objective_is_solved_only_by_this_instances_value() -> None:
    walkthrough = Walkthrough.model_validate(
        {"script": "w.sh", "objectives": [{"variable": "a", "title": "A"}, {"variable": "b", "title": "B"}]}
    )
    result = verdicts(walkthrough, {"a": "FLAG{mine}", "b": "FLAG{b}"}, {"a": "FLAG{other}"})
    assert [(v.variable, v.solved, v.reported) for v in result] == [
        ("a", False, "FLAG{other}"),
        ("b", False, None),
    ]
    assert all(v.solved for v in verdicts(walkthrough, {"a": "1", "b": "2"}, {"a": "1", "b": "2"}))


def test_every_flag_must_be_an_objective_and_access_values_cannot_be() -> None:
    scenario = library.load_library("samba-enterprise")
    walkthrough = Walkthrough.model_validate(
        {
            "script": "w.sh",
            "host": "nowhere",
            "objectives": [
                {"variable": "flag_share", "title": "x"},
                {"variable": "jdoe_password", "title": "handed out"},
                {"variable": "nope", "title": "unknown"},
            ],
        }
    )
    problems = [str(p) for p in solution_problems(scenario, walkthrough)]
    assert "host: unknown host 'nowhere'" in problems
    assert "objectives[1].variable: 'jdoe_password' is handed to the team already" in problems
    assert "objectives[2].variable: unknown variable 'nope'" in problems
    assert "objectives: flag 'flag_admin' is not an objective of the walkthrough" in problems


def test_the_script_gets_access_values_and_entry_points_only() -> None:
    scenario = library.load_library("samba-enterprise")
    values = materialise(scenario, seed=b"s", instance_id="i1")
    environment = script_environment(scenario, values, entries=[("ws-01", 2222, "127.0.0.1:40000")])
    assert environment == {
        "FEDERANGE_ACCESS_ATTACKER_PASSWORD": values["attacker_password"],
        "FEDERANGE_ACCESS_JDOE_PASSWORD": values["jdoe_password"],
        "FEDERANGE_ENTRY_WS_01_2222": "127.0.0.1:40000",
    }
    assert values["flag_share"] not in environment.values()


def test_interpreter_and_argv() -> None:
    assert interpreter("#!/usr/bin/env python3\nprint(1)\n") == ["/usr/bin/env", "python3"]
    with pytest.raises(ValueError, match="'#!' line"):
        interpreter("echo no shebang\n")
    solution = load_solution(library.bundle("web-dvwa"))
    assert solution is not None
    argv = solution.argv({"B": "2", "A": "1"})
    assert argv[:5] == ["env", "A=1", "B=2", "/bin/sh", "-c"] and argv[5] == solution.script


def test_a_broken_manifest_names_its_problems(tmp_path: Path) -> None:
    source = library.scenario_dir("ctf-starter")
    (tmp_path / "scenario.yaml").write_text((source / "scenario.yaml").read_text())
    (tmp_path / "playbooks").mkdir()
    playbook = (source / "playbooks" / "plant-proof.yml").read_text()
    (tmp_path / "playbooks" / "plant-proof.yml").write_text(playbook)
    bundle = load_bundle(tmp_path / "scenario.yaml")
    assert load_solution(bundle) is None
    (tmp_path / "solution").mkdir()
    (tmp_path / "solution" / "walkthrough.yaml").write_text("script: missing.py\nobjectives: []\n")
    with pytest.raises(ScenarioError, match="objectives: List should have at least 1 item"):
        load_solution(bundle)
    (tmp_path / "solution" / "walkthrough.yaml").write_text(
        "script: missing.py\nobjectives: [{variable: flag_source, title: x}]\n"
    )
    with pytest.raises(ScenarioError) as raised:
        load_solution(bundle)
    text = str(raised.value)
    assert "script:" in text and "flag 'flag_vault' is not an objective" in text
