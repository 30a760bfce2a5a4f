"""The CatalogueStore port on SQLAlchemy: maps rows to domain values and seals connector secrets."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Connection, Select, case, func, literal, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from connectors.base import Resources
from connectors.secrets import parse_path, path_text
from orchestrator.catalogue.health import RangeHealth
from orchestrator.catalogue.views import minutes
from orchestrator.db import notifications
from orchestrator.db.booking_sql import INSERT_AUDIT, audit_values, capacity_of, policy_of
from orchestrator.db.crypto import Cipher
from orchestrator.db.engine import write_later
from orchestrator.db.tables import (
    AuditRow,
    AuthFailureRow,
    MaintenanceRow,
    OrganisationRow,
    PrincipalRow,
    QuotaRow,
    RangeHealthRow,
    RangeRow,
    TokenRow,
    read,
    values,
)
from orchestrator.db.types import UTCDateTime
from orchestrator.domain.catalogue import ConnectorSettings, MaintenanceRecord, Organisation, RangeRecord
from orchestrator.domain.ranges import MaintenanceWindow, OrganisationKind, RangeStatus
from orchestrator.identity.audit import AuditEvent
from orchestrator.identity.principals import Principal, Role, TokenInfo
from orchestrator.identity.verified import TokenGrant


class SqlCatalogueStore:
    def __init__(self, session: Session, cipher: Cipher) -> None:
        self.session = session
        self.cipher = cipher

    # organisations
    def add_organisation(self, organisation: Organisation) -> None:
        self.session.add(OrganisationRow(**values(organisation, kind=organisation.kind.value)))
        self.session.flush()

    def get_organisation(self, organisation_id: str) -> Organisation | None:
        row = self.session.get(OrganisationRow, organisation_id)
        return None if row is None else _organisation(row)

    def find_organisation_by_name(self, name: str) -> Organisation | None:
        row = self.session.scalars(select(OrganisationRow).where(OrganisationRow.name == name)).first()
        return None if row is None else _organisation(row)

    def put_quota(self, organisation_id: str, limit: Resources) -> None:
        row = self.session.get(QuotaRow, organisation_id) or QuotaRow(organisation_id=organisation_id)
        row.cpu_millicores, row.memory_mib, row.slots, row.gpus = (
            limit.cpu_millicores,
            limit.memory_mib,
            limit.slots,
            limit.gpus,
        )
        self.session.add(row)
        self.session.flush()

    def find_organisation_by_handle(self, handle: str) -> Organisation | None:
        row = self.session.scalars(select(OrganisationRow).where(OrganisationRow.handle == handle)).first()
        return None if row is None else _organisation(row)

    def list_organisations(self) -> Sequence[Organisation]:
        rows = self.session.scalars(select(OrganisationRow).order_by(OrganisationRow.name))
        return [_organisation(r) for r in rows]

    # principals and tokens
    def add_principal(self, principal: Principal, *, created_at: datetime) -> None:
        self.session.add(
            PrincipalRow(
                id=principal.id,
                name=principal.name,
                organisation_id=principal.organisation_id,
                role=principal.role.value,
                created_at=created_at,
            )
        )
        self.session.flush()

    def add_token(
        self,
        *,
        token_id: str,
        principal_id: str,
        digest: str,
        prefix: str,
        created_at: datetime,
        expires_at: datetime | None,
    ) -> None:
        self.session.add(
            TokenRow(
                id=token_id,
                principal_id=principal_id,
                token_hash=digest,
                prefix=prefix,
                created_at=created_at,
                expires_at=expires_at,
            )
        )
        self.session.flush()

    def principal_for_token(self, digest: str, *, now: datetime) -> TokenGrant | None:
        stmt = (
            select(PrincipalRow, OrganisationRow.country, TokenRow.expires_at)
            .join(TokenRow, TokenRow.principal_id == PrincipalRow.id)
            .join(OrganisationRow, OrganisationRow.id == PrincipalRow.organisation_id)
            .where(
                TokenRow.token_hash == digest,
                TokenRow.revoked_at.is_(None),
                or_(TokenRow.expires_at.is_(None), TokenRow.expires_at > now),
            )
        )
        found = self.session.execute(stmt).first()
        if found is None:
            return None
        row, country, expires_at = found
        principal = Principal(
            id=row.id,
            name=row.name,
            organisation_id=row.organisation_id,
            organisation_country=country,
            role=Role(row.role),
        )
        return TokenGrant(principal, expires_at)

    def _token_query(self) -> Select[TokenRow, PrincipalRow]:
        return select(TokenRow, PrincipalRow).join(PrincipalRow, PrincipalRow.id == TokenRow.principal_id)

    def list_tokens(self, *, organisation_id: str | None) -> Sequence[TokenInfo]:
        stmt = self._token_query().order_by(TokenRow.created_at)
        if organisation_id is not None:
            stmt = stmt.where(PrincipalRow.organisation_id == organisation_id)
        return [_token(t, p) for t, p in self.session.execute(stmt)]

    def get_token(self, token_id: str) -> TokenInfo | None:
        found = self.session.execute(self._token_query().where(TokenRow.id == token_id)).first()
        return None if found is None else _token(found[0], found[1])

    def revoke_token(self, token_id: str, *, at: datetime) -> None:
        row = self.session.get(TokenRow, token_id)
        if row is not None and row.revoked_at is None:
            row.revoked_at = at
            self.session.flush()
            notifications.token_revoked(self.session.connection(), token_id)

    def count_admins(self) -> int:
        stmt = select(func.count()).select_from(PrincipalRow).where(PrincipalRow.role == Role.ADMIN.value)
        return int(self.session.scalar(stmt) or 0)

    # ranges
    def add_range(self, record: RangeRecord) -> None:
        row = RangeRow(id=record.id, created_at=record.created_at)
        self._fill(row, record)
        self.session.add(row)
        self.session.flush()

    def save_range(self, record: RangeRecord) -> None:
        row = self.session.get(RangeRow, record.id)
        if row is None:
            raise LookupError(record.id)
        self._fill(row, record)
        self.session.flush()

    def _fill(self, row: RangeRow, record: RangeRecord) -> None:
        policy = record.policy
        row.slug = record.slug
        row.name = record.name
        row.description = record.description
        row.operator_organisation_id = record.operator_organisation_id
        row.country = record.country
        row.capabilities = sorted(record.capabilities)
        row.cpu_millicores = record.capacity.cpu_millicores
        row.memory_mib = record.capacity.memory_mib
        row.slots = record.capacity.slots
        row.gpus = record.capacity.gpus
        row.allowed_countries = sorted(policy.allowed_countries)
        row.allowed_organisations = sorted(policy.allowed_organisations)
        row.max_foreign_share = policy.max_foreign_share
        row.approval_required = policy.approval_required
        row.max_booking_minutes = minutes(policy.max_booking_length)
        row.min_lead_minutes = minutes(policy.min_lead_time)
        row.allow_privileged = policy.allow_privileged
        row.researcher_bookings = policy.researcher_bookings
        row.require_image_digests = policy.require_image_digests
        row.preference = record.preference
        row.status = record.status.value
        row.connector_kind = record.connector.kind
        row.connector_config = dict(record.connector.config)
        row.origin_peer_id = record.origin_peer_id
        row.connector_secrets = self.cipher.seal(
            {path_text(path): value for path, value in record.connector.secrets.items()}
        )
        row.updated_at = record.updated_at

    def get_range(self, ref: str) -> RangeRecord | None:
        found = self._ranges(or_(RangeRow.id == ref, RangeRow.slug == ref))
        return found[0] if found else None

    def slug_taken(self, slug: str) -> bool:
        return self.session.scalar(select(func.count()).where(RangeRow.slug == slug)) != 0

    def list_ranges(
        self, *, country: str | None, capability: str | None, status: str | None
    ) -> Sequence[RangeRecord]:
        where = [RangeRow.country == country] if country else []
        if status:
            where.append(RangeRow.status == status)
        return self._ranges(*where, capability=capability)

    def _ranges(self, *where: ColumnElement[bool], capability: str | None = None) -> list[RangeRecord]:
        """The ranges `where` selects (with `capability`, if given), each with its maintenance windows:
        one round trip (an outer join)."""
        stmt = (
            select(RangeRow, MaintenanceRow)
            .outerjoin(MaintenanceRow, MaintenanceRow.range_id == RangeRow.id)
            .where(*where)
            .order_by(RangeRow.slug, MaintenanceRow.start)
        )
        rows: dict[str, RangeRow] = {}
        maintenance: dict[str, list[MaintenanceRecord]] = {}
        for row, window in self.session.execute(stmt):
            rows.setdefault(row.id, row)
            if window is not None:
                maintenance.setdefault(row.id, []).append(_maintenance(window))
        found = [r for r in rows.values() if not capability or capability in r.capabilities]
        return [self._range(r, tuple(maintenance.get(r.id, ()))) for r in found]

    def _range(self, row: RangeRow, maintenance: tuple[MaintenanceRecord, ...]) -> RangeRecord:
        return read(
            RangeRecord,
            row,
            capabilities=frozenset(row.capabilities),
            capacity=capacity_of(row),
            policy=policy_of(row),
            status=RangeStatus(row.status),
            connector=ConnectorSettings(
                kind=row.connector_kind,
                config=dict(row.connector_config),
                secrets={parse_path(k): v for k, v in self.cipher.open(row.connector_secrets).items()},
            ),
            maintenance=maintenance,
        )

    def _lock_range(self, range_id: str) -> None:
        """The range's row FOR UPDATE: admissions read its maintenance windows under a share lock of that
        row (orchestrator.db.calendar_sql), so a window added or removed waits for those in flight, and
        later ones wait for it."""
        self.session.execute(select(RangeRow.id).where(RangeRow.id == range_id).with_for_update())

    def add_maintenance(self, record: MaintenanceRecord) -> None:
        self._lock_range(record.range_id)
        self.session.add(
            MaintenanceRow(
                id=record.id,
                range_id=record.range_id,
                start=record.window.start,
                end=record.window.end,
                reason=record.window.reason,
                created_at=record.window.start,
            )
        )
        self.session.flush()

    def remove_maintenance(self, *, range_id: str, maintenance_id: str) -> MaintenanceRecord | None:
        row = self.session.get(MaintenanceRow, maintenance_id)
        if row is None or row.range_id != range_id:
            return None
        record = _maintenance(row)
        self._lock_range(range_id)
        self.session.delete(row)
        self.session.flush()
        return record

    # audit
    def add_audit(self, event: AuditEvent) -> None:
        write_later(self.session.connection(), INSERT_AUDIT, audit_values(event))

    def list_audit(
        self,
        *,
        organisation_id: str | None,
        object_id: str | None,
        action: str | None,
        limit: int,
        offset: int,
        operated_by: str | None = None,
    ) -> tuple[Sequence[AuditEvent], int]:
        stmt = select(AuditRow)
        if organisation_id is not None:
            visible = [
                AuditRow.organisation_id == organisation_id,
                AuditRow.actor_organisation_id == organisation_id,
            ]
            if operated_by is not None:
                operated = select(RangeRow.id).where(RangeRow.operator_organisation_id == operated_by)
                visible.append(AuditRow.range_id.in_(operated))
            stmt = stmt.where(or_(*visible))
        if object_id:
            stmt = stmt.where(or_(AuditRow.object_id == object_id, AuditRow.range_id == object_id))
        if action:
            stmt = stmt.where(AuditRow.action == action)
        total = int(self.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)
        rows = self.session.scalars(
            stmt.order_by(AuditRow.at.desc(), AuditRow.id).limit(limit).offset(offset)
        )
        return [_audit(r) for r in rows], total

    # failed sign-ins
    def count_failure(self, client: str, *, now: datetime, window: timedelta) -> tuple[int, datetime]:
        """One atomic upsert: concurrent failures of one client on several replicas all count."""
        dialect = self.session.get_bind().dialect.name
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        at = literal(now, UTCDateTime())
        fresh = AuthFailureRow.window_start <= literal(now - window, UTCDateTime())
        stmt = (
            insert(AuthFailureRow)
            .values(client=client[:64], window_start=now, failures=1)
            .on_conflict_do_update(
                index_elements=[AuthFailureRow.client],
                set_={
                    "failures": case((fresh, 1), else_=AuthFailureRow.failures + 1),
                    "window_start": case((fresh, at), else_=AuthFailureRow.window_start),
                },
            )
            .returning(AuthFailureRow.failures, AuthFailureRow.window_start)
        )
        failures, start = self.session.execute(stmt).one()
        return int(failures), start

    # range health
    def put_health(self, health: RangeHealth) -> None:
        row = self.session.get(RangeHealthRow, health.range_id)
        if row is None:
            row = RangeHealthRow(range_id=health.range_id)
            self.session.add(row)
        row.healthy = health.healthy
        row.reason = health.reason
        row.version = health.version[:100]
        row.observed_free = health.observed_free.as_dict()
        row.observed_total = health.observed_total.as_dict()
        row.probed_at = health.probed_at
        self.session.flush()

    def health_of(self, range_ids: Sequence[str]) -> Mapping[str, RangeHealth]:
        if not range_ids:
            return {}
        stmt = select(RangeHealthRow).where(RangeHealthRow.range_id.in_(list(range_ids)))
        return {
            r.range_id: read(
                RangeHealth,
                r,
                observed_free=Resources.from_dict(r.observed_free),
                observed_total=Resources.from_dict(r.observed_total),
            )
            for r in self.session.scalars(stmt)
        }


def _organisation(row: OrganisationRow) -> Organisation:
    return read(Organisation, row, kind=OrganisationKind(row.kind))


def _token(t: TokenRow, p: PrincipalRow) -> TokenInfo:
    return read(
        TokenInfo,
        t,
        principal_id=p.id,
        principal_name=p.name,
        organisation_id=p.organisation_id,
        role=Role(p.role),
    )


def _maintenance(row: MaintenanceRow) -> MaintenanceRecord:
    return MaintenanceRecord(
        id=row.id,
        range_id=row.range_id,
        window=MaintenanceWindow(start=row.start, end=row.end, reason=row.reason),
    )


def _audit(row: AuditRow) -> AuditEvent:
    return read(AuditEvent, row)


def reseal_connector_secrets(connection: Connection, cipher: Cipher) -> int:
    """Re-seal every range's connector secrets under the cipher's current key (a key rotation); returns
    how many ranges had secrets. Rows are locked while they are re-sealed; run it in one transaction."""
    sealed_rows = select(RangeRow.id, RangeRow.connector_secrets).where(RangeRow.connector_secrets != "")
    found = connection.execute(sealed_rows.with_for_update()).all()
    for range_id, sealed in found:
        connection.execute(
            update(RangeRow).where(RangeRow.id == range_id).values(connector_secrets=cipher.rotate(sealed))
        )
    return len(found)
