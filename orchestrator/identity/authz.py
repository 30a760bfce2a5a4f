"""Who may do what in the catalogue. Pure rules; every refusal says why."""

from __future__ import annotations

from orchestrator.domain.catalogue import RangeRecord
from orchestrator.domain.errors import Forbidden
from orchestrator.domain.ranges import RangeStatus, SharingPolicy
from orchestrator.identity.principals import Principal, Role


def require_role(principal: Principal, *roles: Role, action: str) -> None:
    if principal.role not in roles:
        allowed = ", ".join(r.value for r in roles)
        raise Forbidden(f"{action} needs role {allowed}; '{principal.name}' is {principal.role.value}")


def require_range_manager(principal: Principal, record: RangeRecord, *, action: str) -> None:
    """Admins manage every range; operators only their own organisation's."""
    if principal.role is Role.ADMIN:
        return
    if principal.role is Role.OPERATOR and principal.organisation_id == record.operator_organisation_id:
        return
    raise Forbidden(
        f"{action}: range '{record.slug}' is operated by another organisation; "
        f"only its operators or an admin may change it"
    )


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
