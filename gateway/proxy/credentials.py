"""Who is asking, in proxy mode: the upstream checks the password, the gateway keeps none.

The access decision needs a user and a device record before the request goes anywhere (a
new third-party device is quarantined at its very first request). So credentials not seen
lately are checked first with the upstream itself: an ``OPTIONS`` request to its endpoint
carrying the client's ``Authorization`` header, which every EAS server answers only for a
valid login. Then:

- accepted (2xx): the user is known by the address the login names (``alice@contoso.com``,
  or ``CONTOSO\\alice`` through the tenant whose domain begins with ``contoso``), and is
  created in the gateway's store on first sight — with its tenant when that is new too
  (mode ``off`` until an admin sets it) — with a password hash that nothing matches;
- refused (401 or 403): the client gets the upstream's status and challenge, and nothing is
  written: no user, no device record, so a wrong password never makes a device that a later
  rollout would count as previously configured;
- no answer: HTTP 503 with ``Retry-After``.

A success is remembered for ``auth_cache_s``, keyed by a digest of the header (never the
password itself), as gateway/auth does in store mode; an upstream 401 on a passed-through
request forgets it at once. Failed logins count towards the same throttle as in store mode.
"""
from __future__ import annotations

import hashlib
import time

from gateway.auth import parse_basic
from gateway.proxy.answers import RETRY_AFTER_S, UpstreamRefusal
from gateway.proxy.metrics import ProxyMetrics
from gateway.proxy.upstream import Unavailable, Upstream
from gateway.throttle import AuthThrottle
from store.api import Conflict, NotFound, Store
from store.types import Tenant, User

# Headers of the upstream's refusal that the client needs to try again.
_CHALLENGE_HEADERS = ("WWW-Authenticate", "Retry-After")


class UpstreamAuthenticator:
    """`gateway.auth.Authenticator`'s interface, answered by the upstream."""

    def __init__(self, store: Store, upstream: Upstream, metrics: ProxyMetrics, *,
                 cache_seconds: float = 60.0, cache_size: int = 10000,
                 throttle: AuthThrottle | None = None):
        self.store = store
        self.upstream = upstream
        self.metrics = metrics
        self.throttle = throttle or AuthThrottle()
        self.cache_seconds = cache_seconds
        self.cache_size = cache_size
        self._recent: dict[bytes, tuple[float, User]] = {}

    async def authenticate(self, header: str | None, address: str | None = None) -> User | None:
        """The user the header names once the upstream accepts it; None without Basic
        credentials; raises `UpstreamRefusal` for the upstream's refusal or absence and
        `Throttled` after too many failures."""
        credentials = parse_basic(header)
        if credentials is None:
            return None
        key = _digest(header or "")
        remembered = self._recent.get(key)
        if remembered is not None and time.monotonic() - remembered[0] < self.cache_seconds:
            return remembered[1]
        self.throttle.check(credentials.login, address)
        await self._confirm(header or "", credentials.login, address)
        user = await self._local_user(credentials.login)
        self.throttle.succeeded(credentials.login)
        self._remember(key, user)
        return user

    def forget(self, header: str | None = None) -> None:
        """Drop one remembered login (its header), or all of them."""
        if header is None:
            self._recent.clear()
        else:
            self._recent.pop(_digest(header), None)

    # --- the upstream's word ----------------------------------------------------------
    async def _confirm(self, header: str, login: str, address: str | None) -> None:
        try:
            answer = await self.upstream.send("OPTIONS", "", {"Authorization": header})
        except Unavailable as missing:
            self.metrics.unavailable.labels(missing.reason).inc()
            self.metrics.credential_checks.labels("unavailable").inc()
            raise UpstreamRefusal(503, f"upstream unavailable ({missing.reason})",
                                  {"Retry-After": str(RETRY_AFTER_S)}) from None
        status = answer.status
        headers = {name: answer.headers[name] for name in _CHALLENGE_HEADERS
                   if name in answer.headers}
        answer.release()
        self.metrics.answers.labels(str(status)).inc()
        if 200 <= status < 300:
            self.metrics.credential_checks.labels("accepted").inc()
            return
        if status in (401, 403):
            self.metrics.credential_checks.labels("refused").inc()
            self.throttle.failed(login, address)
            raise UpstreamRefusal(status, "credentials refused by the upstream", headers)
        if status == 429:
            self.metrics.credential_checks.labels("throttled").inc()
            raise UpstreamRefusal(429, "the upstream throttles this login", headers)
        self.metrics.credential_checks.labels("unavailable").inc()
        self.metrics.unavailable.labels("error").inc()
        raise UpstreamRefusal(503, f"upstream answered OPTIONS with HTTP {status}",
                              {"Retry-After": str(RETRY_AFTER_S)})

    # --- the gateway's record ---------------------------------------------------------
    async def _local_user(self, login: str) -> User:
        address = await self._address(login)
        try:
            return await self.store.get_user(address)
        except NotFound:
            pass
        await self._ensure_tenant(address.partition("@")[2])
        try:
            return await self.store.create_user(address, None, address.partition("@")[0])
        except Conflict:  # another request of the same user was first
            return await self.store.get_user(address)

    async def _address(self, login: str) -> str:
        login = login.strip().lower()
        if "\\" in login:
            netbios, _, local = login.partition("\\")
            for tenant in await self.store.list_tenants():
                if tenant.domain.split(".")[0] == netbios and local:
                    return f"{local}@{tenant.domain}"
        elif "@" in login.strip("@"):
            return login
        # The upstream knows this login, but no address can be read from it.
        raise UpstreamRefusal(403, "sign in with your email address (user@domain)")

    async def _ensure_tenant(self, domain: str) -> None:
        try:
            await self.store.get_tenant(domain)
        except NotFound:
            await self.store.put_tenant(Tenant(domain=domain))

    def _remember(self, key: bytes, user: User) -> None:
        if self.cache_seconds <= 0:
            return
        if len(self._recent) >= self.cache_size:
            for stale in sorted(self._recent, key=lambda k: self._recent[k][0])[
                    : self.cache_size // 2]:
                del self._recent[stale]
        self._recent[key] = (time.monotonic(), user)


def _digest(header: str) -> bytes:
    return hashlib.sha256(header.strip().encode("utf-8", "surrogateescape")).digest()
