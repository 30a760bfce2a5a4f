"""Pure catalogue rules: tokens, connector configs sealed by schema, validation, authorisation."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connectors import registry
from connectors.base import Resources
from orchestrator.catalogue import secrets, validation
from orchestrator.catalogue.service import require_range_manager
from orchestrator.domain.catalogue import ConnectorSettings, RangeRecord
from orchestrator.domain.errors import Forbidden, InvalidInput
from orchestrator.domain.ranges import RangeStatus, SharingPolicy
from orchestrator.identity import tokens, visibility
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


@given(
    st.text(min_size=1, max_size=20).filter(
        lambda k: k not in registry.config_schema("kubernetes").model_fields
    )
)
def test_a_config_is_split_by_its_schema_and_unknown_keys_are_refused_by_path(name: str) -> None:
    settings = secrets.sealed(
        "kubernetes", {"server": "http://k:8080", "token": "t0k", "namespace_prefix": "fr"}
    )
    assert settings.config == {"server": "http://k:8080", "namespace_prefix": "fr"}
    assert settings.secrets == {("token",): "t0k"} and settings.secret_fields == ["token"]
    with pytest.raises(InvalidInput) as refused:
        secrets.sealed("kubernetes", {"server": "http://k:8080", name: "v"})
    assert [p.field for p in refused.value.problems] == [secrets.field_name((name,))]
    assert "unknown key" in refused.value.problems[0].reason


def test_a_patch_keeps_secrets_it_omits_replaces_those_it_sets_and_removes_nulls() -> None:
    inventory = {"all": {"hosts": {"web": {"ansible_password": "old-pw", "ansible_port": 22}}}}
    current = secrets.sealed(
        "ansible", {"playbook_dir": "/srv/pb", "inventory": inventory, "extra_vars": {"db_password": "d"}}
    )
    web = ("inventory", "all", "hosts", "web")
    assert current.secrets == {(*web, "ansible_password"): "old-pw", ("extra_vars", "db_password"): "d"}
    # The public view sent back with one change: every secret stays sealed as it was.
    kept = secrets.patched(
        current, kind=None, changes={"inventory": {"all": {"hosts": {"web": {"ansible_port": 2222}}}}}
    )
    assert kept.secrets == current.secrets
    assert kept.config["inventory"] == {"all": {"hosts": {"web": {"ansible_port": 2222}}}}
    replaced = secrets.patched(
        current, kind=None, changes={"inventory": {"all": {"hosts": {"web": {"ansible_password": "new-pw"}}}}}
    )
    assert replaced.secrets[(*web, "ansible_password")] == "new-pw"
    removed = secrets.patched(current, kind=None, changes={"extra_vars": {"db_password": None}})
    assert ("extra_vars", "db_password") not in removed.secrets
    assert removed.merged()["extra_vars"] == {}
    with pytest.raises(InvalidInput) as refused:
        secrets.patched(
            current, kind=None, changes={"inventory": {"all": {"hosts": {"web": {"ansible_port": "x"}}}}}
        )
    assert refused.value.problems[0].field == "connector.config.inventory.all.hosts.web.ansible_port"
    # A new kind starts from an empty config.
    fake = secrets.patched(current, kind="fake", changes={"token": "t"})
    assert fake.kind == "fake" and fake.config == {} and fake.secrets == {("token",): "t"}


def test_a_value_once_sealed_stays_sealed() -> None:
    legacy = ConnectorSettings(kind="fake", config={"world": "w"}, secrets={("unhealthy_reason",): "hidden"})
    after = secrets.patched(legacy, kind=None, changes={"ready_after": 1})
    assert after.secrets == {("unhealthy_reason",): "hidden"}
    assert after.config == {"world": "w", "ready_after": 1.0}


def test_merge_patch_is_rfc_7386() -> None:
    target = {"a": "b", "c": {"d": "e", "f": "g"}}
    assert secrets.merge_patch(target, {"a": "z", "c": {"f": None}}) == {"a": "z", "c": {"d": "e"}}
    assert secrets.merge_patch({"a": [1]}, {"a": [2, 3]}) == {"a": [2, 3]}
    assert secrets.merge_patch({"a": "b"}, {"a": {"c": None}}) == {"a": {}}
    assert target == {"a": "b", "c": {"d": "e", "f": "g"}}  # unchanged


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
    assert visibility.can_see_range(_who(Role.TRAINER, country="FI"), closed)
    assert visibility.can_see_range(_who(Role.TRAINER, org="org-y"), closed)
    assert not visibility.can_see_range(_who(Role.TRAINER), closed)
    assert visibility.can_see_range(_who(Role.ADMIN), closed)
    assert visibility.can_see_range(_who(Role.TRAINER, org="org-ee"), closed)
    gone = _range(SharingPolicy(), RangeStatus.DECOMMISSIONED)
    assert not visibility.can_see_range(_who(Role.RESEARCHER), gone)


def test_only_the_operating_organisation_manages_a_range() -> None:
    record = _range(SharingPolicy())
    require_range_manager(_who(Role.OPERATOR, org="org-ee"), record, doing="x")
    require_range_manager(_who(Role.ADMIN), record, doing="x")
    with pytest.raises(Forbidden, match="operated by another organisation"):
        require_range_manager(_who(Role.OPERATOR), record, doing="x")
    with pytest.raises(Forbidden):
        require_range_manager(_who(Role.TRAINER, org="org-ee"), record, doing="x")
