"""The unit of work: one session, one transaction, committed once at the edge."""

from __future__ import annotations

from types import TracebackType

from sqlalchemy.orm import Session, sessionmaker

from orchestrator.db.actions_store import SqlActionStore
from orchestrator.db.booking_store import SqlBookingStore
from orchestrator.db.catalogue_store import SqlCatalogueStore
from orchestrator.db.crypto import Cipher
from orchestrator.db.exercise_store import SqlExerciseStore
from orchestrator.db.scenario_store import SqlScenarioStore


class UnitOfWork:
    """`with uow:` opens a transaction; leaving the block commits, an exception rolls back."""

    def __init__(self, sessions: sessionmaker[Session], cipher: Cipher) -> None:
        self._sessions = sessions
        self._cipher = cipher
        self._session: Session | None = None

    @property
    def session(self) -> Session:
        if self._session is None:
            raise RuntimeError("unit of work used outside its `with` block")
        return self._session

    @property
    def actions(self) -> SqlActionStore:
        return SqlActionStore(self.session)

    @property
    def scenarios(self) -> SqlScenarioStore:
        return SqlScenarioStore(self.session)

    @property
    def catalogue(self) -> SqlCatalogueStore:
        return SqlCatalogueStore(self.session, self._cipher)

    @property
    def exercises(self) -> SqlExerciseStore:
        return SqlExerciseStore(self.session)

    @property
    def bookings(self) -> SqlBookingStore:
        return SqlBookingStore(self.session, self.catalogue)

    def __enter__(self) -> UnitOfWork:
        self._session = self._sessions()
        self._session.begin()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        session = self.session
        try:
            if exc_type is None:
                session.commit()
            else:
                session.rollback()
        finally:
            session.close()
            self._session = None
