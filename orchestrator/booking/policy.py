"""Sharing-policy rules for one booking on one range. Pure; every "no" is a sentence naming the rule.

The sharing policy governs how a range is shared with *other* organisations: the range's own operator
organisation is not subject to it (it may book its range whenever it has the capacity). The capacity
rules, including the foreign share, are in `orchestrator.booking.admission`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from orchestrator.domain.ranges import RangeSnapshot, RangeStatus
from orchestrator.identity.visibility import policy_admits


@dataclass(frozen=True, kw_only=True)
class Owner:
    """The organisation a booking is for."""

    organisation_id: str
    name: str
    country: str


def describe(delta: timedelta) -> str:
    """'2 days 3 h 5 min', '45 min', '0 min' for a non-negative span (seconds are dropped)."""
    minutes = int(delta.total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    parts = []
    if days:
        parts.append(f"{days} day" + ("s" if days != 1 else ""))
    if hours:
        parts.append(f"{hours} h")
    if minutes or not parts:
        parts.append(f"{minutes} min")
    return " ".join(parts)


def is_operator(snapshot: RangeSnapshot, owner: Owner) -> bool:
    return owner.organisation_id == snapshot.operator_organisation


def needs_approval(snapshot: RangeSnapshot, owner: Owner) -> bool:
    """Bookings by other organisations wait for the operator when the policy says so."""
    return snapshot.policy.approval_required and not is_operator(snapshot, owner)


def status_problems(snapshot: RangeSnapshot) -> list[str]:
    if snapshot.status is RangeStatus.ACTIVE:
        return []
    return [f"{snapshot.slug}: range is {snapshot.status.value}; it takes no new bookings"]


def allow_list_problems(snapshot: RangeSnapshot, owner: Owner) -> list[str]:
    policy = snapshot.policy
    if is_operator(snapshot, owner) or policy_admits(
        policy, organisation_id=owner.organisation_id, country=owner.country
    ):
        return []
    allowed = []
    if policy.allowed_countries:
        allowed.append("countries " + ", ".join(sorted(policy.allowed_countries)))
    if policy.allowed_organisations:
        allowed.append("organisations " + ", ".join(sorted(policy.allowed_organisations)))
    return [
        f"{snapshot.slug}: sharing policy allows {' and '.join(allowed)}; "
        f"organisation '{owner.name}' is from {owner.country}"
    ]


def window_problems(snapshot: RangeSnapshot, owner: Owner, *, start: datetime, end: datetime) -> list[str]:
    """Maximum booking length. (Lead time is checked at creation only, see `lead_time_problems`.)"""
    longest = snapshot.policy.max_booking_length
    if longest is None or is_operator(snapshot, owner) or end - start <= longest:
        return []
    return [
        f"{snapshot.slug}: window lasts {describe(end - start)}; "
        f"sharing policy allows at most {describe(longest)}"
    ]


def lead_time_problems(snapshot: RangeSnapshot, owner: Owner, *, start: datetime, now: datetime) -> list[str]:
    lead = snapshot.policy.min_lead_time
    if lead is None or is_operator(snapshot, owner) or start - now >= lead:
        return []
    when = f"{describe(start - now)} from now" if start >= now else f"{describe(now - start)} ago"
    return [
        f"{snapshot.slug}: window starts {when} ({start.isoformat()}); "
        f"sharing policy needs at least {describe(lead)} notice"
    ]


def booking_problems(
    snapshot: RangeSnapshot, owner: Owner, *, start: datetime, end: datetime, now: datetime
) -> list[str]:
    """Every sharing-policy reason why `owner` may not book `snapshot` for [start, end) at `now`."""
    return [
        *status_problems(snapshot),
        *allow_list_problems(snapshot, owner),
        *window_problems(snapshot, owner, start=start, end=end),
        *lead_time_problems(snapshot, owner, start=start, now=now),
    ]
