"""HTTP Basic authentication for EAS requests (MS-ASHTTP 2.2.1.1.2.2).

A login is ``alice@contoso.com`` or ``CONTOSO\\alice``; the store resolves both. The
credentials are UTF-8 in every current client, but older ones (and some Android builds)
send Latin-1: when the bytes are not valid UTF-8 they are read as Latin-1.

A scrypt check costs tens of milliseconds of CPU, and a phone repeats the same header on
every request, so a successful login is remembered for a short while, keyed by a digest of
the header (never the password itself). A wrong password is never cached, so a password
change takes effect at once for bad guesses and within the cache time for the old one.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import time
from dataclasses import dataclass

from gateway.throttle import AuthThrottle
from store import Store, User


@dataclass(frozen=True)
class Credentials:
    login: str
    password: str


def parse_basic(header: str | None) -> Credentials | None:
    """The credentials of an ``Authorization: Basic …`` header; None when absent or not
    Basic or not decodable."""
    if not header:
        return None
    scheme, _, encoded = header.strip().partition(" ")
    if scheme.lower() != "basic" or not encoded.strip():
        return None
    try:
        raw = base64.b64decode(encoded.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    login, colon, password = text.partition(":")
    if not colon or not login:
        return None
    return Credentials(login, password)


class Authenticator:
    """Checks Basic credentials against the store, remembering recent successes."""

    def __init__(self, store: Store, *, cache_seconds: float = 60.0, cache_size: int = 10000,
                 throttle: AuthThrottle | None = None):
        self.store = store
        self.throttle = throttle or AuthThrottle()  # failed logins (gateway/throttle.py)
        self.cache_seconds = cache_seconds
        self.cache_size = cache_size
        self._recent: dict[bytes, tuple[float, User]] = {}

    async def authenticate(self, header: str | None, address: str | None = None) -> User | None:
        """The user the header names, None when it does not; raises `Throttled` when this
        login or client ``address`` failed too often (before checking the password)."""
        credentials = parse_basic(header)
        if credentials is None:
            return None
        key = hashlib.sha256((header or "").strip().encode("utf-8", "surrogateescape")).digest()
        remembered = self._recent.get(key)
        now = time.monotonic()
        if remembered is not None and now - remembered[0] < self.cache_seconds:
            return remembered[1]
        self.throttle.check(credentials.login, address)
        user = await self.store.authenticate(credentials.login, credentials.password)
        if user is None:
            self.throttle.failed(credentials.login, address)
        else:
            self.throttle.succeeded(credentials.login)
            if self.cache_seconds > 0:
                self._remember(key, now, user)
        return user

    def forget(self) -> None:
        """Drop every remembered login (after a password change, for example)."""
        self._recent.clear()

    def _remember(self, key: bytes, now: float, user: User) -> None:
        if len(self._recent) >= self.cache_size:
            # Drop the oldest half: cheap, and a busy server refills it from real traffic.
            for stale in sorted(self._recent, key=lambda k: self._recent[k][0])[: self.cache_size // 2]:
                del self._recent[stale]
        self._recent[key] = (now, user)
