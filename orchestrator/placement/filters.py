"""Filters: may this range host teams of this exercise at all? One Protocol, the built-in rules beside it.

Every "no" names the range and the rule, e.g. "fi-range: capability 'ics' missing". A filter whose rule
only governs new bookings (`new_bookings_only`: capacity, sharing policy, draining) does not make a range
unusable for teams already booked there; re-placement relies on that distinction.
"""

from __future__ import annotations

from typing import Protocol

from connectors.base import DIMENSION_LABELS
from orchestrator.domain.ranges import RangeStatus
from orchestrator.placement import phrases
from orchestrator.placement.context import PlacementContext
from orchestrator.placement.result import Verdict
from orchestrator.placement.snapshot import RangeState


class Filter(Protocol):
    """A named yes/no rule over one range. Pure: reads only `state` and `ctx`."""

    @property
    def name(self) -> str: ...

    @property
    def new_bookings_only(self) -> bool:
        """True when a "no" only forbids new bookings and leaves existing ones usable."""
        ...

    def check(self, state: RangeState, ctx: PlacementContext) -> Verdict:
        """ok, or no with one reason per broken rule, each starting with the range slug."""
        ...


class StatusFilter:
    """Ranges in maintenance or decommissioned host nothing."""

    name = "status"
    new_bookings_only = False

    def check(self, state: RangeState, ctx: PlacementContext) -> Verdict:
        status = state.range.status
        if status is RangeStatus.MAINTENANCE:
            return Verdict.no(f"{state.slug}: status maintenance: the operator has taken it out of service")
        if status is RangeStatus.DECOMMISSIONED:
            return Verdict.no(f"{state.slug}: decommissioned")
        return Verdict.yes()


class DrainingFilter:
    """A draining range keeps its bookings but takes no new ones."""

    name = "draining"
    new_bookings_only = True

    def check(self, state: RangeState, ctx: PlacementContext) -> Verdict:
        if state.range.status is RangeStatus.DRAINING:
            return Verdict.no(f"{state.slug}: draining: takes no new bookings")
        return Verdict.yes()


class SelectionFilter:
    """The exercise's include and exclude lists (by slug or id)."""

    name = "selection"
    new_bookings_only = False

    def check(self, state: RangeState, ctx: PlacementContext) -> Verdict:
        c = ctx.request.constraints
        names = {state.range.slug, state.range.id}
        if names & c.exclude_ranges:
            return Verdict.no(f"{state.slug}: range excluded by the exercise")
        if c.include_ranges and not names & c.include_ranges:
            return Verdict.no(f"{state.slug}: not in the exercise's include list")
        return Verdict.yes()


class CountryFilter:
    """Data residency: the range's country must be one the exercise allows."""

    name = "country"
    new_bookings_only = False

    def check(self, state: RangeState, ctx: PlacementContext) -> Verdict:
        allowed = ctx.request.constraints.allowed_countries
        if allowed and state.range.country not in allowed:
            return Verdict.no(
                f"{state.slug}: country {state.range.country} not in the exercise's allowed countries "
                f"({phrases.listing(sorted(allowed))})"
            )
        return Verdict.yes()


class CapabilityFilter:
    """Every capability the scenario requires must be offered by the range."""

    name = "capability"
    new_bookings_only = False

    def check(self, state: RangeState, ctx: PlacementContext) -> Verdict:
        missing = sorted(ctx.request.constraints.required_capabilities - state.range.capabilities)
        if missing:
            return Verdict.no(*(f"{state.slug}: capability '{m}' missing" for m in missing))
        return Verdict.yes()


class SharingPolicyFilter:
    """The range's sharing policy: who may book, how long a booking may be, how early it must come."""

    name = "sharing-policy"
    new_bookings_only = True

    def check(self, state: RangeState, ctx: PlacementContext) -> Verdict:
        policy, request, owner = state.range.policy, ctx.request, ctx.request.owner
        reasons: list[str] = []
        if not policy.admits(organisation_id=owner.organisation_id, country=owner.country):
            reasons.append(
                f"{state.slug}: sharing policy does not admit organisation '{owner.name}' "
                f"(country {owner.country})"
            )
        length = request.end - request.start
        if policy.max_booking_length is not None and length > policy.max_booking_length:
            reasons.append(
                f"{state.slug}: sharing policy allows bookings of at most "
                f"{phrases.duration(policy.max_booking_length)}, the window is {phrases.duration(length)}"
            )
        lead = request.start - request.now
        if policy.min_lead_time is not None and lead < policy.min_lead_time:
            reasons.append(
                f"{state.slug}: sharing policy needs {phrases.duration(policy.min_lead_time)} lead time, "
                f"the window starts in {phrases.duration(lead)}"
            )
        return Verdict.no(*reasons) if reasons else Verdict.yes()


