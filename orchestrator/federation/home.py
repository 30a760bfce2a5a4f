"""Home side: what a peer (another Federange instance, role `peer`) may do here through /federation/v1.

A published range stays under this instance's booking engine, policies, connectors and credentials. A
peer books for its own organisation: the booking engine applies the range's sharing policy to that
organisation and its country, as for any other. Every scenario document a peer asks to deploy is
validated again here, against the range's own security allowance and the footprint its booking
reserved. Every call is audited here (the peer audits its side).

Methods run inside the caller's unit of work and never commit; calls to the range's connector happen
between transactions (`deploy_prepare` -> connector -> `deploy_record`), as in the exercise lifecycle.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Protocol

from connectors.base import ConnectorRefusal, InstanceSpec, InstanceStatus, Phase, Requester, Resources
from orchestrator.booking.requests import BookingItem, BookingRequest
from orchestrator.booking.selection import Selection
from orchestrator.booking.service import BookingService
from orchestrator.catalogue.scenario_facts import ScenarioFacts
from orchestrator.domain.bookings import Booking, BookingStatus, Purpose
from orchestrator.domain.catalogue import RangeRecord
from orchestrator.domain.clock import Clock
from orchestrator.domain.errors import Conflict, FieldProblem, InvalidInput, NotFound, Refused
from orchestrator.domain.ranges import RangeStatus
from orchestrator.exercises.ports import CatalogueReader
from orchestrator.federation.model import API_VERSION, PeerInstance, PeerInstanceState
from orchestrator.federation.ports import FederationStore
from orchestrator.identity import audit, permissions
from orchestrator.identity.permissions import Action
from orchestrator.identity.principals import SYSTEM, Principal

#: What the peer sees of an instance an operator stopped.
TERMINATED = "terminated by the range operator"


class HomeUnit(Protocol):
    @property
    def catalogue(self) -> CatalogueReader: ...
    @property
    def federation(self) -> FederationStore: ...
    @property
    def booking(self) -> BookingService: ...


@dataclass(frozen=True, kw_only=True)
class PublishedRange:
    record: RangeRecord
    free: Resources


@dataclass(frozen=True, kw_only=True)
class DeployOrder:
    """What `deploy_prepare` decided: the instance to deploy on which range (the connector call is next),
    or why this instance refuses it (`refused`: the reasons, audited in the same transaction, which the
    caller commits before answering with the refusal)."""

    range: RangeRecord
    spec: InstanceSpec
    fresh: bool
    refused: tuple[str, ...] = ()


class HomeFederation:
    def __init__(
        self,
        *,
        unit: HomeUnit,
        clock: Clock,
        parse: Callable[[str], ScenarioFacts],
        check: Callable[[InstanceSpec], None] = lambda _spec: None,
        name: str = "",
        country: str = "",
    ) -> None:
        self.unit = unit
        self.clock = clock
        self.parse = parse
        #: The security allowance check every connector applies (connectors.security), run here before
        #: anything is recorded: raises ConnectorRefusal naming each host's ask the range does not allow.
        self.check = check
        self.name = name
        self.country = country

    # -- helpers -----------------------------------------------------------------------------------
    def _audit(
        self,
        actor: Principal,
        action: str,
        *,
        kind: str,
        object_id: str,
        range_id: str | None = None,
        after: dict[str, Any] | None = None,
    ) -> None:
        audit.record(
            self.unit.catalogue,
            self.clock,
            actor,
            f"federation.{action}",
            kind=kind,
            object_id=object_id,
            range_id=range_id,
            organisation_id=actor.organisation_id,
            after=after,
        )

    def _published(self, actor: Principal, ref: str, action: Action) -> RangeRecord:
        """The range `ref` if it is published to the actor's organisation; NotFound otherwise (a peer
        does not learn which ranges exist unpublished)."""
        permissions.require(actor, action)
        record = self.unit.catalogue.get_range(ref)
        if (
            record is None
            or record.origin_peer_id is not None
            or record.id not in self.unit.federation.published_to(actor.organisation_id)
        ):
            raise NotFound(f"range '{ref}' is not published to '{actor.name}'")
        return record

    def _own_booking(self, actor: Principal, hold_id: str) -> Booking:
        permissions.require(actor, Action.FEDERATION_BOOK)
        try:
            (booking,) = self.unit.booking.get(actor, Selection.booking(hold_id))
        except NotFound:
            raise NotFound(f"hold '{hold_id}' does not exist or belongs to another peer") from None
        if booking.owner_organisation_id != actor.organisation_id:
            raise NotFound(f"hold '{hold_id}' does not exist or belongs to another peer")
        self._published(actor, booking.range_id, Action.FEDERATION_BOOK)
        return booking

    # -- handshake and catalogue -------------------------------------------------------------------
    def handshake(self, actor: Principal) -> dict[str, Any]:
        permissions.require(actor, Action.FEDERATION_READ)
        self._audit(actor, "handshake", kind="organisation", object_id=actor.organisation_id)
        org = self.unit.catalogue.get_organisation(actor.organisation_id)
        return {
            "api": API_VERSION,
            "versions": [API_VERSION],
            "name": self.name,
            "country": self.country,
            "peer": {
                "organisation_id": actor.organisation_id,
                "name": org.name if org else actor.name,
                "country": org.country if org else actor.organisation_country,
            },
        }

    def ranges(self, actor: Principal, *, horizon: timedelta = timedelta(hours=1)) -> list[PublishedRange]:
        permissions.require(actor, Action.FEDERATION_READ)
        ids = self.unit.federation.published_to(actor.organisation_id)
        out = []
        for range_id in ids:
            record = self.unit.catalogue.get_range(range_id)
            if record is None or record.status is RangeStatus.DECOMMISSIONED:
                continue
            out.append(PublishedRange(record=record, free=self._free(actor, record, horizon=horizon)))
        self._audit(actor, "ranges.read", kind="organisation", object_id=actor.organisation_id)
        return out

    def range(self, actor: Principal, ref: str) -> PublishedRange:
        record = self._published(actor, ref, Action.FEDERATION_READ)
        self._audit(actor, "range.read", kind="range", object_id=record.id, range_id=record.id)
        return PublishedRange(record=record, free=self._free(actor, record, horizon=timedelta(hours=1)))

    def _free(self, actor: Principal, record: RangeRecord, *, horizon: timedelta) -> Resources:
        now = self.clock.now()
        return self.free_between(actor, record, start=now, end=now + horizon)

    def free_between(
        self, actor: Principal, record: RangeRecord, *, start: datetime, end: datetime
    ) -> Resources:
        found = self.unit.booking.free_for(
            [record.id],
            start=start,
            end=end,
            organisation_id=actor.organisation_id,
            country=actor.organisation_country,
        )
        return found[record.id].free if record.id in found else Resources()

    def availability(self, actor: Principal, ref: str, *, start: datetime, end: datetime) -> Resources:
        if end <= start:
            raise InvalidInput(FieldProblem("end", "must be after start"))
        record = self._published(actor, ref, Action.FEDERATION_READ)
        self._audit(
            actor,
            "availability.read",
            kind="range",
            object_id=record.id,
            range_id=record.id,
            after={"start": start.isoformat(), "end": end.isoformat()},
        )
        return self.free_between(actor, record, start=start, end=end)

    # -- holds -------------------------------------------------------------------------------------
    def hold(
        self,
        actor: Principal,
        *,
        key: str,
        range_ref: str,
        start: datetime,
        end: datetime,
        demand: Resources,
        requester: Requester | None = None,
    ) -> Booking:
        """A hold (HELD until the home's hold TTL) admitted by this instance's engine for the peer's
        organisation; the same key again returns the same hold. `requester`, the organisation at the
        peer it is for, is recorded in the audit: a claim this instance cannot check, so it changes
        neither the booking's owner nor what the sharing policy admits."""
        record = self._published(actor, range_ref, Action.FEDERATION_BOOK)
        result = self.unit.booking.create_request(
            actor,
            BookingRequest(
                items=[BookingItem(range_ref=record.id, demand=demand)],
                start=start,
                end=end,
                purpose=Purpose.MANUAL,
                reference=key,
                hold=True,
                request_id=key,
            ),
        )
        (booking,) = result.bookings
        self._audit(
            actor,
            "hold.create",
            kind="booking",
            object_id=booking.id,
            range_id=record.id,
            after={
                "key": key,
                "status": booking.status.value,
                "replayed": result.replayed,
                **({} if requester is None else {"for": asdict(requester)}),
            },
        )
        return booking

    def holds_by_key(self, actor: Principal, *, key: str, range_ref: str | None) -> list[Booking]:
        permissions.require(actor, Action.FEDERATION_BOOK)
        found = [
            b
            for b in self.unit.booking.store.bookings_of_request(
                key, owner_organisation_id=actor.organisation_id
            )
            if range_ref is None or range_ref in (b.range_id, b.range_slug)
        ]
        self._audit(actor, "hold.read", kind="booking", object_id=key, after={"found": len(found)})
        return found

    def get_hold(self, actor: Principal, hold_id: str) -> Booking:
        booking = self._own_booking(actor, hold_id)
        self._audit(actor, "hold.read", kind="booking", object_id=booking.id, range_id=booking.range_id)
        return booking

    def confirm(self, actor: Principal, hold_id: str) -> Booking:
        booking = self._own_booking(actor, hold_id)
        (confirmed,) = self.unit.booking.confirm(actor, Selection.booking(booking.id))
        self._audit(
            actor,
            "hold.confirm",
            kind="booking",
            object_id=booking.id,
            range_id=booking.range_id,
            after={"status": confirmed.status.value},
        )
        return confirmed

    def release(self, actor: Principal, hold_id: str) -> Booking:
        """Give the capacity back whatever the booking's state: a hold is cancelled, a confirmed or active
        booking released, one that no longer takes capacity stays as it is (releasing twice is harmless).
        The peer's instances still running under it are torn down by the caller (`instances_of`)."""
        booking = self._own_booking(actor, hold_id)
        selection = Selection.booking(booking.id)
        if booking.status in (BookingStatus.HELD, BookingStatus.PENDING_APPROVAL):
            (booking,) = self.unit.booking.cancel(actor, selection, reason=f"released by peer {actor.name}")
        elif booking.status in (BookingStatus.CONFIRMED, BookingStatus.ACTIVE):
            (booking,) = self.unit.booking.release(actor, selection)
        self._audit(
            actor,
            "hold.release",
            kind="booking",
            object_id=booking.id,
            range_id=booking.range_id,
            after={"status": booking.status.value},
        )
        return booking

    def renew(self, actor: Principal, hold_id: str, *, end: datetime) -> Booking:
        """Move the booking's end to exactly `end`, or refuse with the latest end this range could grant
        ("<range>: can extend to at most <instant>: <reasons>")."""
        booking = self._own_booking(actor, hold_id)
        try:
            (renewed,) = self.unit.booking.renew(actor, Selection.booking(booking.id), end=end)
        except Refused as exc:
            latest = self.latest_end(actor, booking, end)
            asked = end.isoformat()
            raise Refused(
                [
                    f"{booking.range_slug}: can extend to at most {latest.isoformat()} (asked {asked})",
                    *exc.reasons,
                ]
            ) from exc
        self._audit(
            actor,
            "hold.renew",
            kind="booking",
            object_id=booking.id,
            range_id=booking.range_id,
            after={"end": renewed.end.isoformat()},
        )
        return renewed

    def latest_end(self, actor: Principal, booking: Booking, wanted: datetime) -> datetime:
        """The latest end up to `wanted` (to the minute) that capacity and the sharing policy allow the
        booking: a bisection over the added window, whose minimum free capacity only shrinks as it grows."""
        record = self.unit.catalogue.get_range(booking.range_id)
        if record is None:
            return booking.end
        limit = wanted
        longest = record.policy.max_booking_length
        if longest is not None and record.operator_organisation_id != actor.organisation_id:
            limit = min(limit, booking.start + longest)
        lo, hi = booking.end, limit
        if hi <= lo:
            return lo

        # A booking's own demand is already counted over its current window only: free over the added
        # part must hold all of it.
        def fits(end: datetime) -> bool:
            free = self.free_between(actor, record, start=booking.end, end=end)
            return booking.demand.fits_in(free)

        if fits(hi):
            return hi
        step = timedelta(minutes=1)
        for _ in range(40):  # bounded: 2^40 minutes is far beyond any booking
            if hi - lo <= step:
                break
            mid = lo + (hi - lo) / 2
            if fits(mid):
                lo = mid
            else:
                hi = mid
        return lo.replace(second=0, microsecond=0) if lo > booking.end else booking.end

    # -- instances ---------------------------------------------------------------------------------
    def _booking_for(self, actor: Principal, record: RangeRecord, exercise: str) -> Booking:
        found = [
            b
            for b in self.unit.booking.store.bookings_of_request(
                exercise, owner_organisation_id=actor.organisation_id
            )
            if b.range_id == record.id
        ]
        if not found:
            raise Refused(
                [f"{record.slug}: no booking of '{actor.name}' with key '{exercise}' on this range"]
            )
        booking = found[0]
        now = self.clock.now()
        if booking.status not in (BookingStatus.CONFIRMED, BookingStatus.ACTIVE):
            raise Refused([f"{record.slug}: booking {booking.id} is {booking.status.value}, not confirmed"])
        if not booking.start <= now < booking.end:
            raise Refused(
                [
                    f"{record.slug}: booking {booking.id} runs from {booking.start.isoformat()} to "
                    f"{booking.end.isoformat()}; now is {now.isoformat()}"
                ]
            )
        return booking

    def deploy_prepare(
        self,
        actor: Principal,
        *,
        instance_id: str,
        range_ref: str,
        exercise: str,
        team: str,
        document: str,
        values: dict[str, str],
    ) -> DeployOrder:
        """Check the instance against this range (its booking, security allowance, footprint) and record
        it; the caller then deploys `spec` with the range's connector and records the outcome. An
        instance the allowance or the footprint refuses comes back `refused`, its refusal audited."""
        record = self._published(actor, range_ref, Action.FEDERATION_DEPLOY)
        existing = self.unit.federation.get_peer_instance(instance_id, lock=True)
        if existing is not None and existing.peer_organisation_id != actor.organisation_id:
            raise Conflict(f"instance id '{instance_id}' is taken")
        if existing is not None and existing.state is PeerInstanceState.TERMINATED:
            raise Refused([f"{record.slug}: instance {instance_id} was {TERMINATED}: {existing.reason}"])
        booking = self._booking_for(actor, record, exercise)
        facts = self.parse(document)
        spec = InstanceSpec(
            instance_id=instance_id,
            exercise=exercise,
            team=team,
            scenario_document=document,
            values=values,
            allowance=record.policy.allowance(),  # ours, never the peer's
        )
        reasons = []
        try:
            self.check(spec)
        except ConnectorRefusal as exc:
            reasons.append(f"{record.slug}: {exc.reason}")
        refused = spec.allowance.refuses(facts.privileges)
        if refused and not reasons:
            reasons.append(f"{record.slug}: the range's security policy does not allow {', '.join(refused)}")
        if record.policy.require_image_digests and facts.unpinned_images:
            reasons.append(
                f"{record.slug}: the range requires images pinned by digest; "
                f"{', '.join(facts.unpinned_images)} are not"
            )
        used = Resources()
        for other in self.unit.federation.peer_instances(booking_id=booking.id):
            if other.id != instance_id and other.state is PeerInstanceState.RUNNING:
                used = used + other.demand
        shortfalls = (used + facts.demand).shortfalls(booking.demand)
        if shortfalls:
            reasons.append(
                f"{record.slug}: the instance's footprint exceeds what booking {booking.id} reserved: "
                + ", ".join(f"{d} {need} needed, {free} booked" for d, need, free in shortfalls)
            )
        if reasons:
            self._audit(
                actor,
                "instance.refuse",
                kind="instance",
                object_id=instance_id,
                range_id=record.id,
                after={"reasons": reasons},
            )
            return DeployOrder(range=record, spec=spec, fresh=existing is None, refused=tuple(reasons))
        if booking.status is BookingStatus.CONFIRMED:
            self.unit.booking.activate(actor, Selection.booking(booking.id))
        now = self.clock.now()
        instance = PeerInstance(
            id=instance_id,
            peer_organisation_id=actor.organisation_id,
            range_id=record.id,
            booking_id=booking.id,
            exercise=exercise,
            team=team,
            demand=facts.demand,
            state=PeerInstanceState.RUNNING,
            reason="",
            created_at=now,
            updated_at=now,
        )
        if existing is None:
            self.unit.federation.add_peer_instance(instance)
        else:
            self.unit.federation.save_peer_instance(replace(instance, created_at=existing.created_at))
        self._audit(
            actor,
            "instance.deploy",
            kind="instance",
            object_id=instance_id,
            range_id=record.id,
            after={"booking": booking.id, "team": team, "scenario": facts.name},
        )
        return DeployOrder(range=record, spec=spec, fresh=existing is None)

    def instance(
        self, actor: Principal, instance_id: str, *, action: str
    ) -> tuple[PeerInstance, RangeRecord] | None:
        """The actor's instance and its range, or None (unknown, or another peer's: ABSENT to it); the
        call (`action`: instance.read, instance.teardown) is audited either way."""
        permissions.require(actor, Action.FEDERATION_DEPLOY)
        found = self.unit.federation.get_peer_instance(instance_id)
        if found is not None and found.peer_organisation_id != actor.organisation_id:
            found = None
        record = None if found is None else self.unit.catalogue.get_range(found.range_id)
        range_id = None if record is None else record.id
        self._audit(actor, action, kind="instance", object_id=instance_id, range_id=range_id)
        return None if found is None or record is None else (found, record)

    def mark(self, instance_id: str, state: PeerInstanceState, *, reason: str = "") -> PeerInstance | None:
        found = self.unit.federation.get_peer_instance(instance_id, lock=True)
        if found is None:
            return None
        updated = replace(found, state=state, reason=reason or found.reason, updated_at=self.clock.now())
        self.unit.federation.save_peer_instance(updated)
        return updated

    def instances(self, actor: Principal, *, range_ref: str | None) -> list[tuple[PeerInstance, RangeRecord]]:
        """The actor's instances that are not torn down, on one published range or all of them."""
        permissions.require(actor, Action.FEDERATION_DEPLOY)
        range_id = None
        if range_ref is not None:
            range_id = self._published(actor, range_ref, Action.FEDERATION_DEPLOY).id
        out = []
        for i in self.unit.federation.peer_instances(
            peer_organisation_id=actor.organisation_id, range_id=range_id
        ):
            if i.state is PeerInstanceState.TORN_DOWN:
                continue
            record = self.unit.catalogue.get_range(i.range_id)
            if record is not None:
                out.append((i, record))
        self._audit(actor, "instances.read", kind="organisation", object_id=actor.organisation_id)
        return out


def outlived(unit: HomeUnit, *, now: datetime) -> list[tuple[PeerInstance, RangeRecord]]:
    """Peers' instances still running whose booking no longer takes capacity or has ended: they are torn
    down here, whatever the peer does (no instance runs past its booking on our ranges)."""
    out = []
    for instance in unit.federation.peer_instances(state=PeerInstanceState.RUNNING.value):
        try:
            (booking,) = unit.booking.get(SYSTEM, Selection.booking(instance.booking_id))
        except NotFound:
            booking = None
        if booking is not None and booking.occupies(now) and now < booking.end:
            continue
        record = unit.catalogue.get_range(instance.range_id)
        if record is not None:
            out.append((instance, record))
    return out


def terminated_status(instance: PeerInstance) -> InstanceStatus:
    return InstanceStatus(
        instance_id=instance.id, phase=Phase.FAILED, reason=f"{TERMINATED}: {instance.reason}"
    )


__all__: Sequence[str] = (
    "TERMINATED",
    "DeployOrder",
    "HomeFederation",
    "PublishedRange",
    "terminated_status",
)
