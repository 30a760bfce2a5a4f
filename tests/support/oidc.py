"""A real OpenID Connect provider process for tests (`oidc-provider-mock` from PyPI) on 127.0.0.1, and a
helper that walks its authorization-code flow over HTTP to get an ID token (a JWT it signs)."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import parse_qs, urlparse

import httpx

from tests.support.live import free_port

CLIENT_ID = "federange-console"


@contextmanager
def provider(*, token_max_age: int = 3600, start_timeout: float = 30.0) -> Iterator[str]:
    """A provider on a free port until the block ends; yields its issuer URL."""
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "oidc_provider_mock",
            "--port",
            str(port),
            "--token-max-age",
            str(token_max_age),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    issuer = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + start_timeout
        while True:
            try:
                if httpx.get(f"{issuer}/.well-known/openid-configuration", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError(f"the OpenID Connect provider did not start on port {port}")
            time.sleep(0.1)
        yield issuer
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def set_user(issuer: str, sub: str, claims: dict[str, object]) -> None:
    httpx.put(f"{issuer}/users/{sub}", json=claims, timeout=5).raise_for_status()


def id_token(issuer: str, sub: str, *, client_id: str = CLIENT_ID) -> str:
    """Sign `sub` in at the provider (its authorization form, then the token endpoint): the ID token."""
    redirect = "http://127.0.0.1/callback"
    with httpx.Client(timeout=10) as client:
        authorized = client.post(
            f"{issuer}/oauth2/authorize",
            params={
                "client_id": client_id,
                "redirect_uri": redirect,
                "response_type": "code",
                "scope": "openid profile",
                "state": "test",
            },
            data={"sub": sub},
        )
        code = parse_qs(urlparse(authorized.headers["location"]).query)["code"][0]
        answer = client.post(
            f"{issuer}/oauth2/token",
            data={"grant_type": "authorization_code", "code": code, "redirect_uri": redirect},
            auth=(client_id, "any-secret"),
        )
        answer.raise_for_status()
        token: str = answer.json()["id_token"]
        return token
