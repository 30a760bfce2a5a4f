"""Due actions: persisted "at time T do X to object Y" rows, the whole schedule of Federange.

A scheduler process claims due actions with a lease (claimed_by, claimed_until). A process that dies
mid-action loses its lease when claimed_until passes and another process claims the action again, so
handlers must be idempotent. A handler that fails is retried with backoff up to `max_attempts`.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


class ActionStatus(enum.StrEnum):
    PENDING = "pending"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


@dataclass(frozen=True, kw_only=True)
class DueAction:
    id: str
    kind: str
    object_kind: str
    object_id: str
    due_at: datetime
    payload: Mapping[str, Any] = field(default_factory=dict)
    status: ActionStatus = ActionStatus.PENDING
    attempts: int = 0
    max_attempts: int = 5
    claimed_by: str | None = None
    claimed_until: datetime | None = None
    last_error: str = ""
