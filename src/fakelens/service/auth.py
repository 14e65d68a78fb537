"""Who is asking, and may they: API keys (Bearer header or the page's cookie), CSRF checks for the
cookie, and a per-key rate limit.

A key is verified once against its salted scrypt hash; the server then remembers a SHA-256 of the
verified key (in memory only) so that each later request costs a database lookup (which also
sees a revocation made meanwhile by `fakelens keys revoke`), not another scrypt.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import threading
import time
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from fastapi import HTTPException, Request

from fakelens.store import HistoryStore
from fakelens.store.keys import ApiKey, parse_token, secret_matches

KEY_COOKIE = "fakelens_key"  # HttpOnly: the page's scripts never see the key
CSRF_COOKIE = "fakelens_csrf"  # readable by the page, sent back in CSRF_HEADER (double submit)
CSRF_HEADER = "X-CSRF-Token"
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
AuthMode = Literal["auto", "required", "off"]


@dataclass(frozen=True)
class Principal:
    """The caller: a key (whose id owns the analyses it makes), or nobody (`owner` None) on a server
    that asks for no key."""

    owner: int | None
    name: str | None = None
    via_cookie: bool = False


class RateLimiter:
    """A token bucket per caller: bursts of up to `per_minute` requests, refilled at per_minute / 60 a second."""

    def __init__(self, per_minute: int):
        self.capacity, self.rate = per_minute, per_minute / 60
        self.buckets: dict[int | None, tuple[float, float]] = {}
        self.lock = threading.Lock()

    def wait(self, who: int | None) -> int:
        """Take one request for `who`: 0 when allowed, else whole seconds until one is."""
        if not self.capacity:
            return 0
        with self.lock:
            now = time.monotonic()
            tokens, last = self.buckets.get(who, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - last) * self.rate)
            if tokens >= 1:
                self.buckets[who] = (tokens - 1, now)
                return 0
            self.buckets[who] = (tokens, now)
            return max(1, math.ceil((1 - tokens) / self.rate))


class Gate:
    """Authentication for the app. Mode `auto` asks for a key once any key exists (revoked ones
    count: revoking the last key must not open the server), `required` always (a non-loopback
    host), `off` never (`serve --no-auth`)."""

    def __init__(self, store: HistoryStore, mode: AuthMode, rate_per_minute: int):
        self.store, self.mode = store, mode
        self.limiter = RateLimiter(rate_per_minute)
        self._keys_exist = False
        self._verified: dict[int, bytes] = {}
        self._lock = threading.Lock()

    def required(self) -> bool:
        if self.mode != "auto":
            return self.mode == "required"
        if not self._keys_exist:  # once true it stays true: keys are revoked, never removed
            self._keys_exist = self.store.has_keys()
        return self._keys_exist

    def key(self, token: str) -> ApiKey | None:
        """The unrevoked key `token` is, or None."""
        found = self.store.find_key(token)
        if found is None:
            return None
        key, salt, digest = found
        seen = hashlib.sha256(token.encode()).digest()
        with self._lock:
            known = self._verified.get(key.id)
        if known is not None and hmac.compare_digest(known, seen):
            return key
        if not secret_matches(parse_token(token)[1], salt, digest):
            return None
        with self._lock:
            self._verified[key.id] = seen
        return key

    def identify(self, request: Request) -> Principal | None:
        """The caller of `request`, or None when a key is needed and none valid was given."""
        if not self.required():
            return Principal(None)
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and token:
            key = self.key(token)
            return Principal(key.id, key.name) if key else None
        cookie = request.cookies.get(KEY_COOKIE)
        if cookie and (key := self.key(cookie)):
            return Principal(key.id, key.name, via_cookie=True)
        return None

    def check(self, request: Request) -> Principal:
        """The caller, or HTTPException: 401 without a valid key, 403 for a cross-site or CSRF-less
        unsafe request made with the cookie (or without any key), 429 past the rate limit."""
        who = self.identify(request)
        if who is None:
            raise HTTPException(401, "a valid API key is required (Authorization: Bearer KEY)",
                                headers={"WWW-Authenticate": "Bearer"})
        if request.method in UNSAFE and "authorization" not in request.headers:
            check_same_origin(request)
            if who.via_cookie and not _csrf_ok(request):
                raise HTTPException(403, f"missing or wrong {CSRF_HEADER} header (sign in again)")
        wait = self.limiter.wait(who.owner)
        if wait:
            raise HTTPException(429, f"rate limit of {self.limiter.capacity} requests a minute reached",
                                headers={"Retry-After": str(wait)})
        return who


def check_same_origin(request: Request) -> None:
    """403 when a browser says the request comes from another site (Origin is not this host)."""
    origin = request.headers.get("origin")
    if origin and urlsplit(origin).netloc != request.headers.get("host"):
        raise HTTPException(403, "cross-site request refused")


def _csrf_ok(request: Request) -> bool:
    sent, cookie = request.headers.get(CSRF_HEADER, ""), request.cookies.get(CSRF_COOKIE, "")
    return bool(cookie) and hmac.compare_digest(sent.encode(), cookie.encode())
