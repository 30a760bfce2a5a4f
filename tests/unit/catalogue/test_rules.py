"""Pure catalogue rules: tokens, secret fields, validation, authorisation."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connectors.base import Resources
from orchestrator.catalogue import secrets, validation
from orchestrator.domain.catalogue import ConnectorSettings, RangeRecord
from orchestrator.domain.errors import Forbidden
from orchestrator.domain.ranges import RangeStatus, SharingPolicy
from orchestrator.identity import authz, tokens
from orchestrator.identity.principals import Principal, Role

T0 = datetime(2027, 1, 1, tzinfo=UTC)


def test_tokens_are_random_well_formed_and_stored_as_digests() -> None:
    a, b = tokens.generate_token(), tokens.generate_token()
    assert a.plaintext != b.plaintext
    assert tokens.is_well_formed(a.plaintext)
    assert a.digest == tokens.digest(a.plaintext) != a.plaintext
    assert a.plaintext.startswith(a.prefix)
    assert not tokens.is_well_formed(a.plaintext + "x")
    assert not tokens.is_well_formed("Bearer " + a.plaintext)


@given(st.text(min_size=1, max_size=20))
def test_secret_fields_never_land_in_the_public_part(name: str) -> None:
    public, hidden = secrets.split_config({name: "v", "kubeconfig": "k", "api_token": "t", "server": "s"})
    assert "kubeconfig" in hidden and "api_token" in hidden
    assert public.get("server") == "s" or name == "server"
    assert not set(public) & set(hidden)
    assert all(not secrets.is_secret_field(k) for k in public)


@pytest.mark.parametrize(
    ("code", "ok"), [("EE", True), ("FI", True), ("XZ", False), ("ee", False), ("EST", False), ("EU", False)]
)
def test_country_codes(code: str, ok: bool) -> None:
    assert (validation.country_problem(code) is None) is ok


@pytest.mark.parametrize(
    ("slug", "ok"), [("ee-range", True), ("a", True), ("-a", False), ("A", False), ("a" * 64, False)]
)
def test_slugs(slug: str, ok: bool) -> None:
    assert (validation.slug_problem(slug) is None) is ok


def _range(policy: SharingPolicy, status: RangeStatus = RangeStatus.ACTIVE) -> RangeRecord:
    return RangeRecord(
        id="r1",
        slug="ee-range",
        name="EE",
        description="",
        operator_organisation_id="org-ee",
        country="EE",
        capabilities=frozenset(),
        capacity=Resources(1000, 1024, 1, 0),
        policy=policy,
        status=status,
        preference=50,
        connector=ConnectorSettings(kind="fake"),
        created_at=T0,
        updated_at=T0,
    )


def _who(role: Role, org: str = "org-x", country: str = "DE") -> Principal:
    return Principal(id="p", name="p", organisation_id=org, organisation_country=country, role=role)


def test_visibility_follows_the_sharing_policy() -> None:
    closed = _range(
        SharingPolicy(allowed_countries=frozenset({"FI"}), allowed_organisations=frozenset({"org-y"}))
    )
    assert authz.can_see_range(_who(Role.TRAINER, country="FI"), closed)
    assert authz.can_see_range(_who(Role.TRAINER, org="org-y"), closed)
    assert not authz.can_see_range(_who(Role.TRAINER), closed)
    assert authz.can_see_range(_who(Role.ADMIN), closed)
    assert authz.can_see_range(_who(Role.TRAINER, org="org-ee"), closed)
    gone = _range(SharingPolicy(), RangeStatus.DECOMMISSIONED)
    assert not authz.can_see_range(_who(Role.RESEARCHER), gone)


def test_only_the_operating_organisation_manages_a_range() -> None:
    record = _range(SharingPolicy())
    authz.require_range_manager(_who(Role.OPERATOR, org="org-ee"), record, action="x")
    authz.require_range_manager(_who(Role.ADMIN), record, action="x")
    with pytest.raises(Forbidden, match="operated by another organisation"):
        authz.require_range_manager(_who(Role.OPERATOR), record, action="x")
    with pytest.raises(Forbidden):
        authz.require_range_manager(_who(Role.TRAINER, org="org-ee"), record, action="x")
