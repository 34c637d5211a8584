"""The gateway clock (SPEC §6): the one source of policy time.

One clock for the whole deployment, kept in the store's clock row so every process agrees:

- mode ``real``: now = wall time + offset (the default for ``easgate serve``);
- mode ``manual``: now = a frozen instant (tests and demos), moved only by ``advance``/``set``.

Moving the clock forward fires the ``on_advance`` callbacks before the call returns: the
access scheduler uses them to deliver notices and release quarantines whose deadlines the
move passed. The clock never moves back while a device is quarantined, since a quarantine's
end would then lie further away than the 24 hours it promised (``ClockError``).

Connection time (Ping heartbeats, HTTP timeouts) is not this clock's business: it stays the
event loop's real time.
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Literal

from store.api import Store
from store.types import ClockRow

ClockMode = Literal["real", "manual"]
# Called with (previous now, new now) after the clock moved forward.
AdvanceCallback = Callable[[datetime, datetime], Awaitable[None]]
# Called after this process stored a new clock row (other processes are told of it).
ChangeCallback = Callable[[], None]

# Far enough to cover any demo or test, near enough to catch a typo of a unit.
MAX_ADVANCE_S = 10 * 365 * 86400


class ClockError(ValueError):
    """A clock change that cannot be made: a bad value."""


class ClockBackwards(ClockError):
    """Backwards while a device is quarantined: refused (the admin API answers 409)."""


def wall_time() -> datetime:
    """The machine's time; only the clock may read it."""
    return datetime.now(UTC)


class Clock:
    def __init__(self, store: Store, *, wall: Callable[[], datetime] = wall_time) -> None:
        self._store = store
        self._wall = wall
        self._row = ClockRow(mode="real", offset_s=0.0, frozen_at=None)
        self._callbacks: list[AdvanceCallback] = []
        self._change_callbacks: list[ChangeCallback] = []

    # --- reading ------------------------------------------------------------------------
    async def load(self) -> None:
        """Read the clock row (call at start-up, and to pick up another process's change)."""
        self._row = await self._store.get_clock()

    @property
    def mode(self) -> ClockMode:
        return self._row.mode

    def now(self) -> datetime:
        """Policy time: an aware UTC datetime."""
        if self._row.mode == "manual" and self._row.frozen_at is not None:
            return self._row.frozen_at
        return self._wall() + timedelta(seconds=self._row.offset_s)

    # --- moving -------------------------------------------------------------------------
    def on_advance(self, callback: AdvanceCallback) -> None:
        """``await callback(before, after)`` runs every time the clock moves forward."""
        self._callbacks.append(callback)

    def on_change(self, callback: ChangeCallback) -> None:
        """``callback()`` runs every time this process stores a new clock row (any move or
        mode switch), before the move's deadlines are acted on."""
        self._change_callbacks.append(callback)

    async def advance(self, seconds: float) -> datetime:
        """Move forward by ``seconds`` (> 0); returns the new now once every deadline the
        move passed has been acted on."""
        if not 0 < seconds <= MAX_ADVANCE_S:
            raise ClockError(f"advance takes 0 < seconds <= {MAX_ADVANCE_S}, not {seconds}")
        return await self.set(self.now() + timedelta(seconds=seconds))

    async def set(self, when: datetime) -> datetime:
        """Jump to ``when`` (an aware datetime). Backwards is refused while any device is
        quarantined."""
        if when.tzinfo is None:
            raise ClockError("the time needs a UTC offset, e.g. 2026-11-20T09:00:00Z")
        when = when.astimezone(UTC)
        before = self.now()
        if when < before:
            await self._refuse_backwards_during_quarantine()
        await self._store_row(self._row_for(self._row.mode, when))
        if when > before:
            await self._fire(before, when)
        return self.now()

    async def set_mode(self, mode: ClockMode) -> None:
        """Switch between ``real`` and ``manual`` without a jump: time continues from now."""
        if mode not in ("real", "manual"):
            raise ClockError(f"clock mode is 'real' or 'manual', not {mode!r}")
        await self._store_row(self._row_for(mode, self.now()))

    def _row_for(self, mode: ClockMode, now: datetime) -> ClockRow:
        if mode == "manual":
            return ClockRow(mode="manual", offset_s=0.0, frozen_at=now)
        offset = (now - self._wall()).total_seconds()
        return ClockRow(mode="real", offset_s=offset, frozen_at=None)

    async def _store_row(self, row: ClockRow) -> None:
        await self._store.put_clock(row)
        self._row = row
        for callback in list(self._change_callbacks):
            callback()

    async def _refuse_backwards_during_quarantine(self) -> None:
        quarantined = await self._store.list_devices(state="quarantined")
        if quarantined:
            raise ClockBackwards(
                f"the clock cannot move back while {len(quarantined)} device(s) are quarantined"
            )

    async def _fire(self, before: datetime, after: datetime) -> None:
        for callback in list(self._callbacks):
            await callback(before, after)
