"""OpenID Connect against a real provider process (oidc-provider-mock) on 127.0.0.1: the console signs in
with authorization code + PKCE, the API takes the provider's JWTs as bearer tokens with the claim-to-role
mapping, and refuses an expired token and a token of an issuer it does not trust."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from orchestrator.db import migrate
from orchestrator.db.engine import make_engine
from orchestrator.settings import OidcIssuer, Settings
from orchestrator.wiring import Services, build
from orchestrator.wiring.oidc import LEEWAY_SECONDS
from tests.support import oidc
from tests.support.live import serve

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
SHORT_LIFE = 1


@pytest.fixture(scope="module")
def providers() -> Iterator[dict[str, str]]:
    with (
        oidc.provider() as idp,
        oidc.provider(token_max_age=SHORT_LIFE) as short,
        oidc.provider() as stranger,
        oidc.provider() as elsewhere,
    ):
        yield {"idp": idp, "short": short, "stranger": stranger, "elsewhere": elsewhere}


@pytest.fixture
def world(settings: Settings, providers: dict[str, str], tmp_path: Path) -> Iterator[tuple[Services, str]]:
    """A server trusting `idp` (organisation from its configuration, roles mapped from group names),
    `short` (short-lived tokens) and `elsewhere` (for another audience), not `stranger`."""
    mapping = {"fr-trainers": "trainer", "fr-researchers": "researcher"}
    issuers = [
        OidcIssuer(
            name=name,
            issuer=providers[name],  # type: ignore[arg-type]
            client_id=oidc.CLIENT_ID,
            client_secret="console-secret",
            organisation="cyber-academy",
            role_claim="groups",
            roles=mapping,
        )
        for name in ("idp", "short")
    ] + [
        # trusted, but for tokens meant for another service
        OidcIssuer(
            name="elsewhere",
            issuer=providers["elsewhere"],  # type: ignore[arg-type]
            audience="another-service",
            organisation="cyber-academy",
            role_claim="groups",
            roles=mapping,
        )
    ]
    trusting = settings.model_copy(update={"oidc_issuers": issuers})
    engine = make_engine(trusting.resolved_database_url())
    migrate.upgrade(engine)
    engine.dispose()
    services = build(trusting)
    with services.uow() as uow:
        admin = services.catalogue(uow.catalogue).bootstrap_admin(organisation_name="Agency", country="BE")
    with serve(services) as url:
        httpx.post(
            f"{url}/api/v1/organisations",
            json={
                "name": "Cyber Academy",
                "country": "FR",
                "kind": "training_provider",
                "handle": "cyber-academy",
            },
            headers={"Authorization": f"Bearer {admin.plaintext}"},
        ).raise_for_status()
        yield services, url
    services.close()


def test_console_signs_in_with_code_and_pkce(world: tuple[Services, str], providers: dict[str, str]) -> None:
    _, url = world
    oidc.set_user(providers["idp"], "claire", {"name": "Claire Dupont", "groups": ["staff", "fr-trainers"]})
    with httpx.Client(base_url=url, timeout=10) as console:
        assert console.get("/ranges").headers["location"].startswith("/signin")
        start = console.get("/signin/oidc/idp", params={"next": "/exercises"})
        assert start.status_code == 303
        authorize = httpx.URL(start.headers["location"])
        assert str(authorize).startswith(f"{providers['idp']}/oauth2/authorize")
        assert authorize.params["code_challenge_method"] == "S256" and authorize.params["code_challenge"]
        cookie = start.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=lax" in cookie
        answer = httpx.post(str(authorize), data={"sub": "claire"}, timeout=10)  # the person signs in there
        callback = answer.headers["location"]
        assert callback.startswith(f"{url}/signin/callback")
        done = console.get(callback)
        assert done.status_code == 303 and done.headers["location"] == "/exercises"
        home = console.get("/")
        assert home.status_code == 200
        assert "Claire Dupont" in home.text and "trainer" in home.text
        # a replayed answer (its state was used) does not sign anybody in again
        replay = console.get(callback)
        assert replay.status_code == 401 and "sign in again" in replay.text


def test_bearer_jwt_maps_claims_to_organisation_and_role(
    world: tuple[Services, str], providers: dict[str, str]
) -> None:
    _, url = world
    oidc.set_user(providers["idp"], "rob", {"name": "Rob", "groups": ["fr-researchers"]})
    token = oidc.id_token(providers["idp"], "rob")
    headers = {"Authorization": f"Bearer {token}"}
    assert httpx.get(f"{url}/api/v1/environments", headers=headers).status_code == 200
    refused = httpx.post(
        f"{url}/api/v1/exercises/plan",
        headers=headers,
        json={
            "name": "x",
            "scenario": "web-sqli",
            "teams": [{"name": "a"}],
            "start": "2030-01-01T10:00:00Z",
            "end": "2030-01-01T12:00:00Z",
        },
    )
    assert refused.status_code == 403
    assert "'Rob' is researcher" in refused.json()["detail"]
    # no mapped group: no role
    oidc.set_user(providers["idp"], "eve", {"name": "Eve", "groups": ["staff"]})
    nobody = httpx.get(
        f"{url}/api/v1/environments",
        headers={"Authorization": f"Bearer {oidc.id_token(providers['idp'], 'eve')}"},
    )
    assert nobody.status_code == 401 and "grants no Federange role" in nobody.json()["detail"]
    # API tokens keep working beside the JWTs
    assert (
        httpx.get(
            f"{url}/api/v1/environments", headers={"Authorization": "Bearer frt_" + "x" * 43}
        ).status_code
        == 401
    )


def test_expired_token_is_refused(world: tuple[Services, str], providers: dict[str, str]) -> None:
    _, url = world
    oidc.set_user(providers["short"], "tia", {"name": "Tia", "groups": ["fr-trainers"]})
    token = oidc.id_token(providers["short"], "tia")
    headers = {"Authorization": f"Bearer {token}"}
    assert httpx.get(f"{url}/api/v1/exercises", headers=headers).status_code == 200
    time.sleep(SHORT_LIFE + LEEWAY_SECONDS + 1.5)
    expired = httpx.get(f"{url}/api/v1/exercises", headers=headers)
    assert expired.status_code == 401
    assert "has expired" in expired.json()["detail"]


def test_untrusted_issuer_is_refused(world: tuple[Services, str], providers: dict[str, str]) -> None:
    _, url = world
    oidc.set_user(providers["stranger"], "mallory", {"name": "Mallory", "groups": ["fr-trainers"]})
    token = oidc.id_token(providers["stranger"], "mallory")
    refused = httpx.get(f"{url}/api/v1/exercises", headers={"Authorization": f"Bearer {token}"})
    assert refused.status_code == 401
    assert "are not trusted here" in refused.json()["detail"]


def test_token_for_another_audience_is_refused(
    world: tuple[Services, str], providers: dict[str, str]
) -> None:
    _, url = world
    oidc.set_user(providers["elsewhere"], "tia", {"name": "Tia", "groups": ["fr-trainers"]})
    token = oidc.id_token(providers["elsewhere"], "tia")  # aud: the console's client id
    refused = httpx.get(f"{url}/api/v1/exercises", headers={"Authorization": f"Bearer {token}"})
    assert refused.status_code == 401
    assert "not meant for us (audience must be 'another-service')" in refused.json()["detail"]


def test_a_tampered_token_is_refused(world: tuple[Services, str], providers: dict[str, str]) -> None:
    _, url = world
    oidc.set_user(providers["idp"], "rob", {"name": "Rob", "groups": ["fr-researchers"]})
    header, payload, signature = oidc.id_token(providers["idp"], "rob").split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["groups"] = ["fr-trainers"]  # a researcher making itself a trainer
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    refused = httpx.get(
        f"{url}/api/v1/exercises", headers={"Authorization": f"Bearer {header}.{forged}.{signature}"}
    )
    assert refused.status_code == 401
    assert "signature does not verify" in refused.json()["detail"]


def test_a_sign_in_answer_with_a_bad_code_or_state_signs_nobody_in(
    world: tuple[Services, str], providers: dict[str, str]
) -> None:
    _, url = world
    oidc.set_user(providers["idp"], "claire", {"name": "Claire Dupont", "groups": ["fr-trainers"]})
    with httpx.Client(base_url=url, timeout=10) as console:
        start = console.get("/signin/oidc/idp")
        answer = httpx.post(start.headers["location"], data={"sub": "claire"}, timeout=10)
        callback = httpx.URL(answer.headers["location"])
        forged_state = console.get(
            "/signin/callback", params={"state": "other", "code": callback.params["code"]}
        )
        assert (
            forged_state.status_code == 401
            and "does not belong to a sign-in started here" in forged_state.text
        )
        start = console.get("/signin/oidc/idp")
        state = httpx.URL(start.headers["location"]).params["state"]
        bad_code = console.get("/signin/callback", params={"state": state, "code": "not-a-code"})
        assert bad_code.status_code == 401 and "did not hand out tokens" in bad_code.text
        assert console.get("/ranges").status_code == 303  # still nobody
