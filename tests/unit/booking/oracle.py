"""A brute-force model of admission: checks every instant of a time grid, no sweeps, no indexes.

Times are whole grid steps (minutes) from an origin, so usage is constant between grid points and
checking each point in a window is exact. The model keeps its own copy of every booking and decides
book/renew/confirm/cancel/expire the slow, obvious way; tests compare the engine's decisions with it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

from connectors.base import DIMENSIONS

Vector = tuple[int, int, int, int]
OCCUPYING = {"held", "pending_approval", "confirmed", "active"}


@dataclass
class ORange:
    id: str
    country: str
    operator: str
    capacity: Vector
    share: str = "1"  # decimal string, exact
    approval: bool = False
    allowed_countries: frozenset[str] = frozenset()
    max_length: int | None = None
    maintenance: list[tuple[int, int]] = field(default_factory=list)

    def foreign_limit(self) -> Vector:
        share = Fraction(self.share)
        return tuple(int(v * share) for v in self.capacity)  # type: ignore[return-value]


@dataclass
class OBooking:
    key: str
    range_id: str
    owner: str
    country: str
    start: int
    end: int
    demand: Vector
    status: str
    expires: int | None

    def occupies(self, now: int) -> bool:
        if self.status not in OCCUPYING:
            return False
        return self.status != "held" or self.expires is None or self.expires > now


@dataclass
class Oracle:
    ranges: dict[str, ORange]
    countries: dict[str, str]  # organisation -> country
    quotas: dict[str, Vector] = field(default_factory=dict)
    hold_ttl: int = 60
    bookings: dict[str, OBooking] = field(default_factory=dict)

    # -- the rules, instant by instant -------------------------------------------------------------
    def usage(self, range_id: str, t: int, now: int, *, foreign_of: str | None = None) -> list[int]:
        total = [0, 0, 0, 0]
        for b in self.bookings.values():
            if b.range_id != range_id or not b.occupies(now) or not b.start <= t < b.end:
                continue
            if foreign_of is not None and b.country == foreign_of:
                continue
            for k in range(4):
                total[k] += b.demand[k]
        return total

    def held_by(self, org: str, t: int, now: int) -> list[int]:
        total = [0, 0, 0, 0]
        for b in self.bookings.values():
            if b.owner == org and b.occupies(now) and b.start <= t < b.end:
                for k in range(4):
                    total[k] += b.demand[k]
        return total

    def range_failures(self, r: ORange, org: str, start: int, end: int, demand: Vector, now: int) -> set[str]:
        """Which rules the demand breaks on r over [start, end) (the window is checked from `now`)."""
        failures: set[str] = set()
        country = self.countries[org]
        outsider = org != r.operator
        if outsider and r.allowed_countries and country not in r.allowed_countries:
            failures.add("policy")
        used = [k for k in range(4) if demand[k] > 0]
        limited = country != r.country and Fraction(r.share) < 1
        limit = r.foreign_limit()
        for t in range(max(start, now), end):
            in_maintenance = any(a <= t < b for a, b in r.maintenance)
            level = self.usage(r.id, t, now)
            for k in used:
                free = 0 if in_maintenance else r.capacity[k] - level[k]
                if demand[k] > free:
                    failures.add(f"capacity:{DIMENSIONS[k]}")
            if limited:
                foreign = self.usage(r.id, t, now, foreign_of=r.country)
                for k in used:
                    if foreign[k] + demand[k] > limit[k]:
                        failures.add(f"foreign:{DIMENSIONS[k]}")
        return failures

    def quota_fails(self, org: str, claims: list[tuple[int, int, Vector]], now: int) -> bool:
        quota = self.quotas.get(org)
        if quota is None:
            return False
        for start, end, demand in claims:
            for t in range(start, end):
                level = self.held_by(org, t, now)
                for s, e, d in claims:
                    if s <= t < e:
                        for k in range(4):
                            level[k] += d[k]
                if any(level[k] > quota[k] for k in range(4) if demand[k] > 0):
                    return True
        return False

    # -- operations ------------------------------------------------------------------------------
    def book(
        self,
        key: str,
        org: str,
        items: list[tuple[str, Vector]],
        start: int,
        end: int,
        *,
        hold: bool,
        now: int,
    ) -> tuple[str, set[str]]:
        """('invalid' | 'refused' | 'admitted', the failing range ids (+ 'quota'))."""
        if end <= now:
            return "invalid", set()
        failing: set[str] = set()
        for range_id, demand in items:
            r = self.ranges[range_id]
            fails = self.range_failures(r, org, start, end, demand, now)
            if r.max_length is not None and org != r.operator and end - start > r.max_length:
                fails.add("length")
            if fails:
                failing.add(range_id)
        begin = max(start, now)
        if self.quota_fails(org, [(begin, end, d) for _, d in items], now):
            failing.add("quota")
        if failing:
            return "refused", failing
        for n, (range_id, demand) in enumerate(items):
            r = self.ranges[range_id]
            if r.approval and org != r.operator:
                status, expires = "pending_approval", None
            elif hold:
                status, expires = "held", now + self.hold_ttl
            else:
                status, expires = "confirmed", None
            self.bookings[f"{key}/{n}"] = OBooking(
                f"{key}/{n}", range_id, org, self.countries[org], start, end, demand, status, expires
            )
        return "admitted", set()

    def renew(self, key: str, new_end: int, *, now: int) -> tuple[str, set[str]]:
        b = self.bookings[key]
        if not b.occupies(now):
            return "conflict", set()
        if new_end <= max(b.start, now):
            return "invalid", set()
        if new_end <= b.end:
            b.end = new_end
            return "admitted", set()
        r = self.ranges[b.range_id]
        begin = max(b.end, now)
        fails = self.range_failures(r, b.owner, begin, new_end, b.demand, now)
        if r.max_length is not None and b.owner != r.operator and new_end - b.start > r.max_length:
            fails.add("length")
        failing = {b.range_id} if fails else set()
        if self.quota_fails(b.owner, [(begin, new_end, b.demand)], now):
            failing.add("quota")
        if failing:
            return "refused", failing
        b.end = new_end
        return "admitted", set()

    def confirm(self, key: str, *, now: int) -> str:
        b = self.bookings[key]
        if b.status in {"confirmed", "active"}:
            return "same"
        if b.status == "held":
            if not b.occupies(now):
                return "conflict"
            b.status, b.expires = "confirmed", None
            return "moved"
        return "conflict"  # pending approval, or ended: both 409

    def cancel(self, key: str) -> str:
        b = self.bookings[key]
        if b.status == "cancelled":
            return "same"
        if b.status in {"held", "pending_approval", "confirmed"}:
            b.status, b.expires = "cancelled", None
            return "moved"
        return "conflict"

    def approve(self, key: str) -> str:
        b = self.bookings[key]
        if b.status == "confirmed":
            return "same"
        if b.status == "pending_approval":
            b.status = "confirmed"
            return "moved"
        return "conflict"

    def expire(self, now: int) -> int:
        count = 0
        for b in self.bookings.values():
            if b.status == "held" and b.expires is not None and b.expires <= now:
                b.status = "expired"
                count += 1
        return count

    # -- invariants ------------------------------------------------------------------------------
    def overbooked(self, now: int, horizon: int) -> list[str]:
        """Every (range, instant, dimension) from `now` on where occupying bookings exceed what may be
        held (capacity outside maintenance, nothing inside; the foreign limit for foreign bookings), and
        every instant an organisation holds more than its quota. Summed slot by slot."""
        span = range(now, horizon)
        level = {r: {t: [0, 0, 0, 0] for t in span} for r in self.ranges}
        foreign = {r: {t: [0, 0, 0, 0] for t in span} for r in self.ranges}
        held = {o: {t: [0, 0, 0, 0] for t in span} for o in self.quotas}
        for b in self.bookings.values():
            if not b.occupies(now):
                continue
            outside = b.country != self.ranges[b.range_id].country
            for t in range(max(b.start, now), min(b.end, horizon)):
                for k in range(4):
                    level[b.range_id][t][k] += b.demand[k]
                    if outside:
                        foreign[b.range_id][t][k] += b.demand[k]
                    if b.owner in held:
                        held[b.owner][t][k] += b.demand[k]
        found = []
        for r in self.ranges.values():
            limit = r.foreign_limit()
            shared = Fraction(r.share) < 1
            for t in span:
                in_maintenance = any(a <= t < e for a, e in r.maintenance)
                for k in range(4):
                    cap = 0 if in_maintenance else r.capacity[k]
                    if level[r.id][t][k] > cap:
                        found.append(f"{r.id}@{t}:{DIMENSIONS[k]} {level[r.id][t][k]}>{cap}")
                    if shared and foreign[r.id][t][k] > limit[k]:
                        found.append(f"{r.id}@{t}:foreign {DIMENSIONS[k]}")
        for org, quota in self.quotas.items():
            for t in span:
                if any(held[org][t][k] > quota[k] for k in range(4)):
                    found.append(f"quota {org}@{t}")
        return found
