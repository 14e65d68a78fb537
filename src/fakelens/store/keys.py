"""API keys for `fakelens serve`: made once, shown once, stored only as a salted scrypt hash.

A key reads `flk_<id>_<secret>`: the public id finds its row without trying every hash, and the
256-bit secret is checked against the row's salted hash in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime

PREFIX = "flk"
NAME_RE = re.compile(r"[A-Za-z0-9._@-]{1,64}")
_TOKEN_RE = re.compile(rf"{PREFIX}_([0-9a-f]{{12}})_([A-Za-z0-9_-]{{43}})")
# scrypt at N=2^14, r=8: 16 MiB and tens of ms per check (the server caches a verified key's digest).
_SCRYPT = {"n": 1 << 14, "r": 8, "p": 1, "dklen": 32, "maxmem": 64 << 20}


@dataclass(frozen=True)
class ApiKey:
    """A key as listed (never its secret). `id` is the owner of the analyses the key made."""

    id: int
    name: str
    key_id: str
    created: datetime
    revoked: datetime | None = None


def new_token() -> tuple[str, str, str]:
    """(key id, secret, the full key shown to the user once)."""
    key_id, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
    return key_id, secret, f"{PREFIX}_{key_id}_{secret}"


def parse_token(token: str) -> tuple[str, str] | None:
    """(key id, secret) of a well-formed key, else None."""
    m = _TOKEN_RE.fullmatch(token.strip())
    return (m.group(1), m.group(2)) if m else None


def hash_secret(secret: str, salt: bytes) -> bytes:
    return hashlib.scrypt(secret.encode(), salt=salt, **_SCRYPT)


def secret_matches(secret: str, salt: bytes, digest: bytes) -> bool:
    return hmac.compare_digest(hash_secret(secret, salt), digest)
