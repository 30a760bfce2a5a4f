"""Terminal output: Rich tables for people, JSON or YAML for scripts (`--json`, `-o json|yaml`), ids
shortened in tables unless asked for in full (`-o wide`, `--ids`), problem+json errors made readable."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.table import Table

from orchestrator.cli.options import Format, current

console = Console(soft_wrap=True)
errors = Console(stderr=True, soft_wrap=True)


def open_consoles() -> None:
    """Fresh consoles for a command: the terminal as it is now (Rich reads COLUMNS once, when a console
    is made; several commands run in one process under a test runner)."""
    global console, errors  # noqa: PLW0603 - the module's consoles are what every command prints to
    console = Console(soft_wrap=True)
    errors = Console(stderr=True, soft_wrap=True)


#: How many characters of an id a table shows by default; any unique prefix is accepted back.
SHORT_ID = 8


def emit_json(data: Any) -> None:
    console.print_json(json.dumps(data, default=str))


def emit_yaml(data: Any) -> None:
    import yaml

    text = yaml.safe_dump(json.loads(json.dumps(data, default=str)), sort_keys=False, allow_unicode=True)
    console.out(text, end="", highlight=False)


def machine(data: Any) -> bool:
    """Print `data` as JSON or YAML when the invocation asked for it; True when it did."""
    fmt = current().format
    if fmt is Format.json:
        emit_json(data)
        return True
    if fmt is Format.yaml:
        emit_yaml(data)
        return True
    if fmt is Format.id:
        for value in ids_in(data):
            console.out(value, highlight=False)
        return True
    return False


def ids_in(data: Any) -> list[str]:
    """The id of a record, or of each record of a list or a page (`-o id`)."""
    if isinstance(data, dict) and "id" in data:
        return [str(data["id"])]
    if isinstance(data, dict) and isinstance(data.get("items"), list):
        return ids_in(data["items"])
    if isinstance(data, list):
        return [str(d["id"]) for d in data if isinstance(d, dict) and "id" in d]
    return []


def short_id(value: str | None) -> str:
    """An id as tables show it: in full with -o wide / --ids, else its first characters."""
    if not value:
        return ""
    return value if current().full_ids or len(value) <= SHORT_ID else value[:SHORT_ID]


def _is_id_column(name: str) -> bool:
    return name == "id" or name.endswith(" id")


def table(title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """A table; columns named `id` or `... id` hold ids, shortened (or, in full, never cut)."""
    wide = current().full_ids
    t = Table(title=title, show_lines=False)
    for column in columns:
        if _is_id_column(column):
            t.add_column(column, no_wrap=True, min_width=36 if wide else SHORT_ID)
        else:
            t.add_column(column, overflow="fold")
    for row in rows:
        cells = []
        for column, value in zip(columns, row, strict=False):
            text = "" if value is None else str(value)
            cells.append(short_id(text) if _is_id_column(column) else text)
        t.add_row(*cells)
    console.print(t)


def said(data: Any, *message: Any, **style: Any) -> None:
    """`data` as JSON, YAML or ids when the invocation asked for it (`machine`), else `message` for
    people, as `console.print` prints it."""
    if not machine(data):
        console.print(*message, **style)


def records(
    title: str, columns: Sequence[str], items: Sequence[dict[str, Any]], *, keys: Sequence[str] = ()
) -> None:
    """A table of one row a record: each column shows the record's value under the key of the same
    place in `keys` (by default the column's own name)."""
    table(title, columns, [[item[key] for key in keys or columns] for item in items])


def listing(
    items: Sequence[dict[str, Any]], title: str, columns: Sequence[str], *, keys: Sequence[str] = ()
) -> None:
    """Records as JSON or YAML when the invocation asked for it (`machine`), else as a table."""
    if not machine(items):
        records(title, columns, items, keys=keys)


def problem(body: dict[str, Any]) -> None:
    """Print an RFC 9457 problem document: title, detail, and each field error on its own line."""
    field_errors = body.get("errors", [])
    detail = "" if field_errors else f": {body.get('detail', '')}"
    errors.print(
        f"[bold red]{body.get('title', 'Error')}[/] ({body.get('status', '?')}){detail}", highlight=False
    )
    for item in field_errors:
        errors.print(f"  [yellow]{item.get('field')}[/]: {item.get('reason')}", highlight=False)
    for reason in body.get("reasons", []):
        errors.print(f"  - {reason}", highlight=False)
