"""The division problem: closed-form feasibility against brute force, and every strategy over it."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orchestrator.placement.division import Candidate, Division, open_ranges
from orchestrator.placement.strategies import BUILTIN_STRATEGIES, FirstFit, Pack, Spread, Strategy, Weighted
from tests.unit.placement.builders import compositions


def candidates(*rooms: int, bases: tuple[int, ...] = ()) -> tuple[Candidate, ...]:
    return tuple(
        Candidate(slug=f"r{i}", room=room, base=bases[i] if i < len(bases) else 0, score=90 - i)
        for i, room in enumerate(rooms)
    )


def used(division: Division, counts: dict[str, int]) -> int:
    return len({s for s, k in counts.items() if k} | {c.slug for c in division.kept})


def brute_force(division: Division) -> list[dict[str, int]]:
    """Every valid division, by enumeration."""
    out = []
    cands = division.candidates
    for counts in compositions(division.teams, len(cands)):
        if any(k > c.room for k, c in zip(counts, cands, strict=True)):
            continue
        used = sum(1 for k, c in zip(counts, cands, strict=True) if k > 0 or c.base > 0)
        if used < division.min_ranges or (division.max_ranges is not None and used > division.max_ranges):
            continue
        out.append({c.slug: k for k, c in zip(counts, cands, strict=True) if k > 0})
    return out


@st.composite
def divisions(draw: st.DrawFn) -> Division:
    n = draw(st.integers(1, 5))
    cands = tuple(
        sorted(
            (
                Candidate(
                    slug=f"r{i}",
                    room=draw(st.integers(0, 4)),
                    base=draw(st.sampled_from([0, 0, 0, 1, 2])),
                    score=draw(st.integers(0, 100)),
                    preference=draw(st.integers(0, 100)),
                )
                for i in range(n)
            ),
            key=lambda c: (-c.score, c.slug),
        )
    )
    lo = draw(st.integers(1, 4))
    return Division(
        teams=draw(st.integers(0, 8)),
        candidates=cands,
        min_ranges=lo,
        max_ranges=draw(st.none() | st.integers(lo, 5)),
    )


@settings(max_examples=600, deadline=None)
@given(divisions())
def test_feasibility_matches_brute_force_and_every_strategy_finds_a_division(division: Division) -> None:
    valid = brute_force(division)
    assert (not division.problems()) == bool(valid) or division.teams == 0
    if division.teams == 0 or not valid:
        return
    for strategy in BUILTIN_STRATEGIES:
        counts = {s: k for s, k in strategy.divide(division).items() if k}
        assert division.violations(counts) == [], strategy.name
        assert counts in valid, strategy.name


@settings(max_examples=300, deadline=None)
@given(divisions())
def test_pack_and_first_fit_open_the_fewest_ranges(division: Division) -> None:
    valid = brute_force(division)
    if division.teams == 0 or not valid:
        return
    fewest = min(used(division, v) for v in valid)
    assert used(division, Pack().divide(division)) == fewest
    assert used(division, FirstFit().divide(division)) == fewest


@settings(max_examples=300, deadline=None)
@given(divisions())
def test_spread_opens_the_most_ranges_and_balances(division: Division) -> None:
    valid = brute_force(division)
    if division.teams == 0 or not valid:
        return
    counts = Spread().divide(division)
    assert used(division, counts) == max(used(division, v) for v in valid)
    totals = {c.slug: c.base + counts.get(c.slug, 0) for c in division.candidates if c.slug in counts}
    # No team could move from a fuller range to an emptier one with room left.
    room_left = {c.slug for c in division.candidates if c.slug in counts and counts[c.slug] < c.room}
    for slug, total in totals.items():
        if counts[slug] > 1:
            assert all(totals[other] >= total - 1 for other in room_left)


def test_infeasible_reasons_name_the_constraint() -> None:
    assert Division(teams=4, candidates=candidates(2, 1)).problems() == [
        "4 teams need 4 slots, eligible ranges hold 3 (r0 2, r1 1)"
    ]
    assert Division(teams=2, candidates=candidates(2, 1), min_ranges=3).problems() == [
        "needs at least 3 ranges, only 2 eligible"
    ]
    assert Division(teams=2, candidates=candidates(2, 1, 1), min_ranges=3).problems() == [
        "needs at least 3 ranges but has only 2 teams to place"
    ]
    assert Division(teams=5, candidates=candidates(1, 2, 3), max_ranges=2).problems() == []
    assert Division(teams=6, candidates=candidates(1, 2, 3), max_ranges=2).problems() == [
        "6 teams need 6 slots, at most 2 ranges may be used and the largest eligible hold 5 (r2 3, r1 2)"
    ]
    assert Division(teams=1, candidates=()).problems() == ["no range is eligible for 1 team"]
    assert Division(teams=1, candidates=candidates(0, 0, 0, bases=(1, 1, 1)), max_ranges=2).problems() == [
        "the kept teams already use 3 ranges, more than the maximum of 2"
    ]


def test_open_ranges_swaps_preferred_small_ranges_for_large_ones_only_as_needed() -> None:
    # Preference order r0 (room 1), r1 (room 1), r2 (room 1), r3 (room 5), r4 (room 4); 2 ranges, 6 teams.
    division = Division(teams=6, candidates=candidates(1, 1, 1, 5, 4))
    opened = open_ranges(division, 2, division.candidates)
    assert [c.slug for c in opened] == ["r0", "r3"]
    division = Division(teams=8, candidates=candidates(1, 1, 1, 5, 4))
    assert [c.slug for c in open_ranges(division, 2, division.candidates)] == ["r3", "r4"]


def test_spread_is_even_and_kept_teams_count() -> None:
    division = Division(teams=7, candidates=candidates(5, 5, 5))
    assert Spread().divide(division) == {"r0": 3, "r1": 2, "r2": 2}
    kept = Division(teams=3, candidates=candidates(5, 5, bases=(3, 0)))
    assert Spread().divide(kept) == {"r1": 3}


def test_pack_fills_in_score_order() -> None:
    assert Pack().divide(Division(teams=7, candidates=candidates(5, 5, 5))) == {"r0": 5, "r1": 2}
    # At least three ranges: each gets one, the rest fills the best.
    assert Pack().divide(Division(teams=7, candidates=candidates(5, 5, 5), min_ranges=3)) == {
        "r0": 5,
        "r1": 1,
        "r2": 1,
    }


def test_weighted_divides_in_proportion_to_preference_times_score() -> None:
    cands = (
        Candidate(slug="a", room=10, score=60, preference=90),
        Candidate(slug="b", room=10, score=60, preference=30),
        Candidate(slug="c", room=10, score=60, preference=0),
    )
    assert Weighted().divide(Division(teams=8, candidates=cands)) == {"a": 6, "b": 2}
    # A zero-weight range is opened only when the constraints need it.
    assert Weighted().divide(Division(teams=8, candidates=cands, min_ranges=3)) == {"a": 5, "b": 2, "c": 1}
    capped = (Candidate(slug="a", room=3, score=60, preference=90), *cands[1:])
    assert Weighted().divide(Division(teams=8, candidates=capped)) == {"a": 3, "b": 5}


@pytest.mark.parametrize("strategy", BUILTIN_STRATEGIES, ids=lambda s: s.name)
def test_every_strategy_names_known_default_weights(strategy: Strategy) -> None:
    assert set(strategy.default_weights) <= {"balance", "pack", "locality", "preference"}
    assert all(w > 0 for w in strategy.default_weights.values())
