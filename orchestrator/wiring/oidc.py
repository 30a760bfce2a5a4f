"""The trusted OpenID Connect issuers at run time: their discovery documents and signing keys, fetched
over HTTP when first needed and cached, and the verifier of their JWTs (PyJWT against each issuer's JWKS).

Only asymmetric algorithms are accepted (never `none`, never a shared-secret HMAC an attacker could sign
with the public key); `iss`, `aud`, `exp` and `sub` must be present and right.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence
from typing import Any

import httpx
import jwt

from orchestrator.domain.errors import NotReady, Unauthenticated
from orchestrator.identity.issuers import IssuerTrust, Verified
from orchestrator.identity.principals import Role
from orchestrator.settings import OidcIssuer

log = logging.getLogger(__name__)

ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA")
#: Clock skew tolerated on `exp`/`iat`/`nbf` between us and an issuer.
LEEWAY_SECONDS = 5


def trust_of(issuer: OidcIssuer) -> IssuerTrust:
    """The identity layer's view of one configured issuer; an unknown role name fails at start-up."""
    roles: dict[str, Role] = {}
    for claim_value, role in issuer.roles.items():
        try:
            roles[claim_value] = Role(role)
        except ValueError as exc:
            raise NotReady(
                f"FEDERANGE_OIDC_ISSUERS: issuer '{issuer.name}' maps '{claim_value}' to unknown role "
                f"'{role}' (roles: {', '.join(r.value for r in Role)})"
            ) from exc
    return IssuerTrust(
        name=issuer.name,
        issuer=issuer.issuer_url,
        audience=issuer.expected_audience,
        client_id=issuer.client_id,
        client_secret=issuer.client_secret,
        organisation=issuer.organisation,
        organisation_claim=issuer.organisation_claim,
        role_claim=issuer.role_claim,
        roles=roles,
        name_claim=issuer.name_claim,
    )


class Issuers:
    """Every trusted issuer by `iss` and by name, with its provider metadata and keys (cached)."""

    def __init__(self, trusts: Sequence[IssuerTrust], *, timeout: float = 5.0) -> None:
        self.by_issuer = {t.issuer: t for t in trusts}
        self.by_name = {t.name: t for t in trusts}
        self.timeout = timeout
        self._metadata: dict[str, Mapping[str, Any]] = {}
        self._keys: dict[str, jwt.PyJWKClient] = {}
        self._lock = threading.Lock()

    def __bool__(self) -> bool:
        return bool(self.by_issuer)

    def metadata(self, trust: IssuerTrust) -> Mapping[str, Any]:
        """The issuer's discovery document (`/.well-known/openid-configuration`)."""
        with self._lock:
            cached = self._metadata.get(trust.issuer)
        if cached is not None:
            return cached
        url = f"{trust.issuer}/.well-known/openid-configuration"
        try:
            response = httpx.get(url, timeout=self.timeout)
            response.raise_for_status()
            document: Mapping[str, Any] = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise Unauthenticated(
                f"issuer '{trust.name}' did not answer its discovery document: {exc}"
            ) from exc
        if str(document.get("issuer", "")).rstrip("/") != trust.issuer:
            raise Unauthenticated(f"issuer '{trust.name}' publishes another issuer: {document.get('issuer')}")
        with self._lock:
            self._metadata[trust.issuer] = document
        return document

    def _key_client(self, trust: IssuerTrust) -> jwt.PyJWKClient:
        with self._lock:
            client = self._keys.get(trust.issuer)
        if client is None:
            jwks_uri = self.metadata(trust).get("jwks_uri")
            if not isinstance(jwks_uri, str):
                raise Unauthenticated(f"issuer '{trust.name}' publishes no jwks_uri")
            client = jwt.PyJWKClient(jwks_uri, cache_keys=True, lifespan=300, timeout=int(self.timeout))
            with self._lock:
                self._keys[trust.issuer] = client
        return client

    def verify(self, token: str, *, audience: str | None = None, nonce: str | None = None) -> Verified:
        try:
            unverified = jwt.decode(token, options={"verify_signature": False})
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise Unauthenticated(f"not a readable JWT: {exc}") from exc
        issuer = str(unverified.get("iss", "")).rstrip("/")
        trust = self.by_issuer.get(issuer)
        if trust is None:
            raise Unauthenticated(f"tokens of issuer '{issuer}' are not trusted here")
        if header.get("alg") not in ALGORITHMS:
            raise Unauthenticated(
                f"algorithm '{header.get('alg')}' is not accepted (use {', '.join(ALGORITHMS)})"
            )
        try:
            client = self._key_client(trust)
            # without a key id (`kid`), any of the issuer's signing keys may be the one
            keys = (
                [client.get_signing_key_from_jwt(token)] if header.get("kid") else client.get_signing_keys()
            )
        except jwt.PyJWKClientError as exc:
            raise Unauthenticated(f"no signing key of issuer '{trust.name}' fits the token: {exc}") from exc
        claims: dict[str, object] | None = None
        for key in keys:
            try:
                claims = self._decode(
                    token, key.key, trust, audience=audience or trust.audience, issuer=str(unverified["iss"])
                )
                break
            except jwt.InvalidSignatureError:
                continue
        if claims is None:
            raise Unauthenticated(
                f"the token's signature does not verify with any key of issuer '{trust.name}'"
            )
        if nonce is not None and claims.get("nonce") != nonce:
            raise Unauthenticated(f"the sign-in answer of issuer '{trust.name}' carries the wrong nonce")
        return Verified(trust=trust, claims=claims)

    @staticmethod
    def _decode(token: str, key: Any, trust: IssuerTrust, *, audience: str, issuer: str) -> dict[str, object]:
        try:
            claims: dict[str, object] = jwt.decode(
                token,
                key,
                algorithms=list(ALGORITHMS),
                audience=audience,
                issuer=issuer,
                leeway=LEEWAY_SECONDS,
                options={"require": ["exp", "iss", "sub", "aud"]},
            )
        except jwt.InvalidSignatureError:
            raise
        except jwt.ExpiredSignatureError as exc:
            raise Unauthenticated(f"the token of issuer '{trust.name}' has expired") from exc
        except jwt.InvalidAudienceError as exc:
            raise Unauthenticated(
                f"the token of issuer '{trust.name}' is not meant for us (audience must be '{audience}')"
            ) from exc
        except jwt.PyJWTError as exc:
            raise Unauthenticated(f"the token of issuer '{trust.name}' does not verify: {exc}") from exc
        return claims
