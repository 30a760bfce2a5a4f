"""Trusted OpenID Connect issuers: how a verified token's claims become a principal of one of our
organisations, with one role.

Verifying a token (its signature against the issuer's JWKS, `iss`, `aud`, `exp`) is the `TokenVerifier`
port's job, done at the edge (orchestrator/api/oidc.py); what the claims then mean is decided here, for
the API's bearer tokens and the console's sign-in alike.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from orchestrator.domain.catalogue import Organisation
from orchestrator.domain.errors import Unauthenticated
from orchestrator.identity import permissions
from orchestrator.identity.principals import Principal, Role


@dataclass(frozen=True, kw_only=True)
class IssuerTrust:
    """One trusted issuer (from Settings.oidc_issuers): see `orchestrator.settings.OidcIssuer`."""

    name: str
    issuer: str
    audience: str
    client_id: str = ""
    client_secret: str = field(default="", repr=False)
    organisation: str = ""
    organisation_claim: str = ""
    role_claim: str = "roles"
    roles: Mapping[str, Role] = field(default_factory=dict)
    name_claim: str = "name"


@dataclass(frozen=True)
class Verified:
    """A token whose signature, issuer, audience and expiry were checked, and its claims."""

    trust: IssuerTrust
    claims: Mapping[str, object]


class TokenVerifier(Protocol):
    def verify(self, token: str, *, audience: str | None = None, nonce: str | None = None) -> Verified:
        """The verified claims of a JWT from a trusted issuer (`audience`: the one to expect instead of
        the issuer's configured one). Raises Unauthenticated, saying why, for any other token: not a
        JWT, an untrusted issuer, a bad signature, the wrong audience, expired, the wrong nonce."""
        ...


def principal_id(issuer: str, subject: str) -> str:
    """A stable principal id for (issuer, sub): the same person gets the same id on every sign-in."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{issuer}#{subject}"))


def _values(claim: object) -> Sequence[str]:
    if isinstance(claim, str):
        return claim.split()
    if isinstance(claim, list | tuple):
        return [str(v) for v in claim]
    return []


def role_of(trust: IssuerTrust, claims: Mapping[str, object]) -> Role:
    """The first value of the role claim that maps to a role (see IssuerTrust)."""
    known = {r.value: r for r in Role}
    for value in _values(claims.get(trust.role_claim)):
        role = trust.roles.get(value) if trust.roles else known.get(value)
        if role is not None:
            return role
    raise Unauthenticated(
        f"the token of issuer '{trust.name}' grants no Federange role: claim '{trust.role_claim}' "
        f"has none of {', '.join(sorted(trust.roles or known))}"
    )


def organisation_ref(trust: IssuerTrust, claims: Mapping[str, object]) -> str:
    """The handle or id of the organisation the token's holder belongs to."""
    if trust.organisation:
        return trust.organisation
    value = claims.get(trust.organisation_claim) if trust.organisation_claim else None
    if not isinstance(value, str) or not value:
        raise Unauthenticated(
            f"the token of issuer '{trust.name}' names no organisation (claim '{trust.organisation_claim}')"
        )
    return value


def principal_from(
    verified: Verified, *, find_organisation: Callable[[str], Organisation | None]
) -> Principal:
    """The principal a verified token stands for; refuses an unknown organisation and a role that does
    not fit the organisation's kind (the rule API tokens follow when issued)."""
    trust, claims = verified.trust, verified.claims
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject:
        raise Unauthenticated(f"the token of issuer '{trust.name}' has no subject ('sub')")
    ref = organisation_ref(trust, claims)
    org = find_organisation(ref)
    if org is None:
        raise Unauthenticated(f"issuer '{trust.name}' names organisation '{ref}', which does not exist here")
    role = role_of(trust, claims)
    misfit = permissions.role_fits(role, org.kind)
    if misfit:
        raise Unauthenticated(f"issuer '{trust.name}' grants role {role.value}: {misfit} ('{org.name}')")
    display = claims.get(trust.name_claim) or claims.get("preferred_username") or claims.get("email")
    return Principal(
        id=principal_id(trust.issuer, subject),
        name=str(display or subject)[:200],
        organisation_id=org.id,
        organisation_country=org.country,
        role=role,
    )
