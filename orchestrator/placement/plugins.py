"""Placement plugins by name: the registry of filters, scores and strategies, and the selection in use.

Settings name the plugins; `Registry.select` turns names into plugins once, at start-up, and an unknown
name fails there (with the known names) rather than at the first exercise.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

from orchestrator.domain.errors import FieldProblem, InvalidInput
from orchestrator.placement.filters import BUILTIN_FILTERS, Filter
from orchestrator.placement.scores import BUILTIN_SCORES, Score
from orchestrator.placement.strategies import BUILTIN_STRATEGIES, Strategy


@dataclass(frozen=True)
class Plugins:
    """The plugins one placement engine runs: every filter (in order), scores and strategies by name."""

    filters: tuple[Filter, ...]
    scores: Mapping[str, Score]
    strategies: Mapping[str, Strategy]

    def strategy(self, name: str) -> Strategy:
        try:
            return self.strategies[name]
        except KeyError:
            known = ", ".join(sorted(self.strategies))
            raise InvalidInput(
                FieldProblem("strategy", f"unknown strategy '{name}'; known: {known}")
            ) from None

    def weights(self, strategy: Strategy, requested: Mapping[str, int] | None) -> Mapping[str, int]:
        """The request's score weights, else the strategy's defaults; unknown score names are refused."""
        weights = strategy.default_weights if requested is None else requested
        unknown = sorted(set(weights) - set(self.scores))
        if unknown:
            known = ", ".join(sorted(self.scores))
            raise InvalidInput(
                [FieldProblem(f"score_weights.{n}", f"unknown score '{n}'; known: {known}") for n in unknown]
            )
        return weights


class Named(Protocol):
    @property
    def name(self) -> str: ...


P = TypeVar("P", bound=Named)


def _by_name(kind: str, plugins: Iterable[P]) -> dict[str, P]:
    out: dict[str, P] = {}
    for plugin in plugins:
        if plugin.name in out:
            raise ValueError(f"two {kind} plugins are named '{plugin.name}'")
        out[plugin.name] = plugin
    return out


def _pick(
    kind: str, setting: str, table: Mapping[str, P], names: Sequence[str] | None, problems: list[FieldProblem]
) -> list[P]:
    """The plugins named (None: all, in registration order); unknown names are added to `problems`."""
    if names is None:
        return list(table.values())
    known = ", ".join(sorted(table))
    problems.extend(
        FieldProblem(setting, f"unknown {kind} '{n}'; known: {known}") for n in names if n not in table
    )
    return [table[n] for n in dict.fromkeys(names) if n in table]


@dataclass(frozen=True)
class Registry:
    """Every plugin that can be selected, by name."""

    filters: Mapping[str, Filter]
    scores: Mapping[str, Score]
    strategies: Mapping[str, Strategy]

    @classmethod
    def of(
        cls, *, filters: Iterable[Filter], scores: Iterable[Score], strategies: Iterable[Strategy]
    ) -> Registry:
        """A registry of these plugins; two plugins of one kind with the same name are a programming error."""
        return cls(_by_name("filter", filters), _by_name("score", scores), _by_name("strategy", strategies))

    def select(
        self,
        *,
        filters: Sequence[str] | None = None,
        scores: Sequence[str] | None = None,
        strategies: Sequence[str] | None = None,
    ) -> Plugins:
        """The named plugins (None selects all of a kind, filters in registration order).

        Raises InvalidInput naming the setting and the known names when a name is unknown, or when a
        selected strategy's default weights use a score that is not selected.
        """
        problems: list[FieldProblem] = []
        chosen_filters = _pick("filter", "placement.filters", self.filters, filters, problems)
        chosen_scores = _pick("score", "placement.scores", self.scores, scores, problems)
        chosen_strategies = _pick("strategy", "placement.strategies", self.strategies, strategies, problems)
        score_names = {s.name for s in chosen_scores}
        for strategy in chosen_strategies:
            missing = sorted(set(strategy.default_weights) - score_names)
            if missing:
                problems.append(
                    FieldProblem(
                        "placement.scores",
                        f"strategy '{strategy.name}' weighs scores that are not selected: "
                        f"{', '.join(missing)}",
                    )
                )
        if problems:
            raise InvalidInput(problems)
        return Plugins(
            filters=tuple(chosen_filters),
            scores={s.name: s for s in chosen_scores},
            strategies={s.name: s for s in chosen_strategies},
        )


def builtin_registry() -> Registry:
    return Registry.of(filters=BUILTIN_FILTERS, scores=BUILTIN_SCORES, strategies=BUILTIN_STRATEGIES)


def default_plugins() -> Plugins:
    """Every built-in filter, score and strategy."""
    return builtin_registry().select()
