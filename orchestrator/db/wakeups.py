"""Wake-ups: a due action written for now wakes the scheduler at once instead of waiting for its tick.

A unit of work that schedules an action due now rings, after its commit, the process's `Wakeups` (the
in-process signal: `federange server`, SQLite, tests); on PostgreSQL it also sends `NOTIFY` on
`CHANNEL` inside its transaction, so PostgreSQL delivers it to every listening scheduler process exactly
when the action becomes visible (at commit, never for a rollback). A scheduler process listens with
`listen_in_background`. The periodic tick stays as the safety net: a lost notification (a listener
reconnecting) costs at most one tick interval, never an action.
"""

from __future__ import annotations

import logging
import threading

from sqlalchemy import Engine

log = logging.getLogger(__name__)

CHANNEL = "federange_due_actions"


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


def _conninfo(engine: Engine) -> str:
    return engine.url.set(drivername="postgresql").render_as_string(hide_password=False)


def listen_in_background(engine: Engine, wakeups: Wakeups, stop: threading.Event) -> threading.Thread | None:
    """On PostgreSQL, a daemon thread that LISTENs on `CHANNEL` and rings `wakeups` on each notification
    until `stop` is set (reconnecting with a bounded backoff); None on other databases."""
    if engine.dialect.name != "postgresql":
        return None
    import psycopg  # noqa: PLC0415 - psycopg is installed only with PostgreSQL (the `postgres` extra)

    conninfo = _conninfo(engine)

    def run() -> None:
        backoff = 0.5
        while not stop.is_set():
            try:
                with psycopg.connect(conninfo, autocommit=True) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    backoff = 0.5
                    wakeups.ring()  # anything written while we were not listening
                    while not stop.is_set():
                        for _ in conn.notifies(timeout=1.0):
                            wakeups.ring()
            except psycopg.Error as exc:
                log.warning("listening for due actions failed (%s); the tick covers it, retrying", exc)
                stop.wait(backoff)
                backoff = min(backoff * 2, 30.0)

    thread = threading.Thread(target=run, name="due-action-listener", daemon=True)
    thread.start()
    return thread
