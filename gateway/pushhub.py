"""The push hub: wakes held Pings (and waiting Syncs) when a watched folder changes.

A held request costs one `Watch` in a per-user set and one future; nothing polls the
database and nothing holds a connection or a thread while it waits. The store calls
`PushHub.on_store_change` after each commit (see `attach`); the access service calls
`wake_user` when a device's access state changed, so every waiting request of that user
re-checks what it may see (the notice arriving or leaving).

A watch is registered *before* the caller checks the mailbox, so a change that commits
between the check and the wait is not lost: it is recorded on the watch and the wait
returns at once.

A device holds at most one request: a watch registered for a device (``holder``) ends the
device's earlier ones, whose waits then return empty at once, as after a timeout (the
client has given up on that connection; Exchange answers the older Ping Status 1).
"""
from __future__ import annotations

import asyncio
from collections.abc import Iterable

from store.api import Store


class Watch:
    """One waiting request's interest in some folders of one mailbox.

    Kept small, as there is one per held request: no task, no event object and no
    generator while it waits, only a future and the heartbeat's timer. The folders are a
    tuple (a request watches a handful: a set would be a 216-byte table), and the set of
    those that changed is made when the first one does."""

    __slots__ = ("_hub", "user_id", "folder_ids", "holder", "changed", "ended",
                 "access_changed", "_waiter", "_timer")

    def __init__(self, hub: PushHub, user_id: int, folder_ids: Iterable[str],
                 holder: int | None = None) -> None:
        self._hub = hub
        self.user_id = user_id
        self.folder_ids = tuple(dict.fromkeys(folder_ids))
        self.holder = holder  # the device pk holding the request, None when not tracked
        self.changed: set[str] | None = None  # None: nothing changed since the last wait
        self.ended = False  # a newer request of the same device took over
        self.access_changed = False  # what the device may see changed (`PushHub.wake_user`)
        self._waiter: asyncio.Future[None] | None = None
        self._timer: asyncio.TimerHandle | None = None

    def __enter__(self) -> Watch:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop_waiting()
        self._hub._forget(self)

    def _mark(self, folder_ids: Iterable[str]) -> None:
        if self.changed is None:
            self.changed = set()
        self.changed.update(folder_ids)
        self._wake()

    def _end(self) -> None:
        self.ended = True
        self._wake()

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    @property
    def _woken(self) -> bool:
        return self.ended or bool(self.changed)

    async def wait(self, timeout: float) -> set[str]:
        """The folders that changed since the watch began (or since the last `wait`);
        empty when ``timeout`` seconds pass first or the watch was ended."""
        try:
            await self.woken(timeout)
        finally:
            self._stop_waiting()
        return self.take()

    def woken(self, timeout: float) -> asyncio.Future[None]:
        """A future done once the watch is woken (at once if it was) or ``timeout`` seconds
        have passed; `take` then says what changed. Awaited as it is, a held Ping's wait
        has no coroutine frame of its own; the watch's ``with`` block ends the timer."""
        loop = asyncio.get_running_loop()
        waiter = loop.create_future()
        if self._woken:
            waiter.set_result(None)
        else:
            self._stop_waiting()
            self._waiter = waiter
            self._timer = loop.call_later(max(timeout, 0), _resolve, waiter)
        return waiter

    def take(self) -> set[str]:
        """The folders that changed since the watch began or since they were last taken;
        empty when the watch was ended."""
        self._stop_waiting()
        if self.ended:
            return set()
        changed, self.changed = self.changed, None
        return changed or set()

    def _stop_waiting(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._waiter = None

    def take_access_changed(self) -> bool:
        """Whether `PushHub.wake_user` woke the watch since this was last asked."""
        changed, self.access_changed = self.access_changed, False
        return changed


def _resolve(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


class PushHub:
    def __init__(self) -> None:
        self._watches: dict[int, set[Watch]] = {}

    def attach(self, store: Store) -> None:
        """Subscribe to the store's committed changes."""
        store.add_change_listener(self.on_store_change)

    def on_store_change(self, user_id: int, folder_id: str, position: int) -> None:
        self.notify(user_id, folder_id)

    # --- waiting ----------------------------------------------------------------------
    def watch(self, user_id: int, folder_ids: Iterable[str], *, holder: int | None = None
              ) -> Watch:
        """Register interest for the duration of a ``with`` block on the returned watch
        (check, then `Watch.wait`). With a ``holder`` (a device pk) the device's earlier
        held requests end."""
        if holder is not None:
            self.end_held(user_id, holder)
        watch = Watch(self, user_id, folder_ids, holder)
        self._watches.setdefault(user_id, set()).add(watch)
        return watch

    def _forget(self, watch: Watch) -> None:
        waiting = self._watches.get(watch.user_id)
        if waiting is not None:
            waiting.discard(watch)
            if not waiting:
                del self._watches[watch.user_id]

    async def wait(self, user_id: int, folder_ids: Iterable[str], timeout: float) -> set[str]:
        """Wait for a change to one of ``folder_ids``: the folders that changed, empty on
        timeout. After `wake_user` every watched folder is returned (re-check them all)."""
        with self.watch(user_id, folder_ids) as watch:
            return await watch.wait(timeout)

    # --- waking -----------------------------------------------------------------------
    def notify(self, user_id: int, folder_id: str) -> None:
        """A folder of the mailbox changed (``""`` is the folder hierarchy)."""
        for watch in self._watches.get(user_id, ()):
            if folder_id in watch.folder_ids:
                watch._mark((folder_id,))

    def end_held(self, user_id: int, holder: int) -> None:
        """A device sent a new long-lived request: its earlier held ones answer now."""
        for watch in self._watches.get(user_id, ()):
            if watch.holder == holder:
                watch._end()

    def wake_user(self, user_id: int) -> None:
        """What the user's devices may see changed: every waiting request re-checks."""
        for watch in self._watches.get(user_id, ()):
            watch.access_changed = True
            watch._mark(watch.folder_ids)

    def waiting_count(self) -> int:
        """Requests held right now (for metrics)."""
        return sum(len(watches) for watches in self._watches.values())
