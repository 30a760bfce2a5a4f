"""The unit of work: one connection, one transaction, committed once at the edge.

The transaction is opened on a Core connection; the ORM session that some stores use is created only
when one asks for it, and then takes control of that same transaction (`join_transaction_mode=
"control_fully"`). The booking engine's admission path uses the connection alone, so it does not pay for
the session's bookkeeping on every admission.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from types import TracebackType

from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session, sessionmaker

from orchestrator.booking.service import BookingService
from orchestrator.catalogue.scenario_service import ScenarioCatalogue
from orchestrator.db.actions_store import SqlActionStore
from orchestrator.db.booking_store import SqlBookingStore
from orchestrator.db.calendar_sql import CALENDAR_CHANGED_SQLSTATE
from orchestrator.db.catalogue_store import SqlCatalogueStore
from orchestrator.db.crypto import Cipher
from orchestrator.db.engine import begin, commit_with_deferred, forget_deferred
from orchestrator.db.exercise_store import SqlExerciseStore
from orchestrator.db.federation_store import SqlFederationStore
from orchestrator.db.notifications import ACTIONS_CHANNEL, Wakeups, notify
from orchestrator.db.pool_store import SqlPoolStore
from orchestrator.db.scenario_store import SqlScenarioStore
from orchestrator.domain.errors import CalendarChanged


def calendar_changed(error: BaseException) -> CalendarChanged | None:
    """The domain error for `federange_admission_check`'s refusal (raised by the driver, or wrapped by
    SQLAlchemy when a later statement sent the deferred check), None for any other error."""
    driver_error = getattr(error, "orig", None) or error
    if getattr(driver_error, "sqlstate", None) != CALENDAR_CHANGED_SQLSTATE:
        return None
    return CalendarChanged("a range's calendar changed while the booking was being decided; try again")


class UnitOfWork:
    """`with uow:` opens a transaction; leaving the block commits, an exception rolls back.

    Besides the stores it offers the use cases that every caller runs inside one transaction: the
    booking engine (`booking`) and the scenario catalogue (`scenarios`), built by the factories given.
    """

    def __init__(
        self,
        engine: Engine,
        sessions: sessionmaker[Session],
        cipher: Cipher,
        *,
        booking: Callable[[SqlBookingStore], BookingService],
        scenarios: Callable[[SqlScenarioStore], ScenarioCatalogue],
        wakeups: Wakeups | None = None,
    ) -> None:
        self._engine = engine
        self._sessions = sessions
        self._cipher = cipher
        self._booking = booking
        self._scenarios = scenarios
        self._wakeups = wakeups
        self._wake = False
        self._connection: Connection | None = None
        self._session: Session | None = None

    @property
    def connection(self) -> Connection:
        if self._connection is None:
            raise RuntimeError("unit of work used outside its `with` block")
        return self._connection

    @property
    def session(self) -> Session:
        """The ORM session on this unit of work's connection and transaction (made on first use)."""
        if self._session is None:
            self._session = self._sessions(bind=self.connection, join_transaction_mode="control_fully")
        return self._session

    @property
    def actions(self) -> SqlActionStore:
        return SqlActionStore(self.session, on_due_now=self._due_now)

    def _due_now(self) -> None:
        """An action due now was written: wake the schedulers when this transaction commits (PostgreSQL
        delivers a NOTIFY sent inside a transaction at its commit, to every process listening)."""
        if self._wake:
            return
        self._wake = True
        notify(self.session.connection(), ACTIONS_CHANNEL)

    @property
    def scenario_store(self) -> SqlScenarioStore:
        return SqlScenarioStore(self.session)

    @cached_property
    def scenarios(self) -> ScenarioCatalogue:
        """The scenario catalogue (library and uploaded versions) in this transaction."""
        return self._scenarios(self.scenario_store)

    @property
    def catalogue(self) -> SqlCatalogueStore:
        return SqlCatalogueStore(self.session, self._cipher)

    @property
    def exercises(self) -> SqlExerciseStore:
        return SqlExerciseStore(self.session)

    @property
    def pools(self) -> SqlPoolStore:
        return SqlPoolStore(self.session)

    @property
    def federation(self) -> SqlFederationStore:
        return SqlFederationStore(self.session, self._cipher)

    @property
    def bookings(self) -> SqlBookingStore:
        return SqlBookingStore(self.connection, lambda: self.catalogue)

    @cached_property
    def booking(self) -> BookingService:
        """The booking engine's use cases on this transaction's store (they never commit)."""
        return self._booking(self.bookings)

    def __enter__(self) -> UnitOfWork:
        self._connection = begin(self._engine)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        connection, session = self.connection, self._session
        try:
            if exc_type is None:
                try:
                    if session is not None:
                        session.flush()  # the ORM's writes (a deferred write goes out before them)
                    # a write still deferred (an admission's INSERT) is pipelined with the COMMIT; the
                    # calls below then only close the transaction's bookkeeping
                    commit_with_deferred(connection)
                except Exception as error:
                    changed = calendar_changed(error)
                    if changed is None:
                        raise
                    raise changed from error  # rolled back as the connection closes
                if session is not None:
                    session.commit()
                else:
                    connection.commit()
                if self._wake and self._wakeups is not None:
                    self._wakeups.ring()
            else:
                if session is not None:
                    session.rollback()
                else:
                    connection.rollback()
                changed = None if exc is None else calendar_changed(exc)
                if changed is not None:
                    raise changed from exc
        finally:
            forget_deferred(connection)
            try:
                if session is not None:
                    session.close()
            finally:
                connection.close()
                self._connection = None
                self._session = None
                self._wake = False
