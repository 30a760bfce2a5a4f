"""Errors of the scenario format: every problem names its path in the document."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong at one place: `path` such as `spec.hosts[2].segments[0]`."""

    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}" if self.path else self.reason


class ScenarioError(ValueError):
    """The document is not a valid scenario; `problems` lists every problem found, in document order."""

    def __init__(self, problems: list[Problem], *, source: str = "") -> None:
        self.problems = list(problems)
        self.source = source
        where = f"{source}: " if source else ""
        super().__init__(where + "; ".join(str(p) for p in self.problems))


def path_of(loc: tuple[int | str, ...] | list[int | str]) -> str:
    """('spec', 'hosts', 2, 'segments', 0) -> 'spec.hosts[2].segments[0]'."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


class ScenarioNotFound(LookupError):
    """No scenario of that name (or version) in the library; the message lists what exists."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
