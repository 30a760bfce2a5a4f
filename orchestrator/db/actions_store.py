"""Due actions in the database: schedule, claim with a lease, complete, fail with backoff.

Claiming is one short transaction: PostgreSQL skips rows other schedulers hold (`FOR UPDATE SKIP
LOCKED`); SQLite serialises writers with BEGIN IMMEDIATE. A claim stamps claimed_by/claimed_until; the
action runs outside that transaction; completion checks the lease is still ours.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, insert, or_, select, update
from sqlalchemy.orm import Session

from orchestrator.db.engine import write_later
from orchestrator.db.tables import DueActionRow, read
from orchestrator.domain.actions import ActionStatus, DueAction

_INSERT = insert(cast(Table, DueActionRow.__table__))


class SqlActionStore:
    def __init__(self, session: Session, *, on_due_now: Callable[[], None] | None = None) -> None:
        self.session = session
        #: Called when an action due now is written (the unit of work wakes the scheduler on commit).
        self._on_due_now = on_due_now

    def schedule(
        self,
        *,
        kind: str,
        object_kind: str,
        object_id: str,
        due_at: datetime,
        now: datetime,
        payload: Mapping[str, Any] | None = None,
        max_attempts: int = 5,
    ) -> DueAction:
        values: dict[str, Any] = {
            "id": str(uuid.uuid4()),
            "kind": kind,
            "object_kind": object_kind,
            "object_id": object_id,
            "due_at": due_at,
            "payload": dict(payload or {}),
            "status": ActionStatus.PENDING.value,
            "attempts": 0,
            "max_attempts": max_attempts,
            "last_error": "",
            "created_at": now,
        }
        # Not an ORM object and a flush (several times the INSERT's cost): nothing reads the row back
        # through the session, so it goes out with the transaction's next statement or its COMMIT.
        write_later(self.session.connection(), _INSERT, values)
        if due_at <= now and self._on_due_now is not None:
            self._on_due_now()
        return DueAction(
            id=values["id"],
            kind=kind,
            object_kind=object_kind,
            object_id=object_id,
            due_at=due_at,
            payload=values["payload"],
            max_attempts=max_attempts,
        )

    def cancel_for(self, *, object_kind: str, object_id: str, kinds: Sequence[str] | None = None) -> int:
        """Cancel the pending actions of an object (e.g. its deploy when the exercise is cancelled)."""
        stmt = (
            update(DueActionRow)
            .where(
                DueActionRow.object_kind == object_kind,
                DueActionRow.object_id == object_id,
                DueActionRow.status == ActionStatus.PENDING.value,
            )
            .values(status=ActionStatus.CANCELLED.value)
        )
        if kinds:
            stmt = stmt.where(DueActionRow.kind.in_(list(kinds)))
        return int(self.session.execute(stmt).rowcount or 0)  # type: ignore[attr-defined]

    def claim_due(
        self, *, worker: str, now: datetime, lease: timedelta, limit: int, kinds: Sequence[str]
    ) -> list[DueAction]:
        """Claim up to `limit` pending actions of `kinds` due by `now` whose lease is free or expired."""
        stmt = (
            select(DueActionRow)
            .where(
                DueActionRow.status == ActionStatus.PENDING.value,
                DueActionRow.kind.in_(list(kinds)),
                DueActionRow.due_at <= now,
                or_(DueActionRow.claimed_until.is_(None), DueActionRow.claimed_until <= now),
            )
            .order_by(DueActionRow.due_at, DueActionRow.id)
            .limit(limit)
        )
        if self.session.bind is not None and self.session.bind.dialect.name == "postgresql":
            stmt = stmt.with_for_update(skip_locked=True)
        rows = list(self.session.scalars(stmt))
        for row in rows:
            row.claimed_by = worker
            row.claimed_until = now + lease
            row.attempts += 1
        self.session.flush()
        return [_action(r) for r in rows]

    def _owned(self, action_id: str, worker: str) -> DueActionRow | None:
        row = self.session.get(DueActionRow, action_id, with_for_update=True)
        if row is None or row.claimed_by != worker or row.status != ActionStatus.PENDING.value:
            return None
        return row

    def complete(self, action_id: str, *, worker: str, now: datetime) -> bool:
        """Mark done; False when the lease was lost (another worker took over)."""
        row = self._owned(action_id, worker)
        if row is None:
            return False
        row.status = ActionStatus.DONE.value
        row.claimed_until = None
        row.finished_at = now
        self.session.flush()
        return True

    def fail(self, action_id: str, *, worker: str, now: datetime, error: str, retry_in: timedelta) -> bool:
        """Record a failure; retry after `retry_in` until max_attempts, then mark FAILED."""
        row = self._owned(action_id, worker)
        if row is None:
            return False
        row.last_error = error
        row.claimed_by = None
        row.claimed_until = None
        if row.attempts >= row.max_attempts:
            row.status = ActionStatus.FAILED.value
            row.finished_at = now
        else:
            row.due_at = now + retry_in
        self.session.flush()
        return True

    def extend_lease(self, action_ids: Sequence[str], *, worker: str, until: datetime) -> int:
        """Heartbeat: push the lease of actions this worker still holds (long deploys keep theirs)."""
        if not action_ids:
            return 0
        stmt = (
            update(DueActionRow)
            .where(
                DueActionRow.id.in_(list(action_ids)),
                DueActionRow.claimed_by == worker,
                DueActionRow.status == ActionStatus.PENDING.value,
            )
            .values(claimed_until=until)
        )
        return int(self.session.execute(stmt).rowcount or 0)  # type: ignore[attr-defined]

    def release_claims(self, workers: Sequence[str], *, refund: bool = False) -> int:
        """Free the claims of workers known to be dead (or stopping), so their actions run now, not after
        the lease. With `refund`, the interrupted attempt does not count against max_attempts (a worker
        that stops on SIGTERM did not fail the action)."""
        if not workers:
            return 0
        values: dict[str, object] = {"claimed_by": None, "claimed_until": None}
        if refund:
            values["attempts"] = DueActionRow.attempts - 1
        stmt = (
            update(DueActionRow)
            .where(
                DueActionRow.claimed_by.in_(list(workers)), DueActionRow.status == ActionStatus.PENDING.value
            )
            .values(**values)
        )
        return int(self.session.execute(stmt).rowcount or 0)  # type: ignore[attr-defined]

    def claimants(self, *, prefix: str) -> list[str]:
        """Workers whose name starts with `prefix` that hold claims on pending actions."""
        stmt = (
            select(DueActionRow.claimed_by)
            .where(
                DueActionRow.claimed_by.is_not(None),
                DueActionRow.claimed_by.startswith(prefix, autoescape=True),
                DueActionRow.status == ActionStatus.PENDING.value,
            )
            .distinct()
        )
        return [w for w in self.session.scalars(stmt) if w]

    def list_for(self, *, object_kind: str, object_id: str) -> list[DueAction]:
        stmt = (
            select(DueActionRow)
            .where(DueActionRow.object_kind == object_kind, DueActionRow.object_id == object_id)
            .order_by(DueActionRow.due_at)
        )
        return [_action(r) for r in self.session.scalars(stmt)]

    def get(self, action_id: str) -> DueAction | None:
        row = self.session.get(DueActionRow, action_id)
        return None if row is None else _action(row)


def _action(row: DueActionRow) -> DueAction:
    return read(DueAction, row, payload=dict(row.payload), status=ActionStatus(row.status))
