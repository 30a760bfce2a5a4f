"""What an import produced and what it could not express: nothing is dropped without a line here."""

from __future__ import annotations

import enum
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from scenarios.model import Scenario
from scenarios.serialise import dump_yaml


class ImportRefused(ValueError):
    """The input is not a document this importer reads, or one of its parts has a shape the format does not
    allow. `path` names the offending part in the source (`hosts[2].base_box`, `[2].clone_settings[0]`,
    `containers.yml: containers[1]`); "" means the document as a whole. `reason` says what is wrong."""

    def __init__(self, reason: str, *, source: str = "", path: str = "") -> None:
        self.reason = reason
        self.source = source
        self.path = path
        where = ": ".join(part for part in (source, path) if part)
        super().__init__(f"{where}: {reason}" if where else reason)


@contextmanager
def refusals_from(source: str) -> Iterator[None]:
    """Refusals raised inside carry `source` (the file being imported) unless they name their own."""
    try:
        yield
    except ImportRefused as exc:
        if exc.source:
            raise
        raise ImportRefused(exc.reason, source=source, path=exc.path) from exc


class Fate(enum.StrEnum):
    DROPPED = "dropped"  # not in the scenario at all
    APPROXIMATED = "approximated"  # in the scenario, but not exactly as in the source
    UNSUPPORTED = "unsupported"  # a feature of the source format Federange understands but cannot provide


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

    def unsupported(self, path: str, element: str, reason: str) -> None:
        self.items.append(ReportItem(path, element, Fate.UNSUPPORTED, reason))

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
    """A validated scenario, the files it needs beside it and the report: `files` are generated (relative
    path -> text), `copies` are source files kept byte for byte (relative path -> the file to copy), such
    as a KYPO sandbox definition's provisioning roles."""

    scenario: Scenario
    files: dict[str, str]
    report: ImportReport
    copies: dict[str, Path] = field(default_factory=dict)

    def write(self, directory: Path) -> list[Path]:
        """Write `scenario.yaml`, the generated files and the copies into `directory`; returns the paths
        written."""
        directory.mkdir(parents=True, exist_ok=True)
        written = [directory / "scenario.yaml"]
        written[0].write_text(dump_yaml(self.scenario), encoding="utf-8")
        for relative, text in sorted(self.files.items()):
            target = directory / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
            written.append(target)
        for relative, original in sorted(self.copies.items()):
            target = directory / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(original, target)
            written.append(target)
        return written
