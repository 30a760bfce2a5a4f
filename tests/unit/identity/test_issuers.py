"""How a verified OpenID Connect token's claims become a principal (identity.issuers): organisation from
the issuer or a claim, the first mapped role, the role fitting the organisation's kind, a stable id."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from orchestrator.domain.catalogue import Organisation
from orchestrator.domain.errors import Unauthenticated
from orchestrator.domain.ranges import OrganisationKind
from orchestrator.identity.issuers import IssuerTrust, Verified, principal_from, principal_id
from orchestrator.identity.principals import Role
from orchestrator.identity.tokens import looks_like_jwt

SCHOOL = Organisation(
    id="org-school",
    name="School",
    handle="school",
    country="EE",
    kind=OrganisationKind.TRAINING_PROVIDER,
    created_at=datetime(2030, 1, 1, tzinfo=UTC),
)
LAB = Organisation(
    id="org-lab",
    name="Lab",
    handle="lab",
    country="FI",
    kind=OrganisationKind.RESEARCH,
    created_at=datetime(2030, 1, 1, tzinfo=UTC),
)
ORGS = {o.handle: o for o in (SCHOOL, LAB)}
FIXED = IssuerTrust(
    name="school-idp",
    issuer="https://idp.school.example",
    audience="federange",
    organisation="school",
    role_claim="groups",
    roles={"teachers": Role.TRAINER, "phd": Role.RESEARCHER},
)
SHARED = IssuerTrust(
    name="national",
    issuer="https://id.example",
    audience="federange",
    organisation_claim="org",
)


def principal(trust: IssuerTrust, **claims: object):  # type: ignore[no-untyped-def]
    return principal_from(Verified(trust, {"sub": "u1", **claims}), find_organisation=ORGS.get)


def test_fixed_organisation_and_first_mapped_role() -> None:
    p = principal(FIXED, name="Anna", groups=["staff", "teachers", "phd"])
    assert (p.organisation_id, p.role, p.name, p.organisation_country) == (
        "org-school",
        Role.TRAINER,
        "Anna",
        "EE",
    )
    assert p.id == principal_id(FIXED.issuer, "u1") == principal(FIXED, groups="teachers").id
    assert p.id != principal_id(SHARED.issuer, "u1")


def test_organisation_from_a_claim_and_role_names_without_a_map() -> None:
    p = principal(SHARED, org="lab", roles="researcher")
    assert (p.organisation_id, p.role) == ("org-lab", Role.RESEARCHER)


@pytest.mark.parametrize(
    ("trust", "claims", "why"),
    [
        (FIXED, {"groups": ["staff"]}, "grants no Federange role"),
        (FIXED, {}, "grants no Federange role"),
        (SHARED, {"roles": "trainer"}, "names no organisation"),
        (SHARED, {"org": "nowhere", "roles": "trainer"}, "does not exist here"),
        # a research organisation holds researchers only, whatever its issuer says
        (SHARED, {"org": "lab", "roles": "trainer"}, "holds researcher principals, not trainer"),
        (SHARED, {"org": "lab", "roles": "admin"}, "not admin"),
    ],
)
def test_refusals_say_why(trust: IssuerTrust, claims: dict[str, object], why: str) -> None:
    with pytest.raises(Unauthenticated, match=why):
        principal(trust, **claims)


def test_a_token_without_subject_is_refused() -> None:
    with pytest.raises(Unauthenticated, match="no subject"):
        principal_from(Verified(FIXED, {"groups": "teachers"}), find_organisation=ORGS.get)


@pytest.mark.parametrize(
    ("token", "jwt"),
    [
        ("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1MSJ9.c2ln", True),
        ("frt_" + "a" * 43, False),
        ("a.b", False),
        ("eyJh.eyJz.sig extra", False),
    ],
)
def test_jwt_shape(token: str, jwt: bool) -> None:
    assert looks_like_jwt(token) is jwt
