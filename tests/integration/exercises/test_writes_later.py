"""Writes nobody reads back in their transaction (due actions, exercise and audit events, a NOTIFY) are
kept on PostgreSQL and go out together, in one round trip, before the transaction's next statement or
with its COMMIT (`orchestrator.db.engine.write_later`); SQLite executes them at once. Either way what
is stored is what SQLAlchemy's own execution would store, and what runs next in the transaction sees
it."""

from __future__ import annotations

import tempfile
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from psycopg.errors import ForeignKeyViolation
from sqlalchemy import func, select, text

from orchestrator.db.actions_store import _INSERT as INSERT_ACTION
from orchestrator.db.engine import DEFERRED, write_later
from orchestrator.db.tables import AuditRow, DueActionRow, ExerciseEventRow
from orchestrator.exercises.model import ExerciseEvent
from orchestrator.identity.audit import AuditEvent
from orchestrator.wiring import Services

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
        assert len(uow.connection.info[DEFERRED]) == 5
        seen = uow.connection.execute(text("SELECT count(*) FROM due_actions")).scalar_one()
        assert seen == 3 and DEFERRED not in uow.connection.info
        assert uow.connection.execute(select(func.count()).select_from(AuditRow)).scalar_one() == 1


@pytest.mark.parametrize("database_url", POSTGRES, indirect=True)
def test_the_kept_writes_and_the_commit_are_one_round_trip(services: Services) -> None:
    """libpq's own trace of the protocol: a round trip ends with the client's Sync message."""

    def syncs_of_a_transaction(count: int) -> int:
        with tempfile.TemporaryDirectory() as tmp:
            trace = Path(tmp) / "trace"
            uow = services.uow().__enter__()
            driver = uow.connection.connection.driver_connection
            assert driver is not None
            with trace.open("w") as out:
                driver.pgconn.trace(out.fileno())
                try:
                    for i in range(count):
                        uow.actions.schedule(
                            kind="test.action", object_kind="test", object_id=f"t-{i}", due_at=NOW, now=NOW
                        )
                    uow.__exit__(None, None, None)  # the COMMIT, traced
                finally:
                    driver.pgconn.untrace()
            sent = [line.split("\t") for line in trace.read_text().splitlines()]
            return sum(1 for fields in sent if fields[1:2] == ["F"] and "Sync" in fields)

    # five actions, one NOTIFY and the COMMIT: the same single round trip as one action's transaction
    assert syncs_of_a_transaction(5) == syncs_of_a_transaction(1) == 1


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
        assert DEFERRED not in uow.connection.info


@pytest.mark.parametrize("database_url", POSTGRES, indirect=True)
def test_a_commit_that_would_leave_kept_writes_behind_is_refused(services: Services) -> None:
    with services.engine.connect() as connection:
        connection.execute(text("SELECT 1"))  # the transaction begins
        write_later(connection, text("SELECT pg_notify('federange_test', '')"), {})
        with pytest.raises(RuntimeError, match="writes still kept"):
            connection.commit()
        assert DEFERRED not in connection.info
