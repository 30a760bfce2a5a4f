"""Small builders for placement tests, and an independent brute-force oracle of the hard constraints."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hypothesis import strategies as st

from connectors.base import DIMENSIONS, Resources
from orchestrator.domain.ranges import MaintenanceWindow, RangeSnapshot, RangeStatus, SharingPolicy
from orchestrator.placement.request import Affinity, Constraints, Owner, PlacementRequest, Team
from orchestrator.placement.snapshot import HEALTHY, Health, PlacementSnapshot, RangeState
from orchestrator.placement.strategies import BUILTIN_STRATEGIES

T0 = datetime(2027, 3, 4, 9, tzinfo=UTC)
NOW = T0 - timedelta(days=10)
DAY = timedelta(days=1)
DEMAND = Resources(16000, 8192, 1)
OWNER = Owner(organisation_id="org-certx", name="CERT-X", country="DE")
STRATEGY_NAMES = [s.name for s in BUILTIN_STRATEGIES]


def a_range(
    slug: str,
    *,
    country: str = "EE",
    capacity: Resources = Resources(64000, 65536, 10),
    capabilities: frozenset[str] = frozenset({"k8s"}),
    policy: SharingPolicy | None = None,
    status: RangeStatus = RangeStatus.ACTIVE,
    maintenance: tuple[MaintenanceWindow, ...] = (),
    preference: int = 50,
) -> RangeSnapshot:
    return RangeSnapshot(
        id=f"id-{slug}",
        slug=slug,
        country=country,
        operator_organisation=f"op-{country.lower()}",
        capabilities=capabilities,
        capacity=capacity,
        policy=policy or SharingPolicy(),
        status=status,
        maintenance=maintenance,
        preference=preference,
    )


def a_state(
    rng: RangeSnapshot,
    *,
    free: Resources | None = None,
    owner_free: Resources | None = None,
    health: Health = HEALTHY,
) -> RangeState:
    free = rng.capacity if free is None else free
    return RangeState(
        range=rng,
        free=free,
        free_at=dict.fromkeys(DIMENSIONS, T0),
        owner_free=owner_free,
        owner_free_at=dict.fromkeys(DIMENSIONS, T0 + timedelta(hours=2)) if owner_free is not None else None,
        health=health,
    )


def a_snapshot(*states: RangeState, start: datetime = T0, end: datetime = T0 + DAY) -> PlacementSnapshot:
    return PlacementSnapshot(start=start, end=end, ranges=tuple(states))


def teams(*countries: str) -> tuple[Team, ...]:
    return tuple(
        Team(name=f"team-{i:02d}", organisation=f"org-{c.lower()}", country=c)
        for i, c in enumerate(countries)
    )


def a_request(
    team_list: Sequence[Team] | int = 4,
    *,
    constraints: Constraints | None = None,
    strategy: str = "spread",
    demand: Resources = DEMAND,
    start: datetime = T0,
    end: datetime = T0 + DAY,
    now: datetime = NOW,
    owner: Owner = OWNER,
    score_weights: Mapping[str, int] | None = None,
) -> PlacementRequest:
    members = teams(*["EE"] * team_list) if isinstance(team_list, int) else tuple(team_list)
    return PlacementRequest(
        exercise="locked-shields",
        owner=owner,
        teams=members,
        demand=demand,
        start=start,
        end=end,
        now=now,
        constraints=constraints or Constraints(),
        strategy=strategy,
        score_weights=score_weights,
    )


# --- the oracle: the hard constraints written out plainly, independently of the engine -------------------


def hard_rules_allow(state: RangeState, request: PlacementRequest) -> bool:
    """Rules that decide whether teams already on the range may stay there."""
    r, c = state.range, request.constraints
    if r.status in (RangeStatus.MAINTENANCE, RangeStatus.DECOMMISSIONED):
        return False
    if {r.slug, r.id} & c.exclude_ranges:
        return False
    if c.include_ranges and not {r.slug, r.id} & c.include_ranges:
        return False
    if c.allowed_countries and r.country not in c.allowed_countries:
        return False
    if not c.required_capabilities <= r.capabilities:
        return False
    if any(w.start < request.end and request.start < w.end for w in r.maintenance):
        return False
    return state.health.ok


def rules_allow_new(state: RangeState, request: PlacementRequest) -> bool:
    """Every rule for putting new teams on the range (capacity aside)."""
    r, p = state.range, state.range.policy
    if not hard_rules_allow(state, request) or r.status is RangeStatus.DRAINING:
        return False
    admitted = (not p.allowed_countries and not p.allowed_organisations) or (
        request.owner.organisation_id in p.allowed_organisations
        or request.owner.country in p.allowed_countries
    )
    if not admitted:
        return False
    if p.max_booking_length is not None and request.end - request.start > p.max_booking_length:
        return False
    return not (p.min_lead_time is not None and request.start - request.now < p.min_lead_time)


def usable(state: RangeState) -> Resources:
    return state.owner_free if state.owner_free is not None else state.free


def fits(state: RangeState, request: PlacementRequest, added: int, base: int = 0) -> bool:
    cap = request.constraints.max_teams_per_range
    if cap is not None and base + added > cap:
        return False
    return request.demand.scale(added).fits_in(usable(state))


def compositions(total: int, parts: int) -> Iterator[tuple[int, ...]]:
    if parts == 0:
        if total == 0:
            yield ()
        return
    for first in range(total + 1):
        for rest in compositions(total - first, parts - 1):
            yield (first, *rest)


def brute_force_exists(
    states: Sequence[RangeState], request: PlacementRequest, n: int, base: Mapping[str, int] | None = None
) -> bool:
    """Is there any way to put n more teams on these ranges (kept teams in `base`) within every rule?"""
    base = base or {}
    c = request.constraints
    for counts in compositions(n, len(states)):
        ok = True
        used = 0
        for state, k in zip(states, counts, strict=True):
            kept = base.get(state.range.slug, 0)
            if kept > 0 or k > 0:
                used += 1
            if k > 0 and not (rules_allow_new(state, request) and fits(state, request, k, kept)):
                ok = False
                break
        if ok and c.min_ranges <= used and (c.max_ranges is None or used <= c.max_ranges):
            return True
    return False


# --- hypothesis worlds ------------------------------------------------------------------------------------

COUNTRIES = ["EE", "FI", "DE"]
CAPABILITIES = ["k8s", "ics"]


# Strategies built once: building them per draw costs more than the tests themselves.
DIGIT = st.integers(0, 9)
QUARTER = st.integers(0, 4)
COUNTRY = st.sampled_from(COUNTRIES)
CAPABILITY_SETS = st.sets(st.sampled_from(CAPABILITIES))
STATUS = st.sampled_from(list(RangeStatus))
PREFERENCE = st.integers(0, 100)
AFFINITY = st.sampled_from(list(Affinity))
STRATEGY = st.sampled_from(STRATEGY_NAMES)
WEIGHTS = st.none() | st.dictionaries(
    st.sampled_from(["balance", "pack", "locality", "preference"]), st.integers(1, 3), min_size=1
)
SICK = Health(ok=False, reason="probe failed: connection refused")
KERNEL_UPGRADE = MaintenanceWindow(
    start=T0 + timedelta(hours=2), end=T0 + timedelta(hours=4), reason="kernel upgrade"
)


def share_of(draw: st.DrawFn, amount: Resources, *, low: int = 0) -> Resources:
    """Each dimension cut to a random quarter step of itself, at least low/4 of it."""
    return Resources.from_dict({d: v * max(low, 4 - draw(QUARTER)) // 4 for d, v in amount.items()})


@st.composite
def small_worlds(
    draw: st.DrawFn, *, max_ranges: int = 5, max_teams: int = 6, friendly: bool = False
) -> tuple[PlacementSnapshot, PlacementRequest]:
    """Up to 5 ranges and 6 teams, every rule in play now and then, about a third of them placeable.

    Hypothesis leans to small draws, so draws count down from the easy case: the usual range is roomy
    and usable, the rare one tight or refused. `friendly` worlds only vary capacity and the exercise's
    numeric constraints (most are placeable).
    """

    def seldom(chance: int = 1) -> bool:
        """True about `chance` times in 10 (never in friendly worlds)."""
        return not friendly and draw(DIGIT) >= 10 - chance

    n_ranges = max_ranges - draw(st.integers(0, max_ranges - 1))
    states = []
    for i in range(n_ranges):
        capacity = Resources((12 - draw(DIGIT)) * 1000, (8 - draw(DIGIT) % 7) * 1024, 6 - draw(DIGIT) % 6)
        free = share_of(draw, capacity) if seldom(2) else share_of(draw, capacity, low=2)
        policy = SharingPolicy(
            allowed_countries=frozenset({draw(COUNTRY)}) if seldom() else frozenset(),
            max_booking_length=draw(st.sampled_from([DAY, timedelta(hours=8)])) if seldom() else None,
            min_lead_time=draw(st.sampled_from([timedelta(days=2), timedelta(days=20)]))
            if seldom()
            else None,
        )
        rng = a_range(
            f"r{i}-range",
            country=draw(COUNTRY),
            capacity=capacity,
            capabilities=frozenset(draw(CAPABILITY_SETS)) if seldom() else frozenset(CAPABILITIES),
            policy=policy,
            status=draw(STATUS) if seldom() else RangeStatus.ACTIVE,
            maintenance=(KERNEL_UPGRADE,) if seldom() else (),
            preference=draw(PREFERENCE),
        )
        owner_free = share_of(draw, free) if seldom(2) else None
        states.append(a_state(rng, free=free, owner_free=owner_free, health=SICK if seldom() else HEALTHY))
    slugs = st.sampled_from([s.range.slug for s in states])
    include: frozenset[str] = (
        frozenset(draw(st.sets(slugs, min_size=1, max_size=3))) if seldom() else frozenset()
    )
    exclude: frozenset[str] = frozenset({draw(slugs)}) - include if seldom() else frozenset()
    spread_out = draw(DIGIT)  # 70% of exercises accept a single range, the rest need 2 or 3
    min_ranges = 1 if spread_out < 7 else 2 + spread_out % 2
    constraints = Constraints(
        required_capabilities=frozenset({draw(st.sampled_from(CAPABILITIES))}) if seldom() else frozenset(),
        allowed_countries=frozenset(draw(st.sets(COUNTRY, min_size=1, max_size=2)))
        if seldom()
        else frozenset(),
        include_ranges=include,
        exclude_ranges=exclude,
        min_ranges=min_ranges,
        max_ranges=draw(st.none() | st.integers(min_ranges, 5)),
        max_teams_per_range=draw(st.none() | st.integers(1, 4)),
        affinity=draw(AFFINITY),
    )
    n_teams = draw(st.integers(1, max_teams))
    request = a_request(
        teams(*(draw(COUNTRY) for _ in range(n_teams))),
        constraints=constraints,
        strategy=draw(STRATEGY),
        demand=Resources(1000 + 1000 * (draw(DIGIT) % 3), 512 * (draw(DIGIT) % 3), 1),
        score_weights=draw(WEIGHTS),
    )
    return a_snapshot(*states), request


def with_strategy(request: PlacementRequest, name: str) -> PlacementRequest:
    return replace(request, strategy=name)
