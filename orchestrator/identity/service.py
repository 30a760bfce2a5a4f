"""Identity use cases: authenticate a token, issue and revoke tokens, read the audit log.

Each method runs inside the caller's unit of work (the store) and records an audit event for every
mutation.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from functools import partial

from orchestrator.domain.catalogue import Organisation
from orchestrator.domain.clock import Clock
from orchestrator.domain.errors import FieldProblem, Forbidden, InvalidInput, NotFound, Unauthenticated
from orchestrator.domain.pages import Page
from orchestrator.identity import audit, issuers, permissions, tokens
from orchestrator.identity.issuers import TokenVerifier, Verified
from orchestrator.identity.permissions import Action, Scope
from orchestrator.identity.ports import IdentityStore
from orchestrator.identity.principals import IssuedToken, Principal, Role, TokenInfo, token_view
from orchestrator.identity.verified import TokenGrant


class IdentityService:
    def __init__(
        self,
        *,
        store: IdentityStore,
        clock: Clock,
        token_lifetime: timedelta | None = None,
        verifier: TokenVerifier | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        #: The expiry of tokens issued without one (None: they do not expire).
        self.token_lifetime = token_lifetime
        #: Verifies bearer JWTs of the trusted OpenID Connect issuers (None: API tokens only).
        self.verifier = verifier
        #: Records an audit event of a mutation in this unit of work.
        self._audit = partial(audit.record, store, clock)

    def authenticate(self, token: str) -> Principal:
        """The principal holding this API token, or this bearer JWT of a trusted issuer; refuses
        malformed, unknown, revoked and expired API tokens and JWTs that do not verify."""
        return self.verify(token).principal

    def verify(self, token: str) -> TokenGrant:
        """What this token grants, and until when (see `authenticate`): a JWT until its `exp`."""
        if self.verifier is not None and tokens.looks_like_jwt(token):
            verified = self.verifier.verify(token)
            exp = verified.claims.get("exp")
            expires_at = datetime.fromtimestamp(exp, UTC) if isinstance(exp, int | float) else None
            return TokenGrant(principal=self.authenticate_verified(verified), expires_at=expires_at)
        if not tokens.is_well_formed(token):
            raise Unauthenticated(
                "malformed token: Federange tokens look like 'frt_' followed by 43 characters"
                + (" (or a JWT of a trusted OpenID Connect issuer)" if self.verifier else "")
            )
        return self._grant(tokens.digest(token))

    def authenticate_digest(self, digest: str) -> Principal:
        """The principal of the live API token with this digest (a console session keeps the digest,
        never the token)."""
        return self._grant(digest).principal

    def _grant(self, digest: str) -> TokenGrant:
        grant = self.store.principal_for_token(digest, now=self.clock.now())
        if grant is None:
            raise Unauthenticated("unknown, revoked or expired token")
        return grant

    def authenticate_verified(self, verified: Verified) -> Principal:
        """The principal a verified OpenID Connect token stands for (see identity.issuers)."""

        def find(ref: str) -> Organisation | None:
            return self.store.get_organisation(ref) or self.store.find_organisation_by_handle(ref)

        return issuers.principal_from(verified, find_organisation=find)

    def issue_token(
        self, actor: Principal, *, name: str, organisation_id: str, role: Role, expires_at: datetime | None
    ) -> IssuedToken:
        permissions.require(actor, Action.TOKEN_ISSUE, owner=organisation_id)
        org = self.store.get_organisation(organisation_id)
        if org is None:
            raise InvalidInput(
                FieldProblem("organisation_id", f"organisation '{organisation_id}' does not exist")
            )
        misfit = permissions.role_fits(role, org.kind)
        if misfit:
            raise InvalidInput(FieldProblem("role", f"{misfit} ('{org.name}')"))
        if expires_at is not None and expires_at <= self.clock.now():
            raise InvalidInput(FieldProblem("expires_at", "must be in the future"))
        return self.issue(actor, name=name, organisation=org, role=role, expires_at=expires_at)

    def issue(
        self,
        actor: Principal,
        *,
        name: str,
        organisation: Organisation,
        role: Role,
        expires_at: datetime | None,
    ) -> IssuedToken:
        """A new principal in `organisation` with a fresh token (no permission check: callers check).
        Without `expires_at` the token lives for the configured default lifetime."""
        now = self.clock.now()
        if expires_at is None and self.token_lifetime is not None:
            expires_at = now + self.token_lifetime
        principal = Principal(
            id=str(uuid.uuid4()),
            name=name,
            organisation_id=organisation.id,
            organisation_country=organisation.country,
            role=role,
        )
        self.store.add_principal(principal, created_at=now)
        token = tokens.generate_token()
        token_id = str(uuid.uuid4())
        self.store.add_token(
            token_id=token_id,
            principal_id=principal.id,
            digest=token.digest,
            prefix=token.prefix,
            created_at=now,
            expires_at=expires_at,
        )
        info = TokenInfo(
            id=token_id,
            principal_id=principal.id,
            principal_name=name,
            organisation_id=organisation.id,
            role=role,
            prefix=token.prefix,
            created_at=now,
            expires_at=expires_at,
        )
        self._audit(
            actor,
            "token.issue",
            kind="token",
            object_id=token_id,
            organisation_id=organisation.id,
            after=token_view(info),
        )
        return IssuedToken(plaintext=token.plaintext, info=info)

    def list_tokens(self, actor: Principal) -> Sequence[TokenInfo]:
        permissions.require(actor, Action.TOKEN_LIST)
        return self.store.list_tokens(organisation_id=None)

    def revoke_token(self, actor: Principal, token_id: str) -> TokenInfo:
        info = self.store.get_token(token_id)
        if info is None:
            raise NotFound(f"token '{token_id}' does not exist")
        permissions.require(actor, Action.TOKEN_REVOKE)
        if (
            Scope.ANY not in permissions.scopes(actor.role, Action.TOKEN_REVOKE)
            and actor.id != info.principal_id
        ):
            raise Forbidden("only an admin or the token's own holder may revoke a token")
        if info.revoked_at is None:
            self.store.revoke_token(token_id, at=self.clock.now())
            self._audit(
                actor,
                "token.revoke",
                kind="token",
                object_id=token_id,
                organisation_id=info.organisation_id,
                before=token_view(info),
            )
        revoked = self.store.get_token(token_id)
        if revoked is None:
            raise NotFound(f"token '{token_id}' does not exist")
        return revoked

    def list_audit(
        self, actor: Principal, *, object_id: str | None, action: str | None, page: int, page_size: int
    ) -> Page:
        """Admins read everything; operators read events on their organisation's objects and on the ranges
        it operates (every organisation's bookings of them included)."""
        permissions.require(actor, Action.AUDIT_READ)
        reach = permissions.scopes(actor.role, Action.AUDIT_READ)
        items, total = self.store.list_audit(
            organisation_id=None if Scope.ANY in reach else actor.organisation_id,
            object_id=object_id,
            action=action,
            limit=page_size,
            offset=(page - 1) * page_size,
            operated_by=actor.organisation_id if Scope.OPERATED in reach else None,
        )
        return Page(items=items, total=total, page=page, page_size=page_size)
