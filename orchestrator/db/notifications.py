"""Notices between the processes of one installation, through PostgreSQL's LISTEN/NOTIFY.

Two channels, one mechanism. A notice is sent inside the transaction that makes it true (PostgreSQL
delivers it at commit, and not at all on rollback) and every interested process holds a `Listener`:

- `TOKENS_CHANNEL`: a token was revoked; every API process clears its cache of verified tokens.
- `ACTIONS_CHANNEL`: a due action was written for now; every scheduler process's `Wakeups` rings, so the
  action runs at once instead of at the next tick. In one process (`federange server`, SQLite, tests)
  the unit of work rings the process's own `Wakeups` after its commit.

SQLite has no such channel: an embedded server is one process, which clears its own cache and rings its
own wake-ups. A lost notice (a listener reconnecting) is covered by `on_state(False)`: the token cache
stops trusting itself, and the scheduler's periodic tick stays as the safety net.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from sqlalchemy import Connection, Engine, text

from orchestrator.db.engine import write_later

log = logging.getLogger(__name__)

_NOTIFY = text("SELECT pg_notify(:channel, :payload)")
TOKENS_CHANNEL = "federange_token_revoked"
ACTIONS_CHANNEL = "federange_due_actions"


def notify(connection: Connection, channel: str, payload: str = "") -> None:
    """Send `payload` on `channel` at the commit of `connection`'s transaction (PostgreSQL only)."""
    if connection.dialect.name == "postgresql":
        write_later(connection, _NOTIFY, {"channel": channel, "payload": payload})


def token_revoked(connection: Connection, token_id: str) -> None:
    notify(connection, TOKENS_CHANNEL, token_id)


class Wakeups:
    """A level-triggered signal: `ring` after a commit, `wait` in the scheduler's wake loop."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def ring(self) -> None:
        self._event.set()

    def wait(self, timeout: float) -> bool:
        """True when rung since the last wait (cleared before returning: a ring after it is kept for the
        next wait, and the caller's claim, which runs after, sees every action committed before)."""
        rang = self._event.wait(timeout)
        if rang:
            self._event.clear()
        return rang


class Listener:
    """A daemon thread holding one connection that LISTENs on `channel`.

    `on_notice()` runs for each notice; `on_state(True)` once listening (again), `on_state(False)` when
    the connection is lost: notices sent meanwhile are lost, so the caller must not rely on having heard
    them. Reconnects every `retry_seconds` until `close()`. On a database other than PostgreSQL,
    `start()` does nothing."""

    def __init__(
        self,
        engine: Engine,
        *,
        channel: str,
        on_notice: Callable[[], None],
        on_state: Callable[[bool], None] = lambda _listening: None,
        retry_seconds: float = 2.0,
    ) -> None:
        self._postgres = engine.dialect.name == "postgresql"
        self._url = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        self._channel = channel
        self._on_notice = on_notice
        self._on_state = on_state
        self._retry = retry_seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"listen-{channel}", daemon=True)

    def start(self) -> None:
        if self._postgres:
            self._thread.start()

    def close(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def _run(self) -> None:
        import psycopg  # noqa: PLC0415 - psycopg is installed only with PostgreSQL

        while not self._stop.is_set():
            try:
                with psycopg.connect(self._url, autocommit=True, connect_timeout=10) as conn:
                    conn.execute(f"LISTEN {self._channel}")
                    self._on_state(True)
                    while not self._stop.is_set():
                        for _ in conn.notifies(timeout=1.0):
                            self._on_notice()
            except Exception as exc:
                if self._stop.is_set():
                    return
                log.warning("not listening on %s (%s); retrying in %gs", self._channel, exc, self._retry)
            self._on_state(False)
            self._stop.wait(self._retry)
