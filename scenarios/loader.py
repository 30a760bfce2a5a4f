"""Reading scenario documents: YAML text -> a validated `Scenario`, or a ScenarioError naming each path."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from scenarios.errors import Problem, ScenarioError, path_of
from scenarios.model import Scenario
from scenarios.validation import cross_reference_problems

#: libyaml's parser where PyYAML was built with it (about 9x faster than PyYAML's own on a library
#: scenario); both give the same data, of safe types only.
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

#: Keys pydantic puts into a location for tagged/aliased fields that mean nothing to authors.
_ALIASES = {"from_": "from", "api_version": "apiVersion"}


def yaml_data(text: str) -> Any:
    """YAML text as plain data (safe types only); raises yaml.YAMLError as `yaml.safe_load` does."""
    return yaml.load(text, Loader=_SAFE_LOADER)  # noqa: S506 - a safe loader, C or Python


def parse_document(text: str, *, source: str = "") -> dict[str, Any]:
    try:
        data = yaml_data(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        raise ScenarioError([Problem("", f"not valid YAML: {where}{exc}")], source=source) from exc
    if not isinstance(data, dict):
        raise ScenarioError(
            [Problem("", "a scenario is a YAML mapping (apiVersion, kind, metadata, spec)")], source=source
        )
    if data.get("apiVersion") != "federange/v1" or data.get("kind") != "Scenario":
        found = f"apiVersion={data.get('apiVersion')!r}, kind={data.get('kind')!r}"
        raise ScenarioError(
            [Problem("apiVersion", f"expected apiVersion 'federange/v1' and kind 'Scenario', found {found}")],
            source=source,
        )
    return data


def from_data(data: dict[str, Any], *, source: str = "") -> Scenario:
    """Validate a parsed document: structure first, then cross-references; raises ScenarioError."""
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            loc = [_ALIASES.get(str(p), p) if isinstance(p, str) else p for p in error["loc"]]
            reason = str(error["msg"]).removeprefix("Value error, ")
            problems.append(Problem(path_of(loc), reason))
        raise ScenarioError(problems, source=source) from exc
    problems = cross_reference_problems(scenario)
    if problems:
        raise ScenarioError(problems, source=source)
    return scenario


def load_text(text: str, *, source: str = "") -> Scenario:
    return from_data(parse_document(text, source=source), source=source)


@lru_cache(maxsize=256)
def parsed(text: str) -> Scenario:
    """`load_text`, once per process and document: the model is frozen and a booked document never
    changes, so every deploy of an exercise shares one parse (about 1 ms for ctf-starter with libyaml's
    parser, 10 ms with PyYAML's own)."""
    return load_text(text)


def load_file(path: Path) -> Scenario:
    return load_text(path.read_text(encoding="utf-8"), source=str(path))
