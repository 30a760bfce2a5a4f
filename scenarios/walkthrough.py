"""A scenario's walkthrough: its machine-checkable solution, kept in the bundle's `solution/` folder.

`solution/walkthrough.yaml` names a script and the objectives it solves:

    script: walkthrough.sh      # in solution/; its `#!` line names an interpreter taking `-c PROGRAM`
    host: attacker              # run inside this host; without it, on the tester's machine, against the
                                # entry points (as a team would from its own laptop)
    timeout_seconds: 600
    objectives:
      - {variable: flag_sqli, title: SQL injection into hr.payroll}

The script gets only what a team gets: the variables marked `access: true` (as FEDERANGE_ACCESS_<NAME>)
and, run on the tester's machine, the entry points (FEDERANGE_ENTRY_<HOST>_<PORT>=address:port). It
prints one `RECOVERED <variable> <value>` line on standard output per value it found. An objective is
solved when the value recovered equals the instance's own value: a walkthrough that printed another
instance's flags, or remembered old ones, fails. Every flag of the scenario must be an objective.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml
from pydantic import Field, ValidationError

from scenarios.bundle import Bundle, resolve_inside
from scenarios.errors import Problem, ScenarioError, path_of
from scenarios.loader import yaml_data
from scenarios.model import Model, Name, Scenario, VariableKind, VarName

SOLUTION_DIR = "solution"
MANIFEST = "walkthrough.yaml"
RECOVERED = "RECOVERED"
ACCESS_PREFIX = "FEDERANGE_ACCESS_"
ENTRY_PREFIX = "FEDERANGE_ENTRY_"
_RECOVERED_LINE = re.compile(rf"^{RECOVERED}\s+([A-Za-z_][A-Za-z0-9_]*)\s+(.*?)\s*$")


class Objective(Model):
    variable: VarName
    title: str = Field(min_length=1, max_length=200)


class Walkthrough(Model):
    script: str = Field(pattern=r"^[^/].*$", description="the script, relative to solution/")
    host: Name | None = Field(default=None, description="run inside this host; none: on the tester's machine")
    timeout_seconds: int = Field(default=600, ge=10, le=3600)
    objectives: list[Objective] = Field(min_length=1)


@dataclass(frozen=True, kw_only=True)
class Solution:
    walkthrough: Walkthrough
    directory: Path
    script: str

    @property
    def interpreter(self) -> list[str]:
        return interpreter(self.script)

    def argv(self, environment: Mapping[str, str]) -> list[str]:
        """The command that runs the script with `environment` where no environment can be passed but
        argv (an exec into a container): `env K=V ... <interpreter> -c <script>`."""
        pairs = [f"{k}={v}" for k, v in sorted(environment.items())]
        return ["env", *pairs, *self.interpreter, "-c", self.script]


def interpreter(script: str) -> list[str]:
    """The `#!` line's words (`#!/usr/bin/env python3` -> ['/usr/bin/env', 'python3'])."""
    first = script.split("\n", 1)[0]
    if not first.startswith("#!") or not first[2:].strip():
        raise ValueError("a walkthrough script starts with a '#!' line naming its interpreter")
    return shlex.split(first[2:])


def load_solution(bundle: Bundle) -> Solution | None:
    """The bundle's walkthrough, or None when it has no `solution/walkthrough.yaml`; raises
    ScenarioError naming every problem (paths prefixed `solution/walkthrough.yaml`)."""
    directory = bundle.directory / SOLUTION_DIR
    manifest = directory / MANIFEST
    source = f"{SOLUTION_DIR}/{MANIFEST}"
    if not manifest.is_file():
        return None
    try:
        data = yaml_data(manifest.read_text(encoding="utf-8"))
        walkthrough = Walkthrough.model_validate(data)
    except yaml.YAMLError as exc:
        raise ScenarioError([Problem("", f"not valid YAML: {exc}")], source=source) from exc
    except ValidationError as exc:
        problems = [
            Problem(path_of(list(e["loc"])), str(e["msg"]).removeprefix("Value error, "))
            for e in exc.errors()
        ]
        raise ScenarioError(problems, source=source) from exc
    problems = solution_problems(bundle.scenario, walkthrough)
    script = ""
    try:
        path = resolve_inside(directory, walkthrough.script)
        script = path.read_text(encoding="utf-8")
        interpreter(script)
    except (OSError, ValueError) as exc:
        problems.append(Problem("script", str(exc)))
    if problems:
        raise ScenarioError(problems, source=source)
    return Solution(walkthrough=walkthrough, directory=directory, script=script)


def solution_problems(scenario: Scenario, walkthrough: Walkthrough) -> list[Problem]:
    problems: list[Problem] = []
    hosts = {h.name for h in scenario.spec.hosts}
    if walkthrough.host is not None and walkthrough.host not in hosts:
        problems.append(Problem("host", f"unknown host '{walkthrough.host}'"))
    declared = {v.name: v for v in scenario.spec.variables}
    seen: set[str] = set()
    for i, objective in enumerate(walkthrough.objectives):
        if objective.variable not in declared:
            problems.append(Problem(f"objectives[{i}].variable", f"unknown variable '{objective.variable}'"))
        elif objective.variable in seen:
            problems.append(Problem(f"objectives[{i}].variable", f"'{objective.variable}' listed twice"))
        elif declared[objective.variable].access:
            problems.append(
                Problem(f"objectives[{i}].variable", f"'{objective.variable}' is handed to the team already")
            )
        seen.add(objective.variable)
    for name, variable in declared.items():
        if variable.kind is VariableKind.FLAG and name not in seen:
            problems.append(Problem("objectives", f"flag '{name}' is not an objective of the walkthrough"))
    return problems


def environment_name(*parts: str) -> str:
    return "_".join(re.sub(r"[^A-Za-z0-9]", "_", p).upper() for p in parts)


def script_environment(
    scenario: Scenario, values: Mapping[str, str], *, entries: Iterable[tuple[str, int, str]] = ()
) -> dict[str, str]:
    """What the script is given: the team's access values, and (host, port, address) of entry points."""
    environment = {
        ACCESS_PREFIX + environment_name(v.name): values[v.name]
        for v in scenario.spec.variables
        if v.access and v.name in values
    }
    for host, port, address in entries:
        environment[ENTRY_PREFIX + environment_name(host, str(port))] = address
    return environment


def recovered(output: str) -> dict[str, str]:
    """Values the script reported (`RECOVERED <variable> <value>` lines; the last one of a name wins)."""
    found: dict[str, str] = {}
    for line in output.splitlines():
        match = _RECOVERED_LINE.match(line.strip())
        if match:
            found[match.group(1)] = match.group(2)
    return found


@dataclass(frozen=True, kw_only=True)
class Verdict:
    variable: str
    title: str
    solved: bool
    #: What the walkthrough reported (None: nothing); never the expected value.
    reported: str | None


def verdicts(walkthrough: Walkthrough, values: Mapping[str, str], found: Mapping[str, str]) -> list[Verdict]:
    """One verdict per objective: solved when the reported value is the instance's own."""
    return [
        Verdict(
            variable=o.variable,
            title=o.title,
            solved=found.get(o.variable) is not None and found[o.variable] == values.get(o.variable),
            reported=found.get(o.variable),
        )
        for o in walkthrough.objectives
    ]
