"""Recently verified API tokens, so that an authenticated request needs no database transaction.

An entry lives `ttl` at most and never past its token's expiry. A revocation clears the cache of the
process that made it at once, and every other process's when the database's notice reaches it (see
`orchestrator.db.notifications`); while a process cannot hear those notices it does not use the cache.
The `generation` guards the race with a revocation: a lookup that began before a clear is not kept.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from orchestrator.domain.clock import Clock
from orchestrator.identity.principals import Principal


@dataclass(frozen=True)
class TokenGrant:
    """What a live token grants: its principal, until its expiry (None: it does not expire)."""

    principal: Principal
    expires_at: datetime | None


class VerifiedTokens:
    def __init__(self, *, clock: Clock, ttl: timedelta, max_entries: int = 10_000) -> None:
        self._clock = clock
        self.ttl = ttl
        self.max_entries = max_entries
        self._entries: dict[str, tuple[Principal, datetime]] = {}
        self._lock = threading.Lock()
        self._generation = 0
        self._trusted = True

    @property
    def trusted(self) -> bool:
        return self._trusted

    @property
    def generation(self) -> int:
        return self._generation

    def get(self, digest: str) -> Principal | None:
        if not self._trusted or self.ttl <= timedelta(0):
            return None
        with self._lock:
            found = self._entries.get(digest)
            if found is None:
                return None
            principal, until = found
            if self._clock.now() >= until:
                del self._entries[digest]
                return None
            return principal

    def put(self, digest: str, grant: TokenGrant, *, generation: int) -> None:
        """Remember a grant looked up from the database, unless the cache was cleared since the lookup
        began (`generation` read before it)."""
        if not self._trusted or self.ttl <= timedelta(0):
            return
        until = self._clock.now() + self.ttl
        if grant.expires_at is not None:
            until = min(until, grant.expires_at)
        with self._lock:
            if generation != self._generation:
                return
            if len(self._entries) >= self.max_entries:
                self._entries.clear()
            self._entries[digest] = (grant.principal, until)

    def clear(self) -> None:
        """Forget every entry (a token was revoked somewhere)."""
        with self._lock:
            self._generation += 1
            self._entries.clear()

    def trust(self, trusted: bool) -> None:
        """Use the cache (True) or not (False: revocations could be missed), clearing it either way."""
        self._trusted = trusted
        self.clear()
