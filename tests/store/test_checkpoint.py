"""A SQLite store's WAL is checkpointed by its own thread, never by a commit on the loop."""
from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from pathlib import Path

from store.checkpoint import WalCheckpointer
from store.engine import connect_sqlite


def _wal_pages(database: Path) -> int:
    wal = database.with_name(database.name + "-wal")
    return wal.stat().st_size // 4096 if wal.exists() else 0


def _wal_database(database: Path) -> Callable[[], sqlite3.Connection]:
    """A WAL database with one table, and how to open a connection to it that leaves
    checkpoints to the checkpointer (as the store's connections do)."""
    with sqlite3.connect(database) as setup:
        setup.execute("PRAGMA journal_mode=WAL")
        setup.execute("CREATE TABLE t (x TEXT)")

    def connect() -> sqlite3.Connection:
        connection = sqlite3.connect(database, isolation_level=None, check_same_thread=False)
        connection.execute("PRAGMA wal_autocheckpoint=0")
        return connection

    return connect


async def test_no_connection_of_a_sqlite_store_checkpoints_as_it_commits(sqlite_store):
    async with sqlite_store.engine.connect() as connection:  # a pooled connection
        raw = await connection.get_raw_connection()
        pooled = raw.driver_connection._conn
        assert pooled.execute("PRAGMA wal_autocheckpoint").fetchone() == (0,)
    direct = connect_sqlite(sqlite_store.engine)  # as store/sqlite_direct.py opens its own
    try:
        assert direct.execute("PRAGMA wal_autocheckpoint").fetchone() == (0,)
    finally:
        direct.close()


async def test_commits_past_the_automatic_threshold_leave_the_checkpoint_to_the_thread(tmp_path):
    database = tmp_path / "big.db"
    connect = _wal_database(database)

    writer = connect()
    checkpointer = WalCheckpointer(connect, every_s=3600)  # only when asked, here
    try:
        for _ in range(1200):  # one page and more each: past SQLite's 1000-page threshold
            writer.execute("INSERT INTO t VALUES (?)", ("y" * 4000,))
        assert _wal_pages(database) > 1000
        pages, copied = await checkpointer.checkpoint()
        assert pages > 1000 and copied == pages
    finally:
        await checkpointer.stop()
        writer.close()


async def test_the_wal_starts_over_after_each_checkpoint(tmp_path):
    database = tmp_path / "wal.db"
    connect = _wal_database(database)

    writer = connect()
    checkpointer = WalCheckpointer(connect, every_s=0.05)
    checkpointer.start()
    try:
        largest = 0
        for _ in range(40):  # writes far beyond what one interval holds, in all
            for _ in range(20):
                writer.execute("INSERT INTO t VALUES (?)", ("y" * 4000,))
            largest = max(largest, _wal_pages(database))
            await asyncio.sleep(0.06)
        assert 0 < largest < 40 * 20  # a bound, not the sum of every write
    finally:
        await checkpointer.stop()
        writer.close()


async def test_the_wal_starts_over_under_a_steady_stream_of_writes(tmp_path):
    """Writes one after the other with no pause (as a busy gateway's are): a checkpoint
    beside them never finds a moment with no transaction open, so the WAL starts over only
    because the catching-up checkpoint holds the writers' lock."""
    database = tmp_path / "busy.db"
    connect = _wal_database(database)

    writer, writers = connect(), asyncio.Lock()
    checkpointer = WalCheckpointer(connect, writers=writers, every_s=0.02, catch_up_pages=100)
    checkpointer.start()
    frames = []
    try:
        for _ in range(3000):
            async with writers:
                writer.execute("BEGIN IMMEDIATE")
                writer.execute("INSERT INTO t VALUES (?)", ("y" * 3000,))
                writer.execute("COMMIT")
            await asyncio.sleep(0)
        frames.append((await checkpointer.checkpoint())[0])
    finally:
        await checkpointer.stop()
        writer.close()
    assert frames[0] < 1500  # started over: 3,000 writes of a page each left far fewer


async def test_stop_waits_for_the_checkpoint_under_way_and_closes_its_connection(tmp_path):
    database = tmp_path / "stop.db"
    opened: list[sqlite3.Connection] = []

    def connect() -> sqlite3.Connection:
        connection = sqlite3.connect(database, isolation_level=None, check_same_thread=False)
        connection.execute("PRAGMA journal_mode=WAL")
        opened.append(connection)
        return connection

    checkpointer = WalCheckpointer(connect, every_s=0.01)
    checkpointer.start()
    await asyncio.sleep(0.05)
    await checkpointer.stop()
    assert len(opened) == 1
    try:
        opened[0].execute("SELECT 1")
    except sqlite3.ProgrammingError:  # closed
        pass
    else:
        raise AssertionError("the checkpointer's connection is still open")
