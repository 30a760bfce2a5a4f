"""Engines for the two supported backends.

SQLite (embedded default): WAL journal, a busy timeout, foreign keys on, and every transaction opened
with BEGIN IMMEDIATE so writers serialise on the database lock (the booking engine relies on it to
never overbook). PostgreSQL: psycopg 3 with a pool; admissions take row and advisory locks in one order
(`federange_admission_locks`, docs/operations.md "SQLite and PostgreSQL").

No pre-ping: a liveness query before every transaction was a round trip on every request. A connection
back from the pool within the last `LIVE_SECONDS` whose socket has nothing to read (a server that ends
a session, or stops, sends its FATAL or closes the socket, which makes it readable) has its BEGIN kept
and sent in one round trip with the transaction's first statement. Any other connection gets its BEGIN
sent at once (the round trip the driver would send anyway) and, when that finds it dead (the server
restarted, a proxy dropped it), is discarded and the transaction begins again on a fresh one, once.
"""

from __future__ import annotations

import logging
import select
import time
from collections.abc import Callable, Mapping
from functools import cache
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Connection, Dialect, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.sql import ClauseElement, Executable
from sqlalchemy.sql.compiler import SQLCompiler

log = logging.getLogger(__name__)

try:  # the driver's own errors reach callers of the admission path's driver-level statements unwrapped
    from psycopg import OperationalError as _DriverOperationalError

    _DRIVER_UNAVAILABLE: tuple[type[BaseException], ...] = (_DriverOperationalError,)
except ImportError:  # psycopg comes with the postgres extra
    _DRIVER_UNAVAILABLE = ()


def make_engine(url: str, *, pool_size: int = 10) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        _configure_sqlite(engine)
        return engine
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    # LIFO: the connection used last goes out first (its server process warm, its LAST_USED recent)
    engine = create_engine(
        parsed, pool_size=pool_size, max_overflow=pool_size, pool_recycle=3600, pool_use_lifo=True
    )
    _configure_postgres(engine)
    return engine


#: How long after its last use a pooled connection whose socket has nothing to read is taken for live.
LIVE_SECONDS = 10.0
LAST_USED = "federange_last_used"


def _live(connection: Connection, driver: Any) -> bool:
    """Used within `LIVE_SECONDS` and nothing from the server waiting on its socket (see the module's
    docstring): a dead connection would have its FATAL, or its end, to read."""
    last = connection.info.get(LAST_USED)
    if last is None or time.monotonic() - last > LIVE_SECONDS:
        return False
    readable, _, _ = select.select([driver.pgconn.socket], [], [], 0)
    return not readable


def begin(engine: Engine) -> Connection:
    """A connection with its transaction begun (see the module's docstring for PostgreSQL)."""
    for attempt in (1, 2):
        connection = engine.connect()
        driver: Any = None
        try:
            connection.begin()
            if connection.dialect.name == "postgresql":
                # BEGIN sent by us rather than by psycopg before the first statement: the driver is in
                # autocommit (it sends no BEGIN of its own) until the connection goes back to the pool;
                # commit() and rollback() still end the transaction the server reports (and do nothing
                # when no statement, so no BEGIN, was sent).
                driver = connection.connection.driver_connection
                driver.autocommit = True
                if _live(connection, driver):
                    connection.info[DEFERRED] = [BEGIN]  # sent with the first statement
                else:
                    driver.execute("BEGIN")
            return connection
        except Exception:
            dead = driver is not None and bool(driver.broken or driver.closed)
            if dead:
                connection.invalidate()
            connection.close()
            if not dead or attempt == 2:
                raise
            log.warning("a pooled database connection was dead; beginning again on a new one")
    raise AssertionError("unreachable")


def unavailable(error: BaseException) -> bool:
    """Whether `error` is the database not answering or not able to finish now (connection refused or
    lost, server shutting down, too many connections, statement cancelled, deadlock, SQLite locked or
    not migrated): worth a retry by the caller, not a bug of ours."""
    if isinstance(error, OperationalError):
        return True
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return True
    return isinstance(error, _DRIVER_UNAVAILABLE)


DEFERRED = "federange_deferred_writes"
BEGIN = ("BEGIN", None)


def defer(connection: Connection, sql: str, params: dict[str, Any]) -> None:
    """Keep a write of this transaction to send with its next statement or its COMMIT."""
    connection.info.setdefault(DEFERRED, []).append((sql, params))


@cache
def _write_statement(
    stmt: Executable, dialect: Dialect, keys: tuple[str, ...]
) -> tuple[str, dict[str, Any], tuple[tuple[str, Callable[[Any], Any]], ...]]:
    """`stmt` compiled for the driver with these parameter names: its SQL, the values of its literal
    parameters (a LIMIT, say), and the bind processors of its parameters (the column types'
    conversions SQLAlchemy would apply: UTC timestamps, JSON). Cached on the statement object, so
    callers pass statements built once (module constants), never one built per call."""
    compiled = cast(SQLCompiler, cast(ClauseElement, stmt).compile(dialect=dialect, column_keys=list(keys)))
    processors = []
    for name, bind in compiled.binds.items():
        process = bind.type.dialect_impl(dialect).bind_processor(dialect)
        if process is not None:
            processors.append((name, process))
    literals = {name: value for name, value in compiled.params.items() if name not in keys}
    if missing := sorted(name for name, value in literals.items() if value is None):
        # a column default SQLAlchemy would fill in at execution: the caller gives every value
        raise ValueError(f"write_later: no value for {', '.join(missing)}")
    return str(compiled), literals, tuple(processors)


