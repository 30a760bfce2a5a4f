"""A Rich timeline of a range's free capacity: one row per slot, one bar per dimension."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rich.table import Table
from rich.text import Text

from orchestrator.cli import output

LABELS = {"cpu_millicores": "cpu millicores", "memory_mib": "memory MiB", "slots": "slots", "gpus": "GPUs"}
WIDTH = 20


def bar(free: int, capacity: int) -> Text:
    """Free capacity as a bar: green when at least half is free, yellow above a tenth, red below."""
    share = 0.0 if capacity <= 0 else max(min(free / capacity, 1.0), 0.0)
    filled = round(share * WIDTH)
    style = "green" if share >= 0.5 else "yellow" if share >= 0.1 else "red"
    text = Text("█" * filled, style=style)
    text.append("░" * (WIDTH - filled), style="grey50")
    text.append(f" {free}/{capacity}")
    return text


def _slot_label(value: str) -> str:
    return datetime.fromisoformat(value).strftime("%Y-%m-%d %H:%M")


def render(availability: dict[str, Any]) -> None:
    capacity: dict[str, int] = availability["capacity"]
    dims = [d for d in LABELS if capacity.get(d, 0) > 0]
    foreign = any(s["free_for_organisation"] != s["free"] for s in availability["slots"])
    title = f"Free capacity of {availability['range']} (UTC)"
    if foreign:
        title += " — for your organisation (foreign share applies)"
    table = Table(title=title)
    table.add_column("slot start")
    for d in dims:
        table.add_column(LABELS[d])
    for slot in availability["slots"]:
        free = slot["free_for_organisation"] if foreign else slot["free"]
        table.add_row(_slot_label(slot["start"]), *(bar(free[d], capacity[d]) for d in dims))
    output.console.print(table)
