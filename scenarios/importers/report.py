"""What an import produced and what it could not express: nothing is dropped without a line here."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from pathlib import Path

from scenarios.model import Scenario
from scenarios.serialise import dump_yaml


class ImportRefused(ValueError):
    """The input is not a document this importer reads; `reason` says what is missing or what it is."""

    def __init__(self, reason: str, *, source: str = "") -> None:
        self.reason = reason
        self.source = source
        super().__init__(f"{source}: {reason}" if source else reason)


class Fate(enum.StrEnum):
    DROPPED = "dropped"  # not in the scenario at all
    APPROXIMATED = "approximated"  # in the scenario, but not exactly as in the source


@dataclass(frozen=True)
class ReportItem:
    """One element of the source (by its path there, e.g. `routers[0]`) and what became of it."""

    path: str
    element: str
    fate: Fate
    reason: str

    def __str__(self) -> str:
        named = f" '{self.element}'" if self.element else ""
        return f"{self.path}{named}: {self.reason}"


@dataclass
class ImportReport:
    source: str
    items: list[ReportItem] = field(default_factory=list)

    def dropped(self, path: str, element: str, reason: str) -> None:
        self.items.append(ReportItem(path, element, Fate.DROPPED, reason))

    def approximated(self, path: str, element: str, reason: str) -> None:
        self.items.append(ReportItem(path, element, Fate.APPROXIMATED, reason))

    def lines(self) -> list[str]:
        return [f"[{item.fate.value}] {item}" for item in self.items]

    def about(self, path_prefix: str) -> list[ReportItem]:
        """Items whose source path is `path_prefix` or below it (`hosts[1]` matches `hosts[1].flavor`)."""
        return [
            i
            for i in self.items
            if i.path == path_prefix or i.path.startswith((f"{path_prefix}.", f"{path_prefix}["))
        ]


@dataclass(frozen=True)
class Imported:
    """A validated scenario, the files it needs beside it (relative path -> text) and the report."""

    scenario: Scenario
    files: dict[str, str]
    report: ImportReport

    def write(self, directory: Path) -> list[Path]:
        """Write `scenario.yaml` and the generated files into `directory`; returns the paths written."""
        directory.mkdir(parents=True, exist_ok=True)
        written = [directory / "scenario.yaml"]
        written[0].write_text(dump_yaml(self.scenario), encoding="utf-8")
        for relative, text in sorted(self.files.items()):
            target = directory / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
            written.append(target)
        return written
