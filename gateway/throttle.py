"""Failed Basic logins, counted per login and per client address, and throttled.

Exchange answers a password guesser with a lock-out; we answer HTTP 429 with
``Retry-After`` once a login or an address has failed too often within a sliding window
(``auth_fail_window_s``). While throttled, the password is not even checked: a guesser
learns nothing, and the scrypt check (tens of milliseconds of CPU) is not spent on it.

Two counters, because the attacks differ: one address trying many logins (spraying) trips
the address limit; many addresses trying one login trip the login limit. The address limit
is the higher one, since many phones can share one carrier NAT address.

A phone whose credentials were accepted recently is not affected by its account being
attacked: gateway/auth.py remembers good logins and answers them before asking here.
A good password clears its login's count (the person typed it right in the end), never the
address's (else a guesser could reset its count by logging in to an account of its own).

Each key is logged once when it becomes throttled (with the login and the address, never
the password), not at every refused attempt, so an attack cannot flood the log.
"""
from __future__ import annotations

import logging
import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gateway.config import Config

log = logging.getLogger("easgate.throttle")

# Keys remembered at most; beyond it the quietest are dropped (an attacker inventing
# logins must not grow memory without bound).
MAX_KEYS = 100_000


@dataclass(frozen=True)
class ThrottleLimits:
    per_login: int = 10  # failures of one login within the window
    per_address: int = 50  # failures from one client address within the window
    window_s: float = 300.0


class Throttled(Exception):
    """Too many failed logins: answer 429 and tell the client when to come back."""

    def __init__(self, retry_after_s: float, key: str):
        super().__init__(f"too many failed logins for {key}")
        self.retry_after_s = max(1, math.ceil(retry_after_s))
        self.key = key


class _FailureLog:
    """The times of recent failures of one key (oldest first)."""

    __slots__ = ("times", "reported")

    def __init__(self) -> None:
        self.times: deque[float] = deque()
        self.reported = False  # logged as throttled since it last fell under the limit

    def forget_before(self, horizon: float) -> None:
        while self.times and self.times[0] <= horizon:
            self.times.popleft()


class AuthThrottle:
    def __init__(self, limits: ThrottleLimits | None = None, *,
                 clock: Callable[[], float] = time.monotonic) -> None:
        # Connection time, not the policy clock: advancing the simulated clock by a day
        # must not forgive a guesser, and freezing it must not lock anyone out for ever.
        self.limits = limits or ThrottleLimits()
        self._clock = clock
        self._logs: dict[str, _FailureLog] = {}

    def check(self, login: str, address: str | None) -> None:
        """Raise `Throttled` when this login or this address may not try now."""
        now = self._clock()
        for key, limit in self._keys(login, address):
            failures = self._recent(key, now)
            if failures is not None and len(failures.times) >= limit:
                retry_after = failures.times[len(failures.times) - limit] + self.limits.window_s - now
                if not failures.reported:
                    failures.reported = True
                    log.warning("throttling %s: %d failed logins in %.0f s",
                                key, len(failures.times), self.limits.window_s)
                raise Throttled(retry_after, key)

    def failed(self, login: str, address: str | None) -> None:
        now = self._clock()
        if len(self._logs) >= MAX_KEYS:
            self._prune(now)
        for key, _limit in self._keys(login, address):
            self._logs.setdefault(key, _FailureLog()).times.append(now)

    def succeeded(self, login: str) -> None:
        self._logs.pop(_login_key(login), None)

    def failures(self, login: str | None = None, address: str | None = None) -> int:
        """Recent failures counted for a login or an address (for tests and metrics)."""
        key = _login_key(login) if login is not None else _address_key(address)
        failures = self._recent(key, self._clock())
        return len(failures.times) if failures is not None else 0

    # --- inside ------------------------------------------------------------------------
    def _keys(self, login: str, address: str | None) -> list[tuple[str, int]]:
        keys = [(_login_key(login), self.limits.per_login)]
        if address:
            keys.append((_address_key(address), self.limits.per_address))
        return keys

    def _recent(self, key: str, now: float) -> _FailureLog | None:
        failures = self._logs.get(key)
        if failures is None:
            return None
        failures.forget_before(now - self.limits.window_s)
        if not failures.times:
            del self._logs[key]
            return None
        return failures

    def _prune(self, now: float) -> None:
        """Drop keys with no failure in the window, then the quietest half if still full."""
        for key in list(self._logs):
            self._recent(key, now)
        if len(self._logs) >= MAX_KEYS:
            quietest = sorted(self._logs, key=lambda k: self._logs[k].times[-1])
            for key in quietest[: len(quietest) // 2]:
                del self._logs[key]


def _login_key(login: str) -> str:
    # CONTOSO\alice and alice@contoso.com name one mailbox, but the throttle cannot know
    # that without the store; counting them apart only doubles a guesser's budget.
    return "login " + login.strip().lower()[:320]


def _address_key(address: str | None) -> str:
    return f"address {address}"


def throttle_limits(config: Config) -> ThrottleLimits:
    """The limits the configuration sets (a limit of 0 turns that counter off)."""
    off = 1 << 62
    return ThrottleLimits(per_login=config.auth_fail_limit_login or off,
                          per_address=config.auth_fail_limit_address or off,
                          window_s=config.auth_fail_window_s)
