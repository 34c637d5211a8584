"""HTTP Basic authentication for EAS requests (MS-ASHTTP 2.2.1.1.2.2).

A login is ``alice@contoso.com`` or ``CONTOSO\\alice``; the store resolves both. The
credentials are UTF-8 in every current client, but older ones (and some Android builds)
send Latin-1: when the bytes are not valid UTF-8 they are read as Latin-1.

A scrypt check costs tens of milliseconds of CPU, and a phone repeats the same header on
every request, so a successful login is remembered, keyed by a digest of the header (never
the password itself): for ``cache_seconds`` it is taken as it is; after that it holds as
long as the stored password is the one verified (`Store.login_stamp`, one read), so a phone
coming back from a long-held Ping is not hashed again. One header is checked once at a
time: a push that wakes fifty devices of one user, whose next requests all come at once,
costs one check, not fifty hashes on the event loop's core. A wrong password is never
remembered, so a password change takes effect at once for bad guesses and within
``cache_seconds`` for the old one.
"""
from __future__ import annotations

import asyncio
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
        self._recent: dict[bytes, _Verified] = {}
        self._checking: dict[bytes, asyncio.Future[User | None]] = {}

    async def authenticate(self, header: str | None, address: str | None = None) -> User | None:
        """The user the header names, None when it does not; raises `Throttled` when this
        login or client ``address`` failed too often (before checking the password)."""
        credentials = parse_basic(header)
        if credentials is None:
            return None
        key = hashlib.sha256((header or "").strip().encode("utf-8", "surrogateescape")).digest()
        remembered = self._recent.get(key)
        if remembered is not None and time.monotonic() - remembered.at < self.cache_seconds:
            return remembered.user
        self.throttle.check(credentials.login, address)
        user = await self._check_once(key, credentials)
        if user is None:
            self.throttle.failed(credentials.login, address)
        else:
            self.throttle.succeeded(credentials.login)
        return user

    async def _check_once(self, key: bytes, credentials: Credentials) -> User | None:
        """One check of a header at a time: the requests that come with it meanwhile (the
        devices of one user, woken together by a push) wait for that one."""
        checking = self._checking.get(key)
        if checking is None:
            checking = asyncio.ensure_future(self._check(key, credentials))
            self._checking[key] = checking
            checking.add_done_callback(lambda _: self._checking.pop(key, None))
        return await asyncio.shield(checking)  # a client hanging up leaves it to the others

    async def _check(self, key: bytes, credentials: Credentials) -> User | None:
        """A password verified before whose stamp is unchanged still holds (one read);
        anything else is hashed and compared."""
        remembered = self._recent.pop(key, None)
        if self.cache_seconds <= 0:
            return await self.store.authenticate(credentials.login, credentials.password)
        current = await self.store.login_stamp(credentials.login)
        if current is None:  # nobody: verified anyway, so that it costs the same time
            return await self.store.authenticate(credentials.login, credentials.password)
        user, stamp = current
        if remembered is None or remembered.stamp != stamp:
            user = await self.store.authenticate(credentials.login, credentials.password)
            if user is None:
                return None
        self._remember(key, _Verified(time.monotonic(), user, stamp))
        return user

    def forget(self) -> None:
        """Drop every remembered login (after a password change, for example)."""
        self._recent.clear()

    def _remember(self, key: bytes, verified: _Verified) -> None:
        if len(self._recent) >= self.cache_size:
            # Drop the oldest half: cheap, and a busy server refills it from real traffic.
            for stale in sorted(self._recent, key=lambda k: self._recent[k].at)[: self.cache_size // 2]:
                del self._recent[stale]
        self._recent[key] = verified


@dataclass(frozen=True)
class _Verified:
    at: float  # time.monotonic() of the last check
    user: User
    stamp: str  # the password's stamp then (Store.login_stamp)
