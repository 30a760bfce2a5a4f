"""Which ranges a principal sees in the catalogue: those it operates, and those it could book (their
sharing policy admits its organisation or country). Who may *do* what is the permission table
(identity.permissions)."""

from __future__ import annotations

from orchestrator.domain.catalogue import RangeRecord
from orchestrator.domain.ranges import RangeStatus, SharingPolicy
from orchestrator.identity.principals import Principal, Role


def policy_admits(policy: SharingPolicy, *, organisation_id: str, country: str) -> bool:
    """Whether the sharing policy's allow-lists let this organisation book at all.

    Empty lists mean everyone; otherwise being named in either list is enough (union). The rule lives on
    `SharingPolicy.admits` so placement applies the very same rule.
    """
    return policy.admits(organisation_id=organisation_id, country=country)


def can_see_range(principal: Principal, record: RangeRecord) -> bool:
    """Admins and the operating organisation see everything; others see what they could book."""
    if principal.role is Role.ADMIN or principal.organisation_id == record.operator_organisation_id:
        return True
    if record.status is RangeStatus.DECOMMISSIONED:
        return False
    return policy_admits(
        record.policy, organisation_id=principal.organisation_id, country=principal.organisation_country
    )
