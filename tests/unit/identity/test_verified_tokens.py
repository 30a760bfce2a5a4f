"""The cache of verified tokens: bounded by its TTL and the token's expiry, cleared by revocations, and
never keeping a lookup that raced with a revocation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from orchestrator.domain.clock import FrozenClock
from orchestrator.identity.principals import Principal, Role
from orchestrator.identity.verified import TokenGrant, VerifiedTokens

T0 = datetime(2027, 1, 1, 9, 0, tzinfo=UTC)
ALICE = Principal(id="p1", name="alice", organisation_id="o1", organisation_country="EE", role=Role.TRAINER)


def cache(clock: FrozenClock, seconds: float = 10) -> VerifiedTokens:
    return VerifiedTokens(clock=clock, ttl=timedelta(seconds=seconds))


def test_an_entry_lives_its_ttl() -> None:
    clock = FrozenClock(T0)
    verified = cache(clock)
    verified.put("d", TokenGrant(ALICE, None), generation=verified.generation)
    clock.advance(timedelta(seconds=9.9))
    assert verified.get("d") == ALICE
    clock.advance(timedelta(seconds=0.1))
    assert verified.get("d") is None


def test_an_entry_never_outlives_its_token() -> None:
    clock = FrozenClock(T0)
    verified = cache(clock)
    verified.put("d", TokenGrant(ALICE, T0 + timedelta(seconds=3)), generation=verified.generation)
    clock.advance(timedelta(seconds=3))
    assert verified.get("d") is None


def test_a_lookup_that_began_before_a_revocation_is_not_kept() -> None:
    clock = FrozenClock(T0)
    verified = cache(clock)
    began = verified.generation
    verified.clear()  # a revocation arrived while the database was being asked
    verified.put("d", TokenGrant(ALICE, None), generation=began)
    assert verified.get("d") is None


def test_an_untrusted_or_disabled_cache_keeps_nothing() -> None:
    clock = FrozenClock(T0)
    verified = cache(clock)
    verified.put("d", TokenGrant(ALICE, None), generation=verified.generation)
    verified.trust(False)  # the revocation notices stopped arriving
    assert verified.get("d") is None
    verified.put("d", TokenGrant(ALICE, None), generation=verified.generation)
    assert verified.get("d") is None
    off = cache(clock, seconds=0)
    off.put("d", TokenGrant(ALICE, None), generation=off.generation)
    assert off.get("d") is None
