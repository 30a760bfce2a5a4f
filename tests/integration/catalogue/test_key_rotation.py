"""Rotating the key that seals connector secrets: the new key seals, the previous one still opens until
`federange db rotate-key` has re-sealed every range, and then the old key opens nothing."""

from __future__ import annotations

import json

import httpx
import pytest

from orchestrator.domain.errors import NotReady
from orchestrator.settings import Settings
from orchestrator.wiring import Services, build
from tests.integration.catalogue.helpers import KUBECONFIG, auth, create_org, issue, range_body
from tests.integration.catalogue.test_cli import federange

NEW_KEY = "the-new-secret-key-after-rotation-0123"


def kubeconfig_of(settings: Settings, slug: str) -> str:
    services = build(settings)
    try:
        with services.uow() as uow:
            record = uow.catalogue.get_range(slug)
            assert record is not None
            return str(record.connector.merged()["kubeconfig"])
    finally:
        services.close()


def test_a_key_rotation_keeps_every_sealed_secret_readable_and_then_retires_the_old_key(
    http: httpx.Client, admin_token: str, settings: Settings, services: Services
) -> None:
    org = create_org(http, admin_token, "RIA Estonia", "EE")
    operator = issue(http, admin_token, org, "operator", "ee-ops")
    for slug in ("ee-range", "ee-range-2"):
        assert http.post("/api/v1/ranges", json=range_body(slug), headers=auth(operator)).status_code == 201
    old_key = settings.secret_key

    # The new key alone cannot open what the old one sealed: the refusal says what to do.
    new_only = settings.model_copy(update={"secret_key": NEW_KEY, "instance_seed": old_key})
    with pytest.raises(NotReady, match="FEDERANGE_PREVIOUS_SECRET_KEYS"):
        kubeconfig_of(new_only, "ee-range")
    # The previous key listed without a pinned instance seed would change every flag and password.
    with pytest.raises(NotReady, match="FEDERANGE_INSTANCE_SEED"):
        build(settings.model_copy(update={"secret_key": NEW_KEY, "previous_secret_keys": [old_key]}))

    rotating = new_only.model_copy(update={"previous_secret_keys": [old_key]})
    assert kubeconfig_of(rotating, "ee-range") == KUBECONFIG
    env = {
        "FEDERANGE_DATABASE_URL": settings.resolved_database_url(),
        "FEDERANGE_DATA_DIR": str(settings.data_dir),
        "FEDERANGE_SECRET_KEY": NEW_KEY,
        "FEDERANGE_PREVIOUS_SECRET_KEYS": json.dumps([old_key]),
        "FEDERANGE_INSTANCE_SEED": old_key,
    }
    rotated = federange("db", "rotate-key", env=env)
    assert rotated.returncode == 0, rotated.stderr
    assert "re-sealed the connector secrets of 2 range(s)" in " ".join(rotated.stdout.split())

    for slug in ("ee-range", "ee-range-2"):
        assert kubeconfig_of(new_only, slug) == KUBECONFIG
    with pytest.raises(NotReady):
        kubeconfig_of(settings, "ee-range")  # the old key opens nothing any more
