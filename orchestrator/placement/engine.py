"""place(request, snapshot, plugins) -> Placement: filter, score, divide. Pure: no I/O, no clock.

1. Filter: every filter judges every range, so a rejected range lists all its reasons.
2. Score: eligible ranges get each score (0..100) and a weighted mean; ranges are ranked by it, ties by slug.
3. Divide: the closed-form feasibility check of `division` either explains why no placement exists
   (each violated global constraint) or the named strategy divides the teams; the engine verifies the
   division, then the affinity decides which team goes where.
A feasible placement is returned whenever one exists under the hard constraints.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace

from orchestrator.domain.errors import FieldProblem, InvalidInput
from orchestrator.placement import phrases
from orchestrator.placement.affinity import assign
from orchestrator.placement.context import PlacementContext
from orchestrator.placement.division import Candidate, Division
from orchestrator.placement.plugins import Plugins
from orchestrator.placement.request import PlacementRequest, Team
from orchestrator.placement.result import Assignment, Placement, RangeOutcome, Verdict
from orchestrator.placement.scores import combine
from orchestrator.placement.snapshot import PlacementSnapshot, RangeState
from orchestrator.placement.strategies import Strategy

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Evaluation:
    """Filters and scores over a snapshot: an outcome per range (no teams yet) and the ranked candidates."""

    outcomes: dict[str, RangeOutcome]
    candidates: tuple[Candidate, ...]
    states: dict[str, RangeState]


def check_window(request: PlacementRequest, snapshot: PlacementSnapshot) -> None:
    if (snapshot.start, snapshot.end) != (request.start, request.end):
        raise InvalidInput(
            FieldProblem(
                "snapshot",
                f"computed for {phrases.window(snapshot.start, snapshot.end)} but the request's window is "
                f"{phrases.window(request.start, request.end)}",
            )
        )


def evaluate(
    snapshot: PlacementSnapshot,
    ctx: PlacementContext,
    plugins: Plugins,
    weights: Mapping[str, int],
    *,
    kept: Collection[str] = (),
    unusable: Mapping[str, str] | None = None,
) -> Evaluation:
    """Judge and score every range. A range in `kept` (hosting teams that stay) remains a candidate when
    only rules about new bookings reject it; it then has no room for more teams. A range in `unusable`
    (slug -> reason, from the caller) is rejected with that reason whatever the filters say."""
    outcomes: dict[str, RangeOutcome] = {}
    states: dict[str, RangeState] = {}
    candidates: list[Candidate] = []
    admission_only = {f.name for f in plugins.filters if f.new_bookings_only}
    for state in snapshot.ranges:
        slug = state.slug
        states[slug] = state
        verdicts = {f.name: f.check(state, ctx) for f in plugins.filters}
        if unusable and slug in unusable:
            verdicts["unusable"] = Verdict.no(unusable[slug])
        verdict = Verdict.combine(tuple(verdicts.values()))
        room, scores, score = 0, {}, 0
        if slug in kept:
            hard = tuple(v for name, v in verdicts.items() if name not in admission_only)
            if verdict.ok:
                room = ctx.room(state)
            verdict = Verdict.combine(hard)
        elif verdict.ok:
            room = ctx.room(state)
        if verdict.ok:
            scores = {
                name: _checked(name, plugin.score(state, ctx)) for name, plugin in plugins.scores.items()
            }
            score = combine(scores, weights)
            candidates.append(
                Candidate(
                    slug=slug,
                    room=room,
                    base=ctx.base.get(slug, 0),
                    score=score,
                    preference=state.range.preference,
                    country=state.range.country,
                )
            )
        outcomes[slug] = RangeOutcome(
            range_id=state.range.id,
            range_slug=slug,
            verdict=verdict,
            verdicts=verdicts,
            room=room,
            score=score,
            scores=scores,
            approval_required=state.range.policy.approval_required,
        )
    candidates.sort(key=lambda c: (-c.score, c.slug))
    return Evaluation(outcomes, tuple(candidates), states)


def _checked(name: str, value: int) -> int:
    if not isinstance(value, int) or not 0 <= value <= 100:
        raise ValueError(f"score plugin '{name}' returned {value!r}, not an int in 0..100")
    return value


def divide(division: Division, strategy: Strategy) -> dict[str, int]:
    """The strategy's counts for a feasible division, verified against the hard rules."""
    counts = {slug: k for slug, k in strategy.divide(division).items() if k != 0}
    violations = division.violations(counts)
    if violations:
        raise RuntimeError(
            f"strategy '{strategy.name}' returned an invalid division: {'; '.join(violations)}"
        )
    return counts


def assemble(
    request: PlacementRequest,
    evaluation: Evaluation,
    *,
    strategy: str,
    assignments: Sequence[Assignment],
    feasible: bool,
    constraint_reasons: Sequence[str] = (),
) -> Placement:
    """The Placement value: outcomes with team counts and booking demand from the assignments."""
    per_range: dict[str, int] = {}
    for a in assignments:
        per_range[a.range_slug] = per_range.get(a.range_slug, 0) + 1
    ranges = tuple(
        _with_teams(o, per_range.get(slug, 0), request) for slug, o in sorted(evaluation.outcomes.items())
    )
    return Placement(
        exercise=request.exercise,
        feasible=feasible,
        strategy=strategy,
        assignments=tuple(sorted(assignments, key=lambda a: a.team)),
        ranges=ranges,
        constraint_reasons=tuple(constraint_reasons),
        affinity_met=sum(1 for a in assignments if a.affinity),
    )


def _with_teams(outcome: RangeOutcome, teams: int, request: PlacementRequest) -> RangeOutcome:
    if teams == 0:
        return outcome
    return replace(outcome, teams=teams, demand=request.demand.scale(teams))


def place_teams(
    request: PlacementRequest,
    evaluation: Evaluation,
    strategy: Strategy,
    *,
    teams: Sequence[Team],
    subject: str = "team",
) -> tuple[list[Assignment], list[str]]:
    """Divide and assign `teams` over the evaluated candidates: (assignments, []) or ([], reasons)."""
    if not teams:
        return [], []
    c = request.constraints
    division = Division(
        teams=len(teams),
        candidates=evaluation.candidates,
        min_ranges=c.min_ranges,
        max_ranges=c.max_ranges,
        subject=subject,
    )
    problems = division.problems()
    if problems:
        return [], problems
    counts = divide(division, strategy)
    ranges = {slug: evaluation.states[slug].range for slug in counts}
    return assign(teams, counts, ranges, affinity=c.affinity), []


def place(request: PlacementRequest, snapshot: PlacementSnapshot, plugins: Plugins) -> Placement:
    """Place every team of `request` over `snapshot`, or explain why it cannot be done.

    Raises InvalidInput when the snapshot is for another window or the request names an unknown strategy
    or score; every other "no" is a Placement with `feasible` False and its reasons.
    """
    check_window(request, snapshot)
    strategy = plugins.strategy(request.strategy)
    weights = plugins.weights(strategy, request.score_weights)
    ctx = PlacementContext.of(request)
    evaluation = evaluate(snapshot, ctx, plugins, weights)
    assignments, problems = place_teams(request, evaluation, strategy, teams=request.teams)
    placement = assemble(
        request,
        evaluation,
        strategy=strategy.name,
        assignments=assignments,
        feasible=not problems,
        constraint_reasons=problems,
    )
    if log.isEnabledFor(logging.DEBUG):
        log.debug("placement of %s: %s", request.exercise, placement.summary())
    return placement
