"""Per-organisation quotas: an optional ceiling on the capacity an organisation holds at once, summed over
all ranges. Admins set and remove them; the organisation's members read theirs. Admission enforces them
(`orchestrator.booking.admission.quota_problems`); lowering a quota never cancels existing bookings.
"""

from __future__ import annotations

from functools import partial

from connectors.base import Resources
from orchestrator.booking.ports import BookingStore
from orchestrator.booking.requests import demand_problems
from orchestrator.domain.bookings import Quota
from orchestrator.domain.clock import Clock
from orchestrator.domain.errors import InvalidInput, NotFound
from orchestrator.identity import audit, permissions
from orchestrator.identity.permissions import Action
from orchestrator.identity.principals import Principal


class QuotaService:
    def __init__(self, *, store: BookingStore, clock: Clock) -> None:
        self.store = store
        self.clock = clock
        #: Records an audit event of a mutation in this unit of work.
        self._audit = partial(audit.record, store, clock)

    def _organisation_name(self, organisation_id: str) -> str:
        org = self.store.organisation(organisation_id)
        if org is None:
            raise NotFound(f"organisation '{organisation_id}' does not exist")
        return org.name

    def get(self, actor: Principal, organisation_id: str) -> Quota | None:
        """The organisation's quota, or None when it has none (admins, or members of the organisation)."""
        self._organisation_name(organisation_id)
        permissions.require(actor, Action.QUOTA_READ, owner=organisation_id)
        return self.store.get_quota(organisation_id)

    def set(self, actor: Principal, organisation_id: str, limit: Resources) -> Quota:
        permissions.require(actor, Action.QUOTA_SET, owner=organisation_id)
        self._organisation_name(organisation_id)
        problems = [p for p in demand_problems(limit, "limit") if p.field != "limit"]
        if problems:
            raise InvalidInput(problems)
        before = self.store.get_quota(organisation_id, for_update=True)
        quota = Quota(organisation_id=organisation_id, limit=limit)
        self.store.put_quota(quota)
        self._audit(
            actor,
            "quota.set",
            kind="quota",
            object_id=organisation_id,
            organisation_id=organisation_id,
            before=None if before is None else before.limit.as_dict(),
            after=limit.as_dict(),
        )
        return quota

    def remove(self, actor: Principal, organisation_id: str) -> None:
        permissions.require(actor, Action.QUOTA_SET, owner=organisation_id)
        self._organisation_name(organisation_id)
        before = self.store.get_quota(organisation_id, for_update=True)
        if before is None:
            raise NotFound(f"organisation '{organisation_id}' has no quota")
        self.store.delete_quota(organisation_id)
        self._audit(
            actor,
            "quota.remove",
            kind="quota",
            object_id=organisation_id,
            organisation_id=organisation_id,
            before=before.limit.as_dict(),
        )
