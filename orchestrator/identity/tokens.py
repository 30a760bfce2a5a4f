"""API tokens: random, shown once, stored as a SHA-256 digest.

Tokens carry 256 bits of randomness, so a fast digest is enough to make the stored form useless to a
reader of the database (no password-style stretching is needed for random secrets).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass

TOKEN_PREFIX = "frt_"  # noqa: S105 - a public marker, not a secret
TOKEN_RE = re.compile(r"^frt_[A-Za-z0-9_-]{43}$")
#: A compact JWS (header.payload.signature, base64url): what OpenID Connect issuers hand out.
JWT_RE = re.compile(r"^[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]+$")


@dataclass(frozen=True)
class NewToken:
    plaintext: str
    digest: str
    prefix: str


#: A team link's token (see exercises.access): the same shape, its own prefix.
TEAM_LINK_PREFIX = "ftl_"
TEAM_LINK_RE = re.compile(r"^ftl_[A-Za-z0-9_-]{43}$")


def generate_token(prefix: str = TOKEN_PREFIX) -> NewToken:
    plaintext = prefix + secrets.token_urlsafe(32)
    return NewToken(plaintext=plaintext, digest=digest(plaintext), prefix=plaintext[:10])


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def is_well_formed(token: str) -> bool:
    return bool(TOKEN_RE.fullmatch(token))


def looks_like_jwt(token: str) -> bool:
    return len(token) <= 16_384 and bool(JWT_RE.fullmatch(token))
