"""Which rule, if any, fires on a request.

The rules live in the store (they survive a restart and every worker sees them); the engine
keeps the active ones in memory, indexed by their match fields with a wildcard for each, so
a request costs sixteen dictionary look-ups however many rules there are. Rules changed through
this engine take effect at once. Processes sharing a database tell each other: a change here
calls ``on_change`` (the cross-process bridge sends it on), and ``changed_elsewhere`` re-reads
the rules in the background, never on a request's path. A rule another process retired is
dropped when it is next consulted here (the store says so). As a safety net against a lost
notice, the rules are also re-read every ``refresh_s`` — not every second: reading a thousand
rules costs tens of milliseconds of the loop.

Firing: rules are consulted oldest first; each one whose match fields and time window fit
counts the request in the store (``seen``), and fires when the request is past its first
``after`` and the seeded draw for its position falls under ``probability``, taking one of its
``count`` shots. The first rule that fires decides; later rules do not see the request.
The draw is a hash of (seed, position), so a run of the same requests repeats the same
faults, in any process and after a restart.
"""
from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from store.api import Store
from store.types import FaultRule

log = logging.getLogger("easgate.faults")

REFRESH_S = 60.0
_ANY = None


@dataclass(frozen=True)
class Request:
    """What a rule is matched against (lower-cased by `of`)."""

    user: str
    device_id: str
    device_type: str
    command: str

    @classmethod
    def of(cls, user: str, device_id: str, device_type: str, command: str) -> Request:
        return cls(user.lower(), device_id.lower(), device_type.lower(), command.lower())


@dataclass(frozen=True)
class Firing:
    """A rule fired: ``shot`` is its how-manieth fault (1-based), ``position`` the request's
    place among the rule's matching requests."""

    rule: FaultRule
    position: int
    shot: int


def draw(seed: int, position: int) -> float:
    """The seeded draw in [0, 1) for a rule's ``position``-th eligible request."""
    digest = hashlib.blake2b(f"{seed}:{position}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def fires(rule: FaultRule, seen: int) -> bool:
    """Whether the rule's ``seen``-th matching request gets the fault (before counting its
    shots): past ``after``, and the draw under ``probability``."""
    position = seen - rule.after
    if position <= 0:
        return False
    return rule.probability >= 1 or draw(rule.seed, position) < rule.probability


def matches(rule: FaultRule, request: Request, now: datetime) -> bool:
    return ((rule.user is None or rule.user == request.user)
            and (rule.command is None or rule.command.lower() == request.command)
            and (rule.device_id is None or rule.device_id == request.device_id)
            and (rule.device_type is None or rule.device_type == request.device_type)
            and (rule.starts_at is None or rule.starts_at <= now)
            and (rule.expires_at is None or now < rule.expires_at))


class RuleIndex:
    """Active rules by their four match fields, each possibly a wildcard: a request looks in
    the 16 buckets its fields (or "any") name, so rules that match other requests cost
    nothing, however many there are."""

    def __init__(self, rules: Iterable[FaultRule] = ()) -> None:
        self.rules = sorted(rules, key=lambda r: r.id)
        self.size = len(self.rules)
        self._buckets: dict[tuple[str | None, ...], list[FaultRule]] = defaultdict(list)
        for rule in self.rules:
            command = rule.command.lower() if rule.command else _ANY
            self._buckets[(command, rule.user, rule.device_id, rule.device_type)].append(rule)

    def with_rule(self, rule: FaultRule) -> RuleIndex:
        return RuleIndex([*self.rules, rule])

    def without(self, rule_id: int) -> RuleIndex:
        return RuleIndex(rule for rule in self.rules if rule.id != rule_id)

    def candidates(self, request: Request) -> list[FaultRule]:
        """Rules whose match fields fit the request, oldest first."""
        if not self.size:
            return []
        found: list[FaultRule] = []
        get = self._buckets.get
        for command in (request.command, _ANY):
            for user in (request.user, _ANY):
                for device_id in (request.device_id, _ANY):
                    for device_type in (request.device_type, _ANY):
                        found.extend(get((command, user, device_id, device_type), ()))
        if len(found) > 1:
            found.sort(key=lambda r: r.id)
        return found


class FaultEngine:
    def __init__(self, store: Store, *, refresh_s: float = REFRESH_S) -> None:
        self.store = store
        self.refresh_s = refresh_s
        self.on_change: Callable[[], None] | None = None  # other processes are told here
        self._index = RuleIndex()
        self._loaded_at = float("-inf")
        self._reloading: asyncio.Task[None] | None = None

    # --- the rule set ------------------------------------------------------------------
    async def load(self) -> None:
        """Read the active rules now (at start-up, and after this process changed them)."""
        self._loaded_at = time.monotonic()
        self._index = RuleIndex(await self.store.list_fault_rules(active_only=True))

    async def add(self, rule: FaultRule) -> FaultRule:
        added = await self.store.add_fault_rule(rule)
        self._index = self._index.with_rule(added)
        self._tell_others()
        return added

    async def delete(self, rule_id: int | None = None) -> int:
        """One rule (NotFound when absent), or all of them."""
        removed = await self.store.delete_fault_rules(rule_id)
        await self.load()
        self._tell_others()
        return removed

    def changed_elsewhere(self) -> None:
        """Another process changed the rules: re-read them soon, in the background."""
        self._refresh_soon()

    def _tell_others(self) -> None:
        if self.on_change is not None:
            self.on_change()

    async def stop(self) -> None:
        if self._reloading is not None:
            self._reloading.cancel()
            await asyncio.gather(self._reloading, return_exceptions=True)

    @property
    def rule_count(self) -> int:
        return self._index.size

    # --- a request ---------------------------------------------------------------------
    async def consult(self, request: Request, now: datetime) -> Firing | None:
        """The fault this request gets, None for none (the common case costs no I/O)."""
        self._refresh_if_stale()
        for rule in self._index.candidates(request):
            if not matches(rule, request, now):
                continue
            firing = await self._tally(rule, now)
            if firing is not None:
                return firing
        return None

    async def _tally(self, rule: FaultRule, now: datetime) -> Firing | None:
        counted = await self.store.count_fault_match(rule.id)
        if counted is None:  # retired or deleted meanwhile (maybe by another worker)
            self._forget(rule.id)
            return None
        if not fires(counted, counted.seen):
            return None
        shot = await self.store.count_fault_fired(rule.id, now)
        if shot is None or shot.retired_at is not None:
            self._forget(rule.id)
        if shot is None:
            return None
        return Firing(shot, counted.seen - counted.after, shot.fired)

    def _forget(self, rule_id: int) -> None:
        """A retired rule leaves the index at once (the store already says so)."""
        self._index = self._index.without(rule_id)

    def _refresh_if_stale(self) -> None:
        if time.monotonic() - self._loaded_at >= self.refresh_s:
            self._refresh_soon()

    def _refresh_soon(self) -> None:
        if self._reloading is None or self._reloading.done():
            self._loaded_at = time.monotonic()  # one reload per period, even when it fails
            self._reloading = asyncio.create_task(self._reload())

    async def _reload(self) -> None:
        try:
            await self.load()
        except Exception as error:  # keep the rules we have; the next period tries again
            log.warning("fault rules not re-read: %s", error)
