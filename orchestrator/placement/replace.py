"""Re-placement (healing): move the teams whose range became unusable, keep every other team where it is.

A range is unusable for teams already booked on it when a rule that is not only about new bookings says
no in the new snapshot (maintenance, decommissioned, failing probes, capability gone, now outside the
exercise's constraints), when it is missing from the snapshot, or when the caller says so. A draining
range, a range now short of lead time or capacity keeps its teams but takes no more.

Contract on the snapshot: its free capacity counts the exercise's current bookings as used (as the
bookings table does), so a range's room is what can be added beside them. Moved teams go where every
constraint still holds, counting kept teams for max-per-range and the number of ranges used; when not all
of them can move, as many as possible do (the first in order of range slug, then team name) and the
reasons say why the rest cannot.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from orchestrator.domain.errors import FieldProblem, InvalidInput
from orchestrator.placement import phrases
from orchestrator.placement.context import PlacementContext
from orchestrator.placement.division import Division
from orchestrator.placement.engine import assemble, check_window, evaluate, place_teams
from orchestrator.placement.plugins import Plugins
from orchestrator.placement.request import PlacementRequest
from orchestrator.placement.result import Assignment, Placement, RangeBooking
from orchestrator.placement.snapshot import PlacementSnapshot


@dataclass(frozen=True, kw_only=True)
class Move:
    team: str
    from_range_slug: str
    to_range_id: str
    to_range_slug: str


@dataclass(frozen=True, kw_only=True)
class Replacement:
    """The outcome of a re-placement.

    `placement` is the resulting placement (feasible iff every team has a range); `moves` the teams that
    change range; `unplaced` the teams on unusable ranges that could not be moved, with `reasons`;
    `unusable` each unusable range's reasons; `additions` the demand to book on top of the existing
    bookings per target range; `releases` the demand this exercise held on each unusable range.
    """

    placement: Placement
    moves: tuple[Move, ...]
    unplaced: tuple[str, ...]
    unusable: Mapping[str, tuple[str, ...]]
    reasons: tuple[str, ...]
    additions: tuple[RangeBooking, ...]
    releases: tuple[RangeBooking, ...]

    @property
    def complete(self) -> bool:
        return not self.unplaced

    def summary(self) -> str:
        if not self.unusable:
            return f"every range of {self.placement.exercise} is still usable; no team moves"
        moved = ", ".join(f"{m.team} {m.from_range_slug}->{m.to_range_slug}" for m in self.moves) or "none"
        text = f"{phrases.plural(len(self.moves), 'team')} moved off unusable ranges ({moved})"
        if self.unplaced:
            text += f"; cannot move {', '.join(self.unplaced)}: {'; '.join(self.reasons)}"
        return text


def replace_teams(
    current: Placement,
    request: PlacementRequest,
    snapshot: PlacementSnapshot,
    plugins: Plugins,
    *,
    unusable: Mapping[str, str] | None = None,
) -> Replacement:
    """Move only the teams of `current` that sit on unusable ranges; see the module docstring.

    `unusable` optionally names more ranges (slug or id -> reason) the caller knows to be unusable.
    Raises InvalidInput when `current` is not a feasible placement of exactly the request's teams.
    """
    check_window(request, snapshot)
    _check_current(current, request)
    strategy = plugins.strategy(request.strategy)
    weights = plugins.weights(strategy, request.score_weights)
    named = _named(unusable or {}, snapshot)
    broken = _unusable_ranges(current, snapshot, plugins, request, named)

    moving = sorted(
        (a for a in current.assignments if a.range_slug in broken), key=lambda a: (a.range_slug, a.team)
    )
    kept = [a for a in current.assignments if a.range_slug not in broken]
    base = Counter(a.range_slug for a in kept)
    ctx = PlacementContext.of(request, to_place=len(moving), base=base)
    told = {slug: f"{slug}: {reason}" for slug, reason in named.items()}
    evaluation = evaluate(snapshot, ctx, plugins, weights, kept=set(base), unusable=told)
    teams = {t.name: t for t in request.teams}

    to_move = [teams[a.team] for a in moving]
    placed, problems = place_teams(request, evaluation, strategy, teams=to_move, subject="moving team")
    if problems:
        c = request.constraints
        for n in range(len(to_move) - 1, 0, -1):
            division = Division(
                teams=n, candidates=evaluation.candidates, min_ranges=c.min_ranges, max_ranges=c.max_ranges
            )
            if not division.problems():
                placed, _ = place_teams(request, evaluation, strategy, teams=to_move[:n])
                break

    was = {a.team: a for a in moving}
    moves = tuple(
        Move(
            team=a.team,
            from_range_slug=was[a.team].range_slug,
            to_range_id=a.range_id,
            to_range_slug=a.range_slug,
        )
        for a in sorted(placed, key=lambda a: a.team)
    )
    moved = {m.team for m in moves}
    unplaced = tuple(sorted(a.team for a in moving if a.team not in moved))
    placement = assemble(
        request,
        evaluation,
        strategy=strategy.name,
        assignments=[*kept, *placed],
        feasible=not unplaced,
        constraint_reasons=problems if unplaced else (),
    )
    approval = {slug: o.approval_required for slug, o in evaluation.outcomes.items()}
    return Replacement(
        placement=placement,
        moves=moves,
        unplaced=unplaced,
        unusable=broken,
        reasons=tuple(problems) if unplaced else (),
        additions=_bookings(request, Counter(m.to_range_slug for m in moves), placed, approval),
        releases=_bookings(request, Counter(a.range_slug for a in moving), moving, {}),
    )


def _check_current(current: Placement, request: PlacementRequest) -> None:
    if not current.feasible:
        raise InvalidInput(FieldProblem("current", "is not a feasible placement; place the teams first"))
    placed = {a.team for a in current.assignments}
    wanted = {t.name for t in request.teams}
    problems = []
    if wanted - placed:
        problems.append(FieldProblem("current", f"does not place teams {', '.join(sorted(wanted - placed))}"))
    if placed - wanted:
        problems.append(
            FieldProblem("current", f"places teams not in the request: {', '.join(sorted(placed - wanted))}")
        )
    if problems:
        raise InvalidInput(problems)


def _named(unusable: Mapping[str, str], snapshot: PlacementSnapshot) -> dict[str, str]:
    """The caller's unusable ranges by slug (they may be named by id)."""
    out: dict[str, str] = {}
    for name, reason in unusable.items():
        state = snapshot.find(name)
        out[state.slug if state else name] = reason
    return out