#: ScenarioFacts.privileges' names, as a refusal says them.
_ASKS = {
    "privileged": "privileged containers",
    "host_network": "the host's network namespace",
    "host_pid": "the host's process namespace",
    "host_path": "hostPath volumes",
    "privilege_escalation": "privilege escalation",
}


class SecurityPolicyFilter:
    """The range's security policy: what the scenario's hosts ask for (privileged containers, host
    namespaces, hostPath, added capabilities) must be granted, and images must be pinned by digest where
    the range requires it. Refused at planning, not only when the connector would refuse at deploy."""

    name = "security-policy"
    new_bookings_only = False

    def check(self, state: RangeState, ctx: PlacementContext) -> Verdict:
        policy, request = state.range.policy, ctx.request
        refused = [
            _ASKS.get(a, a.replace("capability:", "capability "))
            for a in policy.allowance().refuses(request.privileges)
        ]
        reasons = (
            [
                f"{state.slug}: security policy does not allow {phrases.listing(refused)}"
                + ("" if policy.allow_privileged else " (the range does not allow privileged scenarios)")
            ]
            if refused
            else []
        )
        if policy.require_image_digests and request.unpinned_images:
            reasons.append(
                f"{state.slug}: security policy requires images pinned by digest; by tag: "
                f"{phrases.listing(list(request.unpinned_images))}"
            )
        return Verdict.no(*reasons) if reasons else Verdict.yes()


def _in_maintenance(state: RangeState, ctx: PlacementContext) -> bool:
    return any(w.start < ctx.request.end and ctx.request.start < w.end for w in state.range.maintenance)


class MaintenanceFilter:
    """A maintenance window overlapping the exercise window makes the range unusable for it."""

    name = "maintenance"
    new_bookings_only = False

    def check(self, state: RangeState, ctx: PlacementContext) -> Verdict:
        start, end = ctx.request.start, ctx.request.end
        reasons = [
            f"{state.slug}: in maintenance {phrases.window(w.start, w.end)}"
            + (f" ({w.reason})" if w.reason else "")
            for w in sorted(state.range.maintenance, key=lambda w: (w.start, w.end))
            if w.start < end and start < w.end
        ]
        return Verdict.no(*reasons) if reasons else Verdict.yes()


class HealthFilter:
    """A range whose probes fail gets no teams."""

    name = "health"
    new_bookings_only = False

    def check(self, state: RangeState, ctx: PlacementContext) -> Verdict:
        if not state.health.ok:
            return Verdict.no(f"{state.slug}: unhealthy: {state.health.reason or 'probe failed'}")
        return Verdict.yes()


class CapacityFilter:
    """The range must have room for at least one more team over the whole window."""

    name = "capacity"
    new_bookings_only = True

    def check(self, state: RangeState, ctx: PlacementContext) -> Verdict:
        demand, free, at = ctx.request.demand, state.usable, state.usable_at
        shortfalls = demand.shortfalls(free)
        if shortfalls and _in_maintenance(state, ctx):
            # The maintenance filter names the window; repeating each dimension at 0 adds nothing.
            return Verdict.no(f"{state.slug}: no free capacity while in maintenance")
        if shortfalls:
            whose = "" if state.owner_free is None else " to this organisation"
            return Verdict.no(
                *(
                    f"{state.slug}: free{whose} {max(have, 0)} {DIMENSION_LABELS[d]} < {need} needed for one "
                    f"team at {phrases.instant(at.get(d, ctx.request.start))}"
                    for d, need, have in shortfalls
                )
            )
        cap = ctx.request.constraints.max_teams_per_range
        kept = ctx.base.get(state.slug, 0)
        if cap is not None and kept >= cap:
            return Verdict.no(
                f"{state.slug}: already hosts {phrases.plural(kept, 'team')} of the exercise, "
                f"the maximum per range"
            )
        return Verdict.yes()


BUILTIN_FILTERS: tuple[Filter, ...] = (
    StatusFilter(),
    DrainingFilter(),
    SelectionFilter(),
    CountryFilter(),
    CapabilityFilter(),
    SharingPolicyFilter(),
    SecurityPolicyFilter(),
    MaintenanceFilter(),
    HealthFilter(),
    CapacityFilter(),
)
