"""Catalogue use cases: organisations, the first admin, ranges, maintenance.

Each method runs inside the caller's unit of work (the store) and records an audit event for every
mutation. Authorisation is checked here, not in routes, so the CLI and the API obey the same rules.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import replace
from functools import partial

from connectors.base import Resources
from orchestrator.catalogue import secrets
from orchestrator.catalogue.drafts import MaintenanceDraft, OrganisationDraft, RangeDraft, RangePatch
from orchestrator.catalogue.ports import CatalogueStore
from orchestrator.catalogue.validation import country_problem, handle_from, handle_problem
from orchestrator.catalogue.views import range_view
from orchestrator.domain.catalogue import (
    LIBRARY_OWNER,
    MaintenanceRecord,
    Organisation,
    RangeRecord,
)
from orchestrator.domain.clock import Clock
from orchestrator.domain.errors import Conflict, FieldProblem, Forbidden, InvalidInput, NotFound
from orchestrator.domain.pages import Page
from orchestrator.domain.ranges import MaintenanceWindow, OrganisationKind
from orchestrator.identity import audit, permissions, visibility
from orchestrator.identity.permissions import Action
from orchestrator.identity.principals import IssuedToken, Principal, Role
from orchestrator.identity.service import IdentityService

log = logging.getLogger(__name__)

#: The fields of a range that a patch replaces when it gives them (the connector is merged instead).
_PATCHED = ("name", "description", "country", "capabilities", "capacity", "policy", "status", "preference")


def new_id() -> str:
    return str(uuid.uuid4())


class CatalogueService:
    def __init__(
        self,
        *,
        store: CatalogueStore,
        clock: Clock,
        connector_kinds: frozenset[str],
        identity: IdentityService | None = None,
        default_quota: Resources | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.connector_kinds = connector_kinds
        self.identity = identity or IdentityService(store=store, clock=clock)
        #: Fair share: what a new organisation may hold at once until an admin says otherwise.
        self.default_quota = default_quota
        #: Records an audit event of a mutation in this unit of work.
        self._audit = partial(audit.record, store, clock)

    # -- organisations -------------------------------------------------------------------------
    def create_organisation(self, actor: Principal, draft: OrganisationDraft) -> Organisation:
        permissions.require(actor, Action.ORGANISATION_CREATE)
        if self.store.find_organisation_by_name(draft.name) is not None:
            raise Conflict(f"an organisation named '{draft.name}' already exists")
        handle = draft.handle or handle_from(draft.name)
        reason = handle_problem(handle)
        if reason is None and handle == LIBRARY_OWNER:
            reason = f"'{LIBRARY_OWNER}' owns the built-in scenario library; choose another handle"
        if reason is not None:
            raise InvalidInput(FieldProblem("handle", reason))
        if self.store.find_organisation_by_handle(handle) is not None:
            raise Conflict(
                f"the handle '{handle}' is taken by another organisation; choose one with 'handle'"
            )
        org = Organisation(
            id=new_id(),
            name=draft.name,
            handle=handle,
            country=draft.country,
            kind=draft.kind,
            created_at=self.clock.now(),
        )
        self.store.add_organisation(org)
        if self.default_quota is not None and org.kind is not OrganisationKind.AGENCY:
            self.store.put_quota(org.id, self.default_quota)
        self._audit(
            actor,
            "organisation.create",
            kind="organisation",
            object_id=org.id,
            organisation_id=org.id,
            after={
                "name": org.name,
                "handle": org.handle,
                "country": org.country,
                "kind": org.kind.value,
                "quota": None if self.default_quota is None else self.default_quota.as_dict(),
            },
        )
        return org

    def get_organisation(self, actor: Principal, organisation_id: str) -> Organisation:
        org = self.store.get_organisation(organisation_id)
        if org is None:
            raise NotFound(f"organisation '{organisation_id}' does not exist")
        return org

    def list_organisations(self, actor: Principal) -> Sequence[Organisation]:
        return self.store.list_organisations()

    # -- the first admin -----------------------------------------------------------------------
    def bootstrap_admin(self, *, organisation_name: str, country: str, force: bool = False) -> IssuedToken:
        """Create the first admin (and its organisation). Refuses when an admin exists unless forced."""
        reason = country_problem(country)
        if reason:
            raise InvalidInput(FieldProblem("country", reason))
        if self.store.count_admins() and not force:
            raise Conflict("an admin already exists; use an admin token to issue more (or --force)")
        org = self.store.find_organisation_by_name(organisation_name)
        system = Principal(
            id="", name="bootstrap", organisation_id="", organisation_country="", role=Role.ADMIN
        )
        if org is None:
            org = self.create_organisation(
                system,
                OrganisationDraft(name=organisation_name, country=country, kind=OrganisationKind.AGENCY),
            )
        return self.identity.issue(system, name="admin", organisation=org, role=Role.ADMIN, expires_at=None)

    # -- ranges --------------------------------------------------------------------------------
    def _check_connector_kind(self, kind: str) -> None:
        if kind not in self.connector_kinds:
            known = ", ".join(sorted(self.connector_kinds))
            raise InvalidInput(
                FieldProblem("connector.kind", f"unknown connector kind '{kind}' (known: {known})")
            )

    def register_range(self, actor: Principal, draft: RangeDraft) -> RangeRecord:
        operator_org = draft.operator_organisation_id or actor.organisation_id
        permissions.require(actor, Action.RANGE_REGISTER, owner=operator_org)
        org = self.store.get_organisation(operator_org)
        if org is None:
            raise InvalidInput(
                FieldProblem("operator_organisation_id", f"organisation '{operator_org}' does not exist")
            )
        misfit = permissions.role_fits(Role.OPERATOR, org.kind)
        if misfit:  # only an organisation that runs ranges operates one
            raise InvalidInput(FieldProblem("operator_organisation_id", f"{misfit} ('{org.name}')"))
        self._check_connector_kind(draft.connector_kind)
        if self.store.slug_taken(draft.slug):
            raise Conflict(f"a range with slug '{draft.slug}' already exists")
        connector = secrets.sealed(draft.connector_kind, draft.connector_config)
        now = self.clock.now()
        record = RangeRecord(
            id=new_id(),
            slug=draft.slug,
            name=draft.name,
            description=draft.description,
            operator_organisation_id=operator_org,
            country=draft.country,
            capabilities=draft.capabilities,
            capacity=draft.capacity,
            policy=draft.policy,
            status=draft.status,
            preference=draft.preference,
            connector=connector,
            created_at=now,
            updated_at=now,
        )
        self.store.add_range(record)
        log.info(
            "range %s registered: connector %s, public config keys %s, sealed %s",
            record.slug,
            connector.kind,
            sorted(connector.config),
            connector.secret_fields,
        )
        self._audit(
            actor,
            "range.register",
            kind="range",
            object_id=record.id,
            range_id=record.id,
            organisation_id=operator_org,
            after=range_view(record),
        )
        return record

    def get_range(self, actor: Principal, ref: str) -> RangeRecord:
        record = self.store.get_range(ref)
        if record is None or not visibility.can_see_range(actor, record):
            raise NotFound(f"range '{ref}' does not exist or is not shared with your organisation")
        return record

    def list_ranges(
        self,
        actor: Principal,
        *,
        country: str | None,
        capability: str | None,
        status: str | None,
        page: int,
        page_size: int,
    ) -> Page:
        visible = [
            r
            for r in self.store.list_ranges(country=country, capability=capability, status=status)
            if visibility.can_see_range(actor, r)
        ]
        start = (page - 1) * page_size
        return Page(
            items=visible[start : start + page_size], total=len(visible), page=page, page_size=page_size
        )

    def update_range(self, actor: Principal, ref: str, patch: RangePatch) -> RangeRecord:
        record = self.get_range(actor, ref)
        require_range_manager(actor, record, doing="updating a range")
        connector = record.connector
        if patch.connector_kind is not None:
            self._check_connector_kind(patch.connector_kind)
        if patch.connector_kind is not None or patch.connector_config is not None:
            connector = secrets.patched(connector, kind=patch.connector_kind, changes=patch.connector_config)
        changed = {name: getattr(patch, name) for name in _PATCHED if getattr(patch, name) is not None}
        updated = replace(record, **changed, connector=connector, updated_at=self.clock.now())
        self.store.save_range(updated)
        if connector is not record.connector:
            log.info(
                "range %s: connector %s changed, sealed %s",
                record.slug,
                connector.kind,
                connector.secret_fields,
            )
        self._audit(
            actor,
            "range.update",
            kind="range",
            object_id=record.id,
            range_id=record.id,
            organisation_id=record.operator_organisation_id,
            before=range_view(record),
            after=range_view(updated),
        )
        return updated

    def add_maintenance(self, actor: Principal, ref: str, draft: MaintenanceDraft) -> MaintenanceRecord:
        record = self.get_range(actor, ref)
        require_range_manager(actor, record, doing="scheduling maintenance")
        if draft.end <= draft.start:
            raise InvalidInput(FieldProblem("end", "maintenance window must end after it starts"))
        maintenance = MaintenanceRecord(
            id=new_id(),
            range_id=record.id,
            window=MaintenanceWindow(start=draft.start, end=draft.end, reason=draft.reason),
        )
        self.store.add_maintenance(maintenance)
        self._audit(
            actor,
            "range.maintenance.add",
            kind="maintenance",
            object_id=maintenance.id,
            range_id=record.id,
            organisation_id=record.operator_organisation_id,
            after={"start": draft.start.isoformat(), "end": draft.end.isoformat(), "reason": draft.reason},
        )
        return maintenance

    def remove_maintenance(self, actor: Principal, ref: str, maintenance_id: str) -> None:
        record = self.get_range(actor, ref)
        require_range_manager(actor, record, doing="removing maintenance")
        removed = self.store.remove_maintenance(range_id=record.id, maintenance_id=maintenance_id)
        if removed is None:
            raise NotFound(f"maintenance window '{maintenance_id}' does not exist on range '{record.slug}'")
        self._audit(
            actor,
            "range.maintenance.remove",
            kind="maintenance",
            object_id=maintenance_id,
            range_id=record.id,
            organisation_id=record.operator_organisation_id,
            before={
                "start": removed.window.start.isoformat(),
                "end": removed.window.end.isoformat(),
                "reason": removed.window.reason,
            },
        )


def require_range_manager(actor: Principal, record: RangeRecord, *, doing: str) -> None:
    """Admins manage every range; operators only their own organisation's."""
    try:
        permissions.require(actor, Action.RANGE_MANAGE, owner=record.operator_organisation_id)
    except Forbidden:
        raise Forbidden(
            f"{doing}: range '{record.slug}' is operated by another organisation; only its operators or an "
            "admin may change it"
        ) from None