def write_later(connection: Connection, stmt: Executable, values: Mapping[str, Any]) -> None:
    """A write whose outcome nobody reads in this transaction (an audit event, an exercise event, a due
    action, a NOTIFY): on PostgreSQL it is kept and goes out in one pipeline with the other writes
    kept, before the transaction's next statement or with its COMMIT, so it costs no round trip of its
    own; on SQLite it is executed now. An error it raises surfaces at that next statement or COMMIT."""
    if connection.dialect.name != "postgresql":
        connection.execute(stmt, dict(values))
        return
    sql, literals, processors = _write_statement(stmt, connection.dialect, tuple(values))
    params = {**literals, **values}
    for name, process in processors:
        if params.get(name) is not None:
            params[name] = process(params[name])
    defer(connection, sql, params)


def _send(cursor: Any, statements: list[tuple[str, Any]]) -> None:
    """Send `statements` in one round trip (psycopg's pipeline mode); the cursor holds the last one's
    result. The first error (a deferred check's refusal, say) is the one raised: caught inside the
    pipeline's block, so that leaving it does not log the statements it aborted as errors of their own."""
    first: Exception | None = None
    try:
        with cursor.connection.pipeline():
            try:
                for sql, params in statements:
                    cursor.execute(sql, params)
            except Exception as error:
                first = error
    except Exception:
        if first is None:
            raise
    if first is not None:
        raise first


def flush_deferred(info: dict[Any, Any], cursor: Any, then: tuple[str, Any] | None = None) -> None:
    """Send the statements kept on this connection (its BEGIN, writes) before anything else, and the
    statement `then` with them, in one round trip; `then` alone when nothing is kept."""
    deferred = info.pop(DEFERRED, None)
    statements = [*(deferred or ()), *(() if then is None else (then,))]
    if len(statements) == 1:
        cursor.execute(*statements[0])
    elif statements:
        _send(cursor, statements)


def commit_with_deferred(connection: Connection) -> bool:
    """Commit, sending the deferred writes and the COMMIT in one round trip (psycopg's pipeline mode);
    False when nothing was deferred (the caller commits as usual)."""
    deferred = connection.info.pop(DEFERRED, None)
    if not deferred or deferred == [BEGIN]:  # a BEGIN alone: nothing sent, the driver's commit does nothing
        return False
    driver = connection.connection.driver_connection
    assert driver is not None
    with driver.cursor() as cursor:
        # the statement, not `driver.commit()`, which would sync once more than the pipeline's end does
        # (an empty round trip); the driver reads the transaction's end off the server's answer
        _send(cursor, [*deferred, ("COMMIT", None)])
    return True


def forget_deferred(connection: Connection) -> None:
    connection.info.pop(DEFERRED, None)


def _configure_postgres(engine: Engine) -> None:
    @event.listens_for(engine, "before_cursor_execute")
    def _send_deferred_first(
        connection: Connection, cursor: Any, _statement: str, _params: Any, _context: Any, many: bool
    ) -> None:
        if many and DEFERRED in connection.info:  # a single statement goes with them (below)
            flush_deferred(connection.info, cursor)

    @event.listens_for(engine, "do_execute")
    def _send_with_deferred(cursor: Any, statement: str, params: Any, context: Any) -> bool:
        try:
            info = context.root_connection.info
        except NotImplementedError:  # the dialect's first connection, outside the pool: nothing kept
            return False
        if DEFERRED not in info:
            return False  # the dialect executes it
        flush_deferred(info, cursor, then=(statement, params))
        return True

    @event.listens_for(engine, "do_execute_no_params")
    def _send_alone_with_deferred(cursor: Any, statement: str, context: Any) -> bool:
        return bool(_send_with_deferred(cursor, statement, None, context))

    @event.listens_for(engine, "commit")
    def _no_kept_write_left_behind(connection: Connection) -> None:
        # a COMMIT sent without the kept writes would lose them (the unit of work sends them with it)
        if connection.info.get(DEFERRED):
            forget_deferred(connection)
            raise RuntimeError("a transaction committed with writes still kept (write_later): rolled back")

    @event.listens_for(engine, "connect")
    def _on_connect(_dbapi_connection: Any, record: Any) -> None:
        record.info[LAST_USED] = time.monotonic()  # just made: live

    @event.listens_for(engine, "checkin")
    def _on_checkin(dbapi_connection: Any, record: Any) -> None:
        if dbapi_connection is not None and not dbapi_connection.closed:
            record.info[LAST_USED] = time.monotonic()
            if dbapi_connection.autocommit:
                dbapi_connection.autocommit = False  # as the pool and every other user expect it


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")
