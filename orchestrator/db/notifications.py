"""Notices between the processes of one installation, through PostgreSQL's LISTEN/NOTIFY.

`token_revoked` is sent inside the revoking transaction (PostgreSQL delivers it at commit, and not at
all on rollback); every API process listens (`RevocationListener`) and clears its cache of verified
tokens. SQLite has no such channel: an embedded server is one process, which clears its own cache.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from sqlalchemy import Connection, Engine, text

log = logging.getLogger(__name__)

TOKENS_CHANNEL = "federange_token_revoked"


def token_revoked(connection: Connection, token_id: str) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(
            text("SELECT pg_notify(:channel, :id)"), {"channel": TOKENS_CHANNEL, "id": token_id}
        )


class RevocationListener:
    """A daemon thread holding one connection that LISTENs for revocations.

    `on_notice()` runs for each notice; `on_state(True)` once listening (again), `on_state(False)` when
    the connection is lost: the caller must then stop trusting what it cached, since notices sent
    meanwhile are lost. Reconnects every `retry_seconds` until `close()`."""

    def __init__(
        self,
        engine: Engine,
        *,
        on_notice: Callable[[], None],
        on_state: Callable[[bool], None],
        retry_seconds: float = 2.0,
    ) -> None:
        self._url = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        self._on_notice = on_notice
        self._on_state = on_state
        self._retry = retry_seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="federange-revocations", daemon=True)

    def start(self) -> None:
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
                    conn.execute(f"LISTEN {TOKENS_CHANNEL}")
                    self._on_state(True)
                    while not self._stop.is_set():
                        for _ in conn.notifies(timeout=1.0):
                            self._on_notice()
            except Exception as exc:
                if self._stop.is_set():
                    return
                log.warning("not listening for token revocations (%s); verified tokens are not cached", exc)
            self._on_state(False)
            self._stop.wait(self._retry)
