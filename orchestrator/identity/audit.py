"""Audit events: every mutation, by whom, when, with before/after views that never hold secrets."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from orchestrator.domain.clock import Clock
from orchestrator.identity.principals import Principal


@dataclass(frozen=True, kw_only=True)
class AuditEvent:
    id: str
    at: datetime
    actor_principal_id: str | None
    actor_name: str
    actor_organisation_id: str | None
    action: str
    object_kind: str
    object_id: str
    range_id: str | None = None
    organisation_id: str | None = None
    before: Mapping[str, Any] | None = None
    after: Mapping[str, Any] | None = None


class AuditSink(Protocol):
    def add_audit(self, event: AuditEvent) -> None: ...


def record(
    sink: AuditSink,
    clock: Clock,
    actor: Principal,
    action: str,
    *,
    kind: str,
    object_id: str,
    range_id: str | None = None,
    organisation_id: str | None = None,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
) -> None:
    sink.add_audit(
        AuditEvent(
            id=str(uuid.uuid4()),
            at=clock.now(),
            actor_principal_id=actor.id or None,
            actor_name=actor.name,
            actor_organisation_id=actor.organisation_id or None,
            action=action,
            object_kind=kind,
            object_id=object_id,
            range_id=range_id,
            organisation_id=organisation_id,
            before=before,
            after=after,
        )
    )
