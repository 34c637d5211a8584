"""Turning a database URL into a configured async engine, with one clear error when it can't.

SQLite: WAL journal, a busy timeout and foreign keys on every connection, each call run in
place on the event loop's thread (store/sqlite_inline.py) rather than on a thread per
connection; transactions are begun by us (``BEGIN``, or ``BEGIN IMMEDIATE`` for writes) rather than by the sqlite3
module, so a read-modify-write never has to upgrade its lock half way (which SQLite answers
with "database is locked" at once, busy timeout or not).

No connection checkpoints the WAL as it commits (SQLite's automatic checkpoint would run on
the event loop, inside whichever commit crosses the threshold): `SqlStore` checkpoints from
a thread of its own (store/checkpoint.py). An engine without a store (a migration, a test's
scratch schema) lives briefly, and the close of a file's last connection checkpoints it.
"""
from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.dialects.sqlite.aiosqlite import SQLiteDialect_aiosqlite
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DisconnectionError, NoSuchModuleError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import QueuePool

from store import sqlite_inline
from store.api import StoreError

DEFAULT_URL = "sqlite+aiosqlite:///./var/easgate.db"
# Execution option set on the connection of a unit of work that writes.
WRITE_OPTION = "easgate_write"
_SQLITE_BUSY_TIMEOUT_MS = 10_000
# Past this size a WAL file is cut back when it starts over (after a checkpoint), so one
# burst of writes does not leave a huge file behind.
_SQLITE_WAL_SIZE_LIMIT = 64 * 1024 * 1024
# Every SQLite connection's settings.
SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    f"PRAGMA busy_timeout={_SQLITE_BUSY_TIMEOUT_MS}",
    "PRAGMA foreign_keys=ON",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA wal_autocheckpoint=0",
    f"PRAGMA journal_size_limit={_SQLITE_WAL_SIZE_LIMIT}",
)
_PG_CONNECT_TIMEOUT_S = 5
# A pooled PostgreSQL connection that sat unused this long is pinged before it is handed out
# (the server may have restarted or a firewall dropped it meanwhile). One in steady use is
# not: a ping is three round trips on asyncpg, more than a whole store read; a connection
# that breaks while in use is invalidated with the rest of the pool on the error it raises.
PG_PING_AFTER_IDLE_S = 5.0

# The connection pools. A unit of work on SQLite runs from BEGIN to COMMIT without letting
# the loop run anything else (store/sqlite_inline.py), so one process never has more than a
# few connections out; each extra one only costs its page cache. On PostgreSQL a unit of
# work waits on the network, so the pool bounds how many requests reach the database at
# once: twenty per process keeps four workers within the server's default of 100
# connections. A request that finds every connection taken for POOL_TIMEOUT_S gets
# StoreBusy (HTTP 503 with Retry-After) rather than waiting for ever.
_SQLITE_POOL = {"pool_size": 4, "max_overflow": 4}
_PG_POOL = {"pool_size": 10, "max_overflow": 10}
POOL_TIMEOUT_S = 10.0

# Plain driver names people type, mapped to the async drivers we ship.
_ASYNC_DRIVERS = {
    "sqlite": "sqlite+aiosqlite",
    "sqlite+pysqlite": "sqlite+aiosqlite",
    "postgresql": "postgresql+asyncpg",
    "postgres": "postgresql+asyncpg",
    "postgresql+psycopg2": "postgresql+asyncpg",
}


def parse_url(url: str) -> URL:
    """The URL with an async driver; StoreError when it is not a usable database URL."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise StoreError(f"not a database URL: {url!r}") from None
    parsed = parsed.set(drivername=_ASYNC_DRIVERS.get(parsed.drivername, parsed.drivername))
    if parsed.drivername not in ("sqlite+aiosqlite", "postgresql+asyncpg"):
        raise StoreError(
            f"unsupported database {parsed.drivername!r} in {safe_url(parsed)}: "
            "use sqlite+aiosqlite:///FILE or postgresql+asyncpg://USER@HOST/DB"
        )
    return parsed


def safe_url(url: URL) -> str:
    """The URL as it may be shown in a message (password hidden)."""
    return url.render_as_string(hide_password=True)


def create_engine(url: URL, *, schema: str | None = None) -> AsyncEngine:
    """An engine for a parsed URL; ``schema`` sets PostgreSQL's search_path (tests use it)."""
    try:
        if url.get_backend_name() == "sqlite":
            return _sqlite_engine(url)
        return _postgres_engine(url, schema)
    except (ArgumentError, NoSuchModuleError, OSError, TypeError, ValueError) as exc:
        raise StoreError(f"cannot use database {safe_url(url)}: {exc}") from None