def _unusable_ranges(
    current: Placement,
    snapshot: PlacementSnapshot,
    plugins: Plugins,
    request: PlacementRequest,
    named: Mapping[str, str],
) -> dict[str, tuple[str, ...]]:
    """The ranges of `current` that can no longer host their teams, with every reason (ranges by slug)."""
    ctx = PlacementContext.of(request)
    hard = [f for f in plugins.filters if not f.new_bookings_only]
    out: dict[str, tuple[str, ...]] = {}
    for slug in sorted({a.range_slug for a in current.assignments}):
        state = snapshot.find(slug)
        reasons: list[str] = []
        if state is None:
            reasons.append(f"{slug}: no longer in the snapshot of ranges")
        else:
            reasons.extend(r for f in hard for r in f.check(state, ctx).reasons)
        if slug in named:
            reasons.append(f"{slug}: {named[slug]}")
        if reasons:
            out[slug] = tuple(reasons)
    return out


def _bookings(
    request: PlacementRequest,
    counts: Counter[str],
    assignments: Sequence[Assignment],
    approval: Mapping[str, bool],
) -> tuple[RangeBooking, ...]:
    ids = {a.range_slug: a.range_id for a in assignments}
    return tuple(
        RangeBooking(
            range_id=ids[slug],
            range_slug=slug,
            teams=n,
            demand=request.demand.scale(n),
            approval_required=approval.get(slug, False),
        )
        for slug, n in sorted(counts.items())
    )
