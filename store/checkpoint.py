"""Checkpointing a SQLite file's WAL off the event loop.

A commit in WAL mode appends to the ``-wal`` file; a checkpoint copies those pages back into
the database file and syncs it. SQLite's automatic checkpoint runs inside whichever commit
takes the WAL past 1000 pages, and every connection of the store commits on the event
loop's thread (store/sqlite_inline.py): the loop stood still for tens of milliseconds then,
every held Ping with it. So no connection of the store checkpoints as it commits (the engine
turns the automatic checkpoint off, store/engine.py), and a thread of its own does it here,
on a connection of its own, every `CHECKPOINT_EVERY_S` seconds.

The checkpoint is PASSIVE: it never waits for a reader or a writer, and blocks neither.
The WAL cannot grow without bound: each checkpoint copies every page no reader still needs,
the next writer then starts the WAL over from its beginning, and cuts the file back to the
engine's ``journal_size_limit``. The file holds about one interval's writes (and, as with
the automatic checkpoint, whatever a reader that never ends keeps pinned).
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


class WalCheckpointer:
    """Checkpoints one SQLite file every ``every_s`` seconds, from its own thread, until
    stopped."""

    def __init__(self, connect: Callable[[], sqlite3.Connection], *,
                 every_s: float = CHECKPOINT_EVERY_S) -> None:
        self._connect = connect
        self._every_s = every_s
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
                # Shielded: a stop waits for the checkpoint on its thread, not for this.
                await asyncio.shield(self.checkpoint())
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the next round tries again
                log.warning("WAL checkpoint failed: %s: %s", type(exc).__name__, exc)

    def _checkpoint(self) -> tuple[int, int]:
        if self._connection is None:
            self._connection = self._connect()
        _busy, pages, copied = self._connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        return pages, copied

    def _close(self) -> None:
        if self._connection is not None:
            connection, self._connection = self._connection, None
            connection.close()
