"""FEDERANGE_OIDC_ISSUERS: read from the environment as JSON, refused at start-up when incomplete."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from orchestrator.domain.errors import NotReady
from orchestrator.identity.principals import Role
from orchestrator.settings import OidcIssuer, Settings
from orchestrator.wiring.oidc import trust_of

ACADEMY = {
    "name": "academy",
    "issuer": "https://idp.academy.example/realms/staff/",
    "client_id": "federange-console",
    "organisation": "cyber-academy",
    "role_claim": "groups",
    "roles": {"fr-trainers": "trainer"},
}


def test_issuers_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FEDERANGE_OIDC_ISSUERS", json.dumps([ACADEMY]))
    (issuer,) = Settings().oidc_issuers
    trust = trust_of(issuer)
    assert trust.issuer == "https://idp.academy.example/realms/staff"  # compared without the slash
    assert trust.audience == "federange-console"  # the client id unless an audience is given
    assert trust.roles == {"fr-trainers": Role.TRAINER}


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"client_id": ""}, "needs an audience or a client_id"),
        ({"organisation_claim": "org"}, "exactly one of organisation and organisation_claim"),
        ({"organisation": ""}, "exactly one of organisation and organisation_claim"),
        ({"name": "Not A Name"}, "should match pattern"),
        ({"issuer": "not a url"}, "URL"),
    ],
)
def test_incomplete_issuers_are_refused(change: dict[str, str], why: str) -> None:
    with pytest.raises(ValidationError, match=why):
        OidcIssuer(**{**ACADEMY, **change})


def test_an_unknown_role_fails_at_start_up() -> None:
    with pytest.raises(NotReady, match="unknown role 'teacher'"):
        trust_of(OidcIssuer(**{**ACADEMY, "roles": {"fr-trainers": "teacher"}}))
