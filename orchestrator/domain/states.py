"""Explicit state machines: a transition table and the one function that changes a status."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TypeVar

from orchestrator.domain.errors import IllegalTransition

S = TypeVar("S", bound=str)


@dataclass(frozen=True)
class StateMachine:
    """`table[current]` lists the statuses reachable from `current`; absent means terminal."""

    kind: str
    table: Mapping[str, frozenset[str]]

    def can(self, current: str, target: str) -> bool:
        return target in self.table.get(current, frozenset())

    def move(self, current: S, target: S) -> S:
        """Return `target` if the move is legal, else raise IllegalTransition (HTTP 409)."""
        if not self.can(current, target):
            raise IllegalTransition(kind=self.kind, current=current, target=target)
        return target

    def is_terminal(self, status: str) -> bool:
        return not self.table.get(status)
