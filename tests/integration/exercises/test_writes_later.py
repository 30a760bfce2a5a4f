"""Writes nobody reads back in their transaction (due actions, exercise and audit events, a NOTIFY) are
kept on PostgreSQL and go out together, in one round trip, with the transaction's next statement or
with its COMMIT (`orchestrator.db.engine.write_later`); SQLite executes them at once. Either way what
is stored is what SQLAlchemy's own execution would store, and what runs next in the transaction sees
it. A transaction's BEGIN on a connection known to be live is kept the same way."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from psycopg.errors import ForeignKeyViolation
from psycopg.pq import TransactionStatus
from sqlalchemy import func, select, text

from orchestrator.db import engine
from orchestrator.db.actions_store import _INSERT as INSERT_ACTION
from orchestrator.db.engine import BEGIN, DEFERRED, write_later
from orchestrator.db.tables import AuditRow, DueActionRow, ExerciseEventRow
from orchestrator.db.uow import UnitOfWork
from orchestrator.exercises.model import ExerciseEvent
from orchestrator.identity.audit import AuditEvent
from orchestrator.wiring import Services
from tests.integration.exercises.helpers import round_trips

BOTH = [pytest.param("postgres", marks=pytest.mark.postgres), "sqlite"]
POSTGRES = [pytest.param("postgres", marks=pytest.mark.postgres)]
NOW = datetime(2027, 3, 1, 9, 30, tzinfo=UTC)


def audit_event(**after: object) -> AuditEvent:
    return AuditEvent(
        id=str(uuid.uuid4()),
        at=NOW,
        actor_principal_id=None,
        actor_name="tester",
        actor_organisation_id=None,
        action="test.write",
        object_kind="test",
        object_id="t-1",
        after=dict(after),
    )


def kept_writes(info: dict[object, object]) -> list[object]:
    """What the connection keeps to send, but a BEGIN."""
    kept = info.get(DEFERRED, [])
    assert isinstance(kept, list)
    return [statement for statement in kept if statement != BEGIN]


def schedule(services: Services, count: int) -> None:
    with services.uow() as uow:
        for i in range(count):
            uow.actions.schedule(
                kind="test.action",
                object_kind="test",
                object_id=f"t-{i}",
                due_at=NOW + timedelta(minutes=i),
                now=NOW,
                payload={"n": i, "nested": {"teams": ["a", "b"]}},
            )
        uow.catalogue.add_audit(audit_event(n=count, where="écran"))


@pytest.mark.parametrize("database_url", BOTH, indirect=True)
def test_what_is_stored_is_what_the_values_say(services: Services) -> None:
    schedule(services, 3)
    with services.uow() as uow:
        actions = uow.session.scalars(select(DueActionRow).order_by(DueActionRow.object_id)).all()
        audit = uow.session.scalars(select(AuditRow)).one()
        assert [(a.object_id, a.due_at, a.payload) for a in actions] == [
            (f"t-{i}", NOW + timedelta(minutes=i), {"n": i, "nested": {"teams": ["a", "b"]}})
            for i in range(3)
        ]
        assert [a.status for a in actions] == ["pending"] * 3 and all(a.claimed_by is None for a in actions)
        assert (audit.at, audit.after, audit.before) == (NOW, {"n": 3, "where": "écran"}, None)


@pytest.mark.parametrize("database_url", POSTGRES, indirect=True)
def test_kept_writes_go_out_before_the_next_statement_in_their_order(services: Services) -> None:
    with services.uow() as uow:
        for i in range(3):
            uow.actions.schedule(
                kind="test.action", object_kind="test", object_id=f"t-{i}", due_at=NOW, now=NOW
            )
        uow.catalogue.add_audit(audit_event())
        # three INSERTs, the NOTIFY of an action due now, the audit event: none sent yet
        assert len(kept_writes(uow.connection.info)) == 5
        seen = uow.connection.execute(text("SELECT count(*) FROM due_actions")).scalar_one()
        assert seen == 3 and DEFERRED not in uow.connection.info
        assert uow.connection.execute(select(func.count()).select_from(AuditRow)).scalar_one() == 1


def round_trips_of(services: Services, work: Callable[[UnitOfWork], object]) -> int:
    """How many round trips a unit of work doing `work` and committing makes (its BEGIN included)."""
    with round_trips(services) as counted, services.uow() as unit:
        work(unit)
    return counted[0]


def schedule_actions(count: int) -> Callable[[UnitOfWork], object]:
    def work(unit: UnitOfWork) -> None:
        for i in range(count):
            unit.actions.schedule(
                kind="test.action", object_kind="test", object_id=f"t-{i}", due_at=NOW, now=NOW
            )

    return work


@pytest.mark.parametrize("database_url", POSTGRES, indirect=True)
def test_the_kept_writes_and_the_commit_are_one_round_trip(services: Services) -> None:
    # the BEGIN, five actions, one NOTIFY and the COMMIT: the same single round trip as one action's
    # transaction (the connection was just used: its BEGIN is kept too)
    schedule(services, 0)
    assert round_trips_of(services, schedule_actions(5)) == round_trips_of(services, schedule_actions(1)) == 1


@pytest.mark.parametrize("database_url", POSTGRES, indirect=True)
def test_a_transaction_begins_with_its_first_statement_on_a_connection_just_used(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    def read_then_write(unit: UnitOfWork) -> None:
        before = unit.connection.execute(text("SELECT count(*) FROM due_actions")).scalar_one()
        assert unit.connection.info.get(DEFERRED) is None  # the BEGIN went with the SELECT
        unit.actions.schedule(kind="test.action", object_kind="test", object_id="t", due_at=NOW, now=NOW)
        assert unit.connection.execute(text("SELECT count(*) FROM due_actions")).scalar_one() == before + 1

    def status(uow: UnitOfWork) -> TransactionStatus:
        driver = uow.connection.connection.driver_connection
        assert driver is not None
        return driver.info.transaction_status

    schedule(services, 0)  # the pool's connection, just used
    with services.uow() as uow:
        assert status(uow) is TransactionStatus.IDLE  # its BEGIN is kept, not sent
    assert round_trips_of(services, read_then_write) == 3  # BEGIN + SELECT, the write + SELECT, COMMIT
    # a connection idle for longer than that is asked first: its BEGIN is a round trip of its own
    monkeypatch.setattr(engine, "LIVE_SECONDS", -1.0)
    with services.uow() as uow:
        assert status(uow) is TransactionStatus.INTRANS and DEFERRED not in uow.connection.info
    assert round_trips_of(services, read_then_write) == 4


@pytest.mark.parametrize("database_url", POSTGRES, indirect=True)
def test_the_pool_hands_out_the_connection_used_last(services: Services) -> None:
    # last in, first out: the busiest connection stays warm and recent (its BEGIN kept), the others idle
    def driver(uow: UnitOfWork) -> object:
        return uow.connection.connection.driver_connection

    with services.uow() as first, services.uow() as second:
        second.connection.execute(text("SELECT 1"))
        first.connection.execute(text("SELECT 1"))
        earlier, later = driver(second), driver(first)  # `second` goes back first, `first` after it
    with services.uow() as uow:
        assert driver(uow) is later and driver(uow) is not earlier


@pytest.mark.parametrize("database_url", POSTGRES, indirect=True)
def test_a_transaction_that_sends_nothing_sends_no_begin(services: Services) -> None:
    schedule(services, 0)
    assert round_trips_of(services, lambda unit: None) == 0


@pytest.mark.parametrize("database_url", POSTGRES, indirect=True)
def test_a_kept_write_that_fails_fails_its_transaction_at_the_commit(services: Services) -> None:
    stray = ExerciseEvent(
        id=str(uuid.uuid4()), exercise_id="no-such-exercise", at=NOW, level="info", message="x"
    )
    unit = services.uow().__enter__()
    unit.actions.schedule(kind="test.action", object_kind="test", object_id="t", due_at=NOW, now=NOW)
    unit.exercises.add_event(stray)  # kept: its foreign key is checked when it is sent
    with pytest.raises(ForeignKeyViolation, match="exercise_events"):
        unit.__exit__(None, None, None)
    with services.uow() as uow:  # nothing of that transaction is stored
        assert uow.connection.execute(select(func.count()).select_from(DueActionRow)).scalar_one() == 0
        assert uow.connection.execute(select(func.count()).select_from(ExerciseEventRow)).scalar_one() == 0


@pytest.mark.parametrize("database_url", POSTGRES, indirect=True)
def test_a_write_without_every_value_is_refused_before_anything_is_kept(services: Services) -> None:
    with services.uow() as uow:
        # a column default SQLAlchemy fills in at execution cannot travel in a kept write
        with pytest.raises(ValueError, match="attempts, last_error, max_attempts"):
            write_later(uow.connection, INSERT_ACTION, {"id": "a", "kind": "k", "due_at": NOW})
        assert kept_writes(uow.connection.info) == []


@pytest.mark.parametrize("database_url", POSTGRES, indirect=True)
def test_a_commit_that_would_leave_kept_writes_behind_is_refused(services: Services) -> None:
    with services.engine.connect() as connection:
        connection.execute(text("SELECT 1"))  # the transaction begins
        write_later(connection, text("SELECT pg_notify('federange_test', '')"), {})
        with pytest.raises(RuntimeError, match="writes still kept"):
            connection.commit()
        assert DEFERRED not in connection.info
