"""Live updates for open admin pages (Server-Sent Events).

While at least one page listens, one task compares the store's devices, tenants and the clock
with what it last saw and sends each listener what changed. It looks again at once when nudged
(an EAS exchange, a clock move, an action on the page) and every few seconds anyway, so changes
made by another worker process or by the access scheduler show up too. Nothing runs, and the
store is not read, while no page is open.
"""
from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from gateway.tasks import cancel_and_wait
from store.api import Store
from store.types import Device

log = logging.getLogger("easgate.admin.live")

LOOK_INTERVAL_S = 2.0  # the longest a change made elsewhere waits before it is shown
MIN_GAP_S = 0.2  # nudges closer together than this are handled by one look
LISTENER_BACKLOG = 2000  # a listener this far behind is dropped (its browser reconnects)


@dataclass(frozen=True)
class LiveEvent:
    kind: str  # "device", "tenant", "clock"
    data: dict[str, Any]

    def encode(self) -> bytes:
        """One SSE message."""
        return f"event: {self.kind}\ndata: {json.dumps(self.data)}\n\n".encode()


@dataclass(eq=False)
class Listener:
    queue: asyncio.Queue[LiveEvent | None] = field(
        default_factory=lambda: asyncio.Queue(LISTENER_BACKLOG)
    )
    wants_everything: bool = True  # a new listener first gets the whole current state


class LiveFeed:
    def __init__(
        self,
        store: Store,
        read_clock: Callable[[], tuple[datetime, str]],
        describe_device: Callable[[Device], dict[str, Any]],
        *,
        interval_s: float = LOOK_INTERVAL_S,
    ) -> None:
        self._store = store
        self._read_clock = read_clock
        self._describe = describe_device
        self._interval_s = interval_s
        self._listeners: set[Listener] = set()
        self._nudged = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._seen: dict[str, dict[Any, Any]] = {"device": {}, "tenant": {}, "clock": {}}

    # --- listening --------------------------------------------------------------------
    @contextlib.asynccontextmanager
    async def listen(self) -> AsyncIterator[asyncio.Queue[LiveEvent | None]]:
        """Events for one page while the block runs; ``None`` on the queue means the page
        fell behind and should reconnect."""
        listener = Listener()
        self._listeners.add(listener)
        self._ensure_running()
        self.nudge()
        try:
            yield listener.queue
        finally:
            self._listeners.discard(listener)

    @property
    def listening(self) -> int:
        return len(self._listeners)

    def nudge(self) -> None:
        """Something may have changed: look soon (cheap; nothing happens with no listener)."""
        if self._listeners:
            self._nudged.set()

    async def stop(self) -> None:
        for listener in list(self._listeners):
            _offer(listener, None)
        task, self._task = self._task, None
        await cancel_and_wait(task)

    # --- looking ----------------------------------------------------------------------
    def _ensure_running(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="admin-live-feed")

    async def _run(self) -> None:
        while self._listeners:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._nudged.wait(), self._interval_s)
            self._nudged.clear()
            try:
                await self.look()
            except Exception:  # the store hiccuped: try again at the next look
                log.exception("live update failed")
            await asyncio.sleep(MIN_GAP_S)
        self._seen = {"device": {}, "tenant": {}, "clock": {}}

    async def look(self) -> None:
        """Read the current state once and send every listener what it has not seen."""
        current = await self._current()
        changed = {kind: _changed(self._seen[kind], now) for kind, now in current.items()}
        self._seen = current
        for listener in list(self._listeners):
            source = current if listener.wants_everything else changed
            listener.wants_everything = False
            for kind, values in source.items():
                for _key, data in values.items():
                    if not _offer(listener, LiveEvent(kind, data)):
                        self._listeners.discard(listener)
                        break

    async def _current(self) -> dict[str, dict[Any, dict[str, Any]]]:
        devices = await self._store.list_devices()
        tenants = await self._store.list_tenants()
        now, mode = self._read_clock()
        return {
            "clock": {"clock": {"now": now.isoformat(), "mode": mode}},
            "tenant": {t.domain: {"domain": t.domain, "mode": t.mode} for t in tenants},
            "device": {d.id: self._describe(d) for d in devices},
        }


def _changed(before: dict[Any, Any], after: dict[Any, Any]) -> dict[Any, Any]:
    return {key: value for key, value in after.items() if before.get(key) != value}


def _offer(listener: Listener, event: LiveEvent | None) -> bool:
    try:
        listener.queue.put_nowait(event)
        return True
    except asyncio.QueueFull:
        with contextlib.suppress(asyncio.QueueEmpty):
            listener.queue.get_nowait()
        listener.queue.put_nowait(None)  # tell the page to reconnect
        return False
