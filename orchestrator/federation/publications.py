"""Home side, the operators' part: publishing a range to a peer, and the emergency stop of a peer's
instance on the operator's range (the peer reads "terminated by the range operator: <reason>")."""

from __future__ import annotations

from orchestrator.domain.catalogue import Organisation, RangeRecord
from orchestrator.domain.clock import Clock
from orchestrator.domain.errors import FieldProblem, InvalidInput, NotFound
from orchestrator.domain.ranges import OrganisationKind
from orchestrator.federation.home import HomeUnit
from orchestrator.federation.model import PeerInstance
from orchestrator.identity import audit, permissions
from orchestrator.identity.permissions import Action
from orchestrator.identity.principals import Principal


class Publications:
    def __init__(self, *, unit: HomeUnit, clock: Clock) -> None:
        self.unit = unit
        self.clock = clock

    def _range(self, actor: Principal, ref: str, action: Action) -> RangeRecord:
        record = self.unit.catalogue.get_range(ref)
        if record is None:
            raise NotFound(f"range '{ref}' does not exist")
        permissions.require(
            actor, action, owner=record.operator_organisation_id, operator=record.operator_organisation_id
        )
        if record.origin_peer_id is not None:
            raise InvalidInput(
                FieldProblem("range_ref", f"range '{record.slug}' is a peer's: only its home publishes it")
            )
        return record

    def _audit_range(
        self, actor: Principal, action: str, record: RangeRecord, *, after: dict[str, str]
    ) -> None:
        """Records an audit event of a change to the range's publications (its operator's organisation's)."""
        audit.record(
            self.unit.catalogue,
            self.clock,
            actor,
            action,
            kind="range",
            object_id=record.id,
            range_id=record.id,
            organisation_id=record.operator_organisation_id,
            after=after,
        )

    def _peer(self, organisation_id: str) -> Organisation:
        org = self.unit.catalogue.get_organisation(organisation_id)
        if org is None or org.kind is not OrganisationKind.FEDERATION_PEER:
            raise InvalidInput(
                FieldProblem(
                    "organisation_id", f"'{organisation_id}' is not an organisation of kind federation_peer"
                )
            )
        return org

    def peers_of(self, actor: Principal, ref: str) -> list[str]:
        record = self._range(actor, ref, Action.PUBLICATION_MANAGE)
        return self.unit.federation.publications_of(record.id)

    def publish(self, actor: Principal, ref: str, organisation_id: str) -> bool:
        record = self._range(actor, ref, Action.PUBLICATION_MANAGE)
        peer = self._peer(organisation_id)
        made = self.unit.federation.publish(
            range_id=record.id, peer_organisation_id=peer.id, created_by=actor.id, at=self.clock.now()
        )
        if made:
            self._audit_range(actor, "range.publish", record, after={"peer": peer.id, "peer_name": peer.name})
        return made

    def withdraw(self, actor: Principal, ref: str, organisation_id: str) -> bool:
        record = self._range(actor, ref, Action.PUBLICATION_MANAGE)
        gone = self.unit.federation.unpublish(range_id=record.id, peer_organisation_id=organisation_id)
        if gone:
            self._audit_range(actor, "range.withdraw", record, after={"peer": organisation_id})
        return gone

    def peer_instances(self, actor: Principal, ref: str) -> list[PeerInstance]:
        record = self._range(actor, ref, Action.INSTANCE_STOP)
        return self.unit.federation.peer_instances(range_id=record.id)

    def stoppable(self, actor: Principal, ref: str, instance_id: str) -> tuple[RangeRecord, PeerInstance]:
        record = self._range(actor, ref, Action.INSTANCE_STOP)
        found = self.unit.federation.get_peer_instance(instance_id, lock=True)
        if found is None or found.range_id != record.id:
            raise NotFound(f"no peer instance '{instance_id}' on range '{record.slug}'")
        return record, found

    def record_stop(self, actor: Principal, record: RangeRecord, instance: PeerInstance, reason: str) -> None:
        audit.record(
            self.unit.catalogue,
            self.clock,
            actor,
            "instance.stop",
            kind="instance",
            object_id=instance.id,
            range_id=record.id,
            organisation_id=instance.peer_organisation_id,
            after={"reason": reason, "peer": instance.peer_organisation_id},
        )
