"""Request documents read from files (`-f FILE`): YAML or JSON, every error with file, line and column."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
import yaml


def read_mapping(path: Path, *, option: str = "--file") -> dict[str, Any]:
    """The mapping in a YAML or JSON file; a usage error (exit 2) naming the place when it does not parse."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise typer.BadParameter(f"{path}: cannot be read: {exc}", param_hint=option) from None
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            where = f"{path}, line {exc.lineno}, column {exc.colno}"
            raise typer.BadParameter(f"{where}: not valid JSON: {exc.msg}", param_hint=option) from None
    else:
        try:
            data = yaml.safe_load(text)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            where = f"{path}, line {mark.line + 1}, column {mark.column + 1}" if mark else str(path)
            problem = " ".join(p for p in (exc.context, exc.problem) if p)
            raise typer.BadParameter(f"{where}: not valid YAML: {problem}", param_hint=option) from None
        except yaml.YAMLError as exc:
            raise typer.BadParameter(f"{path}: not valid YAML: {exc}", param_hint=option) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        kind = type(data).__name__
        raise typer.BadParameter(
            f"{path}, line 1, column 1: expected a mapping, found a {kind}", param_hint=option
        )
    return data
