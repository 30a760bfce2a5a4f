"""Encryption at rest of connector secrets (kubeconfigs, tokens, keys, passwords at any depth).

A range's sealed secrets are one Fernet token over a JSON object: secret path (as text,
connectors.secrets.path_text) -> value.

The key comes from FEDERANGE_SECRET_KEY: any string with enough entropy; a Fernet key is derived from it
with HKDF-SHA256. On the embedded default (SQLite) without a key, a random key is generated once into
the data directory with mode 0600. PostgreSQL without a key is refused.

Rotation: a Cipher also opens what earlier keys sealed (`previous`, FEDERANGE_PREVIOUS_SECRET_KEYS) and
always seals with the current one; `rotate` re-seals one token under the current key (what
`federange db rotate-key` does to every range), after which the previous keys are no longer needed.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from orchestrator.domain.errors import NotReady

_INFO = b"federange connector secrets v1"


def _fernet(secret_key: str, setting: str) -> Fernet:
    if len(secret_key) < 16:
        raise NotReady(f"{setting} must be at least 16 characters")
    kdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO)
    derived = kdf.derive(secret_key.encode("utf-8"))
    return Fernet(base64.urlsafe_b64encode(derived))


class Cipher:
    def __init__(self, secret_key: str, previous: Sequence[str] = ()) -> None:
        current = _fernet(secret_key, "FEDERANGE_SECRET_KEY")
        older = [_fernet(k, "each of FEDERANGE_PREVIOUS_SECRET_KEYS") for k in previous]
        self._fernet = MultiFernet([current, *older])

    def rotate(self, sealed: str) -> str:
        """`sealed` re-sealed under the current key (whichever known key sealed it); "" stays ""."""
        if not sealed:
            return ""
        try:
            return self._fernet.rotate(sealed.encode("ascii")).decode("ascii")
        except InvalidToken as exc:
            raise NotReady(
                "connector secrets cannot be decrypted: neither FEDERANGE_SECRET_KEY nor any of "
                "FEDERANGE_PREVIOUS_SECRET_KEYS is the key they were sealed with"
            ) from exc

    def seal(self, values: Mapping[str, Any]) -> str:
        """One token over `values` (JSON values); "" for none."""
        if not values:
            return ""
        return self._fernet.encrypt(json.dumps(dict(values), sort_keys=True).encode("utf-8")).decode("ascii")

    def open(self, sealed: str) -> dict[str, Any]:
        if not sealed:
            return {}
        try:
            data: dict[str, Any] = json.loads(self._fernet.decrypt(sealed.encode("ascii")))
        except InvalidToken as exc:
            raise NotReady(
                "connector secrets cannot be decrypted: FEDERANGE_SECRET_KEY differs from the key they were "
                "sealed with (during a key rotation, list the old key in FEDERANGE_PREVIOUS_SECRET_KEYS)"
            ) from exc
        return data


def resolve_secret_key(*, configured: str, is_sqlite: bool, data_dir: Path) -> str:
    if configured:
        return configured
    if not is_sqlite:
        raise NotReady(
            "FEDERANGE_SECRET_KEY is not set: Federange refuses to store connector secrets in PostgreSQL "
            "without an encryption key (set it to a long random string and keep it safe)"
        )
    key_file = data_dir / "secret.key"
    if key_file.exists():
        return key_file.read_text(encoding="ascii").strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(key)
    return key
