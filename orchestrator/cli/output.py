"""Terminal output: Rich tables for people, --json for scripts, problem+json errors made readable."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.table import Table

console = Console(soft_wrap=True)
errors = Console(stderr=True, soft_wrap=True)


def emit_json(data: Any) -> None:
    console.print_json(json.dumps(data, default=str))


def table(title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    t = Table(title=title, show_lines=False)
    for column in columns:
        t.add_column(column)
    for row in rows:
        t.add_row(*("" if v is None else str(v) for v in row))
    console.print(t)


def problem(body: dict[str, Any]) -> None:
    """Print an RFC 9457 problem document: title, detail, and each field error on its own line."""
    field_errors = body.get("errors", [])
    detail = "" if field_errors else f": {body.get('detail', '')}"
    errors.print(f"[bold red]{body.get('title', 'Error')}[/] ({body.get('status', '?')}){detail}")
    for item in field_errors:
        errors.print(f"  [yellow]{item.get('field')}[/]: {item.get('reason')}")
    for reason in body.get("reasons", []):
        errors.print(f"  - {reason}")
