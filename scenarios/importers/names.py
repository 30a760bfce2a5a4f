"""Turning names from other formats into Federange names (lower-case DNS labels of at most 40 chars)."""

from __future__ import annotations

import re

from scenarios.importers.report import ImportReport

_LIMIT = 40


def dns_label(text: str, *, fallback: str = "x") -> str:
    """'Server_1.local' -> 'server-1-local'; never empty, starts with a letter, at most 40 characters."""
    label = re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-")
    label = re.sub(r"-{2,}", "-", label)
    if not label or not label[0].isalpha():
        label = f"{fallback}-{label}".strip("-")
    return label[:_LIMIT].rstrip("-")


def variable_name(text: str) -> str:
    """A `{{ vars.NAME }}`-safe variable name: letters, digits and '_', not starting with a digit."""
    name = re.sub(r"[^A-Za-z0-9_]+", "_", text).strip("_") or "value"
    return (f"v_{name}" if name[0].isdigit() else name)[:63]


class Namer:
    """Hands out unique labels for one kind of thing and reports every rename."""

    def __init__(self, report: ImportReport, *, kind: str) -> None:
        self.report = report
        self.kind = kind
        self.taken: set[str] = set()
        self.by_source: dict[str, str] = {}

    def reserve(self, label: str) -> None:
        self.taken.add(label)

    def name(self, source: str, *, path: str) -> str:
        label = dns_label(source, fallback=self.kind[0])
        unique, n = label, 2
        while unique in self.taken:
            suffix = f"-{n}"
            unique, n = label[: _LIMIT - len(suffix)] + suffix, n + 1
        if unique != source:
            self.report.approximated(
                path, source, f"{self.kind} renamed to '{unique}' (Federange names are DNS labels)"
            )
        self.taken.add(unique)
        self.by_source.setdefault(source, unique)
        return unique
