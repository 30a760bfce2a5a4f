"""Which team goes to which range once the counts per range are decided: the soft affinity.

With `own-country` affinity a team prefers a range in its own country. Every range has one country, so
the number of teams that can get their wish is the sum over countries of min(teams from it, places in
it); giving each team, in name order, a place in its own country while one is left reaches that maximum.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence

from orchestrator.domain.ranges import RangeSnapshot
from orchestrator.placement.request import Affinity, Team
from orchestrator.placement.result import Assignment


def assign(
    teams: Sequence[Team],
    counts: Mapping[str, int],
    ranges: Mapping[str, RangeSnapshot],
    *,
    affinity: Affinity,
) -> list[Assignment]:
    """Assignments of `teams` (sum of `counts` of them) to ranges by slug; deterministic.

    Teams are taken in name order and places in range slug order, so equal inputs give equal outputs.
    """
    if sum(counts.values()) != len(teams):
        raise ValueError(f"{len(teams)} teams for {sum(counts.values())} places")
    left = {slug: counts[slug] for slug in sorted(counts) if counts[slug] > 0}
    ordered = sorted(teams, key=lambda t: t.name)
    out: dict[str, Assignment] = {}
    if affinity is Affinity.OWN_COUNTRY:
        by_country: dict[str, list[str]] = defaultdict(list)
        for slug in left:
            by_country[ranges[slug].country].append(slug)
        for team in ordered:
            places = by_country.get(team.country)
            while places and left[places[0]] == 0:
                places.pop(0)
            if places:
                slug = places[0]
                left[slug] -= 1
                out[team.name] = _on(team, ranges[slug], affinity=True)
    free = [slug for slug in left if left[slug] > 0]
    for team in ordered:
        if team.name in out:
            continue
        while left[free[0]] == 0:
            free.pop(0)
        left[free[0]] -= 1
        out[team.name] = _on(team, ranges[free[0]], affinity=False)
    return [out[t.name] for t in ordered]


def _on(team: Team, rng: RangeSnapshot, *, affinity: bool) -> Assignment:
    return Assignment(team=team.name, range_id=rng.id, range_slug=rng.slug, affinity=affinity)


def best_possible(
    teams: Sequence[Team], counts: Mapping[str, int], ranges: Mapping[str, RangeSnapshot]
) -> int:
    """The most teams that can be on a range in their own country given these counts."""
    places: dict[str, int] = defaultdict(int)
    for slug, k in counts.items():
        places[ranges[slug].country] += k
    wanting: dict[str, int] = defaultdict(int)
    for team in teams:
        wanting[team.country] += 1
    return sum(min(n, places[c]) for c, n in wanting.items())