def _sqlite_engine(url: URL) -> AsyncEngine:
    database = url.database or ""
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    args, options = _sqlite_connect_arguments(url)

    async def connect() -> sqlite_inline.Connection:
        return await sqlite_inline.connect(*args, **options)

    engine = create_async_engine(url, async_creator=connect, **_sqlite_pool(url))

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        for pragma in SQLITE_PRAGMAS:
            cursor.execute(pragma)
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        write = conn.get_execution_options().get(WRITE_OPTION, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine


def _sqlite_connect_arguments(url: URL) -> tuple[list[Any], dict[str, Any]]:
    """``sqlite3.connect``'s arguments for the URL (the file, and URI options if any)."""
    args, options = SQLiteDialect_aiosqlite().create_connect_args(url)
    options = {"timeout": _SQLITE_BUSY_TIMEOUT_MS / 1000, **options}
    options.pop("check_same_thread", None)
    return args, options


def sqlite_file(engine: AsyncEngine) -> bool:
    """Whether the engine is SQLite on a file, which other connections may open too (an
    in-memory database is one connection's own)."""
    if not is_sqlite(engine):
        return False
    database = engine.url.database or ""
    return database not in ("", ":memory:") and "mode=memory" not in str(engine.url)


def connect_sqlite(engine: AsyncEngine) -> sqlite3.Connection:
    """A plain sqlite3 connection to the engine's file, set up as the engine's own are, in
    autocommit mode (``BEGIN`` is the caller's). It may be used from any one thread at a
    time."""
    args, options = _sqlite_connect_arguments(engine.url)
    connection = sqlite3.connect(*args, isolation_level=None, check_same_thread=False,
                                 **options)
    for pragma in SQLITE_PRAGMAS:
        connection.execute(pragma)
    return connection


def _postgres_engine(url: URL, schema: str | None) -> AsyncEngine:
    connect_args: dict[str, Any] = {"timeout": _PG_CONNECT_TIMEOUT_S}
    if schema:
        connect_args["server_settings"] = {"search_path": schema}
    engine = create_async_engine(url, connect_args=connect_args, pool_timeout=POOL_TIMEOUT_S,
                                 **_PG_POOL)
    _ping_when_idle(engine, PG_PING_AFTER_IDLE_S)
    return engine


def _ping_when_idle(engine: AsyncEngine, idle_s: float) -> None:
    """Pessimistic disconnect handling for connections idle longer than ``idle_s`` only."""

    @event.listens_for(engine.sync_engine.pool, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info["checked_in_at"] = time.monotonic()

    @event.listens_for(engine.sync_engine.pool, "checkout")
    def _on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        checked_in_at = record.info.get("checked_in_at")
        if checked_in_at is None or time.monotonic() - checked_in_at < idle_s:
            return  # brand new, or in steady use
        try:
            dbapi_connection.ping()
        except Exception as exc:  # the pool retries the checkout with a new connection
            raise DisconnectionError(f"stale pooled connection: {exc}") from exc


def _sqlite_pool(url: URL) -> dict[str, Any]:
    """Sizes for a file's pool; an in-memory database has one connection (no pool to size)."""
    if not issubclass(SQLiteDialect_aiosqlite.get_pool_class(url), QueuePool):
        return {}
    return {"pool_timeout": POOL_TIMEOUT_S, **_SQLITE_POOL}


def is_sqlite(engine: AsyncEngine) -> bool:
    return engine.dialect.name == "sqlite"


def default_url() -> str:
    """``EASGATE_DB`` when set, else the SQLite file under ./var/."""
    return os.environ.get("EASGATE_DB") or DEFAULT_URL
