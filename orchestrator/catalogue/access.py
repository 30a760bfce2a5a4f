"""Whether a range's connector credentials hold every permission the connector needs: asked of the range
itself (Kubernetes: SelfSubjectAccessReview), by the range's operators or an admin, before anything is
deployed there."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from connectors.base import AccessCheck, Connector, ConnectorError
from orchestrator.catalogue.service import require_range_manager
from orchestrator.domain.catalogue import RangeRecord
from orchestrator.identity.principals import Principal


@dataclass(frozen=True, kw_only=True)
class AccessReport:
    range_slug: str
    kind: str
    #: Each permission the credentials lack, in words; empty: all granted.
    missing: tuple[str, ...] = ()
    #: Why the range could not be asked (empty: it answered).
    reason: str = ""

    @property
    def ok(self) -> bool:
        return not self.missing and not self.reason


def check_range_access(
    actor: Principal, record: RangeRecord, connector_of: Callable[[RangeRecord], Connector]
) -> AccessReport:
    """A range that cannot be asked (its connector kind has no access check, or it does not answer) is a
    report with the reason, not an error: the question was fine, the answer is "unknown"."""
    require_range_manager(actor, record, doing="checking a range's access")
    connector = connector_of(record)
    if not isinstance(connector, AccessCheck):
        return AccessReport(
            range_slug=record.slug,
            kind=record.connector.kind,
            reason=f"the {record.connector.kind} connector cannot check its credentials' permissions",
        )
    try:
        missing = tuple(connector.check_access())
    except ConnectorError as exc:
        return AccessReport(range_slug=record.slug, kind=record.connector.kind, reason=exc.reason)
    return AccessReport(range_slug=record.slug, kind=record.connector.kind, missing=missing)
