"""Failed sign-ins are rate limited per client address, across every replica of the API.

The count lives in the database (each failure adds one, in its own short transaction), so a second
replica sees the failures the first counted. A client over the limit is refused with 429 and the seconds
until its window ends, before its token is even looked at: a correct guess then teaches nothing. Each
process remembers the clients it found blocked, so the success path of a well-behaved caller costs no
database access; a blocked client reaching a replica that does not know it yet is told at its next
failure, so it gets at most one more try per replica per window.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from orchestrator.domain.clock import Clock
from orchestrator.domain.errors import TooManyRequests


class FailureCounter(Protocol):
    def count_failure(self, client: str, *, now: datetime, window: timedelta) -> tuple[int, datetime]:
        """Add one failure of `client` to its current window (a new one when the last has ended) and
        return (failures in the window, the window's start)."""
        ...


@dataclass(frozen=True, kw_only=True)
class Limit:
    failures: int = 20
    window: timedelta = timedelta(minutes=1)


class SignInThrottle:
    def __init__(
        self,
        counters: Callable[[], AbstractContextManager[FailureCounter]],
        *,
        clock: Clock,
        limit: Limit = Limit(),
    ) -> None:
        self._counters = counters
        self._clock = clock
        self.limit = limit
        self._blocked: dict[str, datetime] = {}
        self._lock = threading.Lock()

    def check(self, client: str) -> None:
        """Refuse a client this process knows to be over the limit (no database access)."""
        with self._lock:
            until = self._blocked.get(client)
            if until is None:
                return
            now = self._clock.now()
            if now >= until:
                del self._blocked[client]
                return
        raise self._refusal(until, now)

    def failed(self, client: str) -> None:
        """Count a failed sign-in; raise TooManyRequests once the client is over the limit."""
        now = self._clock.now()
        with self._counters() as counter:
            failures, start = counter.count_failure(client, now=now, window=self.limit.window)
        if failures > self.limit.failures:
            until = start + self.limit.window
            with self._lock:
                self._blocked[client] = until
            raise self._refusal(until, now)

    def _refusal(self, until: datetime, now: datetime) -> TooManyRequests:
        wait = int((until - now).total_seconds() + 0.999)
        return TooManyRequests(
            f"too many failed sign-ins from this address ({self.limit.failures} per "
            f"{int(self.limit.window.total_seconds())} s); try again in {wait} s",
            retry_after=wait,
        )
