"""Checkpointing a SQLite file's WAL off the event loop.

A commit in WAL mode appends to the ``-wal`` file; a checkpoint copies those pages back into
the database file and syncs it. SQLite's automatic checkpoint runs inside whichever commit
takes the WAL past 1000 pages, and every connection of the store commits on the event
loop's thread (store/sqlite_inline.py): the loop stood still for tens of milliseconds then,
every held Ping with it. So no connection of the store checkpoints as it commits (the engine
turns the automatic checkpoint off, store/engine.py), and a thread of its own does it here,
on a connection of its own, every `CHECKPOINT_EVERY_S` seconds.

The checkpoint is PASSIVE: it never waits for a reader or a writer, and blocks neither.
A writer starts the WAL over from its beginning (cutting the file back to the engine's
``journal_size_limit``) only when the checkpoint had copied every page before its
transaction began. Under a steady stream of writes a checkpoint running beside them never
gets there: some transaction is always open while it copies, and the WAL would grow for
ever. So when the WAL holds `CATCH_UP_PAGES` or more, a second checkpoint runs holding the
store's write lock (an asyncio lock: this process's writers wait for it, the loop does
not); it copies the little the first left, and the next writer starts the WAL over. The
WAL thus holds about `CATCH_UP_PAGES` pages plus one interval's writes at most (and, as
with the automatic checkpoint, whatever a reader that never ends keeps pinned).
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

log = logging.getLogger(__name__)

CHECKPOINT_EVERY_S = 1.0
CATCH_UP_PAGES = 1000  # SQLite's own threshold for its automatic checkpoint


class WalCheckpointer:
    """Checkpoints one SQLite file every ``every_s`` seconds, from its own thread, until
    stopped."""

    def __init__(self, connect: Callable[[], sqlite3.Connection], *,
                 writers: asyncio.Lock | None = None, every_s: float = CHECKPOINT_EVERY_S,
                 catch_up_pages: int = CATCH_UP_PAGES) -> None:
        self._connect = connect
        self._writers = writers  # held by every writer of the store (None: no other writer)
        self._every_s = every_s
        self._catch_up_pages = catch_up_pages
        # One thread: the checkpoints, and the connection's close after the last of them,
        # run one after the other on it.
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="wal-checkpoint")
        self._connection: sqlite3.Connection | None = None  # used on that thread only
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Begin checkpointing (from within the running event loop)."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(),
                                                                name="wal-checkpoint")

    async def stop(self) -> None:
        """Stop, once a checkpoint under way has finished, and close the connection."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await asyncio.get_running_loop().run_in_executor(self._thread, self._close)
        self._thread.shutdown(wait=False)

    async def checkpoint(self) -> tuple[int, int]:
        """Checkpoint now; returns the WAL's pages and how many of them are now in the
        database file."""
        return await asyncio.get_running_loop().run_in_executor(self._thread, self._checkpoint)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._every_s)
            try:
                await self._round()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the next round tries again
                log.warning("WAL checkpoint failed: %s: %s", type(exc).__name__, exc)

    async def _round(self) -> None:
        # Shielded: a stop waits for the checkpoint on its thread, not for this.
        pages, _copied = await asyncio.shield(self.checkpoint())
        if pages >= self._catch_up_pages:
            async with self._writers or contextlib.nullcontext():
                await asyncio.shield(self.checkpoint())

    def _checkpoint(self) -> tuple[int, int]:
        if self._connection is None:
            self._connection = self._connect()
        _busy, pages, copied = self._connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        return pages, copied

    def _close(self) -> None:
        if self._connection is not None:
            connection, self._connection = self._connection, None
            connection.close()
