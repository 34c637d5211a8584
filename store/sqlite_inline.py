"""SQLite for the async engine without a thread per connection.

aiosqlite runs every call of a connection (execute, fetch, close, commit …) on a thread of
its own and hands the result back through the event loop. A SQLite call on a local file
takes microseconds; that hand-off costs a hundred times more, a dozen times per unit of
work, and it was most of the time a Sync round trip took. Here the same calls run where
they are made, on the event loop's thread: each is an awaitable that is already done, so
SQLAlchemy's async adapter (which speaks aiosqlite's interface) drives it unchanged.

Why blocking the loop is safe here: a unit of work of `SqlStore` awaits nothing but its own
statements, so it now runs from its ``BEGIN`` to its ``COMMIT`` without the loop running
anything else in between; the writers of this process never wait for each other on the
file's lock. Readers never wait in WAL mode. What remains is another process writing the
same file (a CLI command, a migration): the busy timeout then holds the loop as long as
that writer holds the lock, which is as long as it would have delayed the answer anyway.
"""
from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Sequence
from typing import Any


class Cursor:
    """aiosqlite's cursor interface over a `sqlite3.Cursor`, run in place."""

    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor

    async def __aenter__(self) -> Cursor:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self._cursor.close()

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value

    async def execute(self, sql: str, parameters: Sequence[Any] | dict | None = None) -> Cursor:
        self._cursor.execute(sql, () if parameters is None else parameters)
        return self

    async def executemany(self, sql: str, parameters: Iterable[Any]) -> Cursor:
        self._cursor.executemany(sql, parameters)
        return self

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        return self._cursor.fetchmany(self._cursor.arraysize if size is None else size)

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def close(self) -> None:
        self._cursor.close()

    def __aiter__(self) -> Cursor:
        return self

    async def __anext__(self) -> Any:
        row = self._cursor.fetchone()
        if row is None:
            raise StopAsyncIteration
        return row


class _CursorOpener:
    """What ``connection.cursor()`` returns in aiosqlite: awaitable, and an async context."""

    def __init__(self, make: Callable[[], Cursor]) -> None:
        self._make = make

    def __await__(self):  # type: ignore[no-untyped-def]
        return self._opened().__await__()

    async def _opened(self) -> Cursor:
        return self._make()

    async def __aenter__(self) -> Cursor:
        self._cursor = self._make()
        return self._cursor

    async def __aexit__(self, *exc_info: object) -> None:
        await self._cursor.close()


class Connection:
    """aiosqlite's connection interface over a `sqlite3.Connection`, run in place."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection: sqlite3.Connection | None = connection

    @property
    def _conn(self) -> sqlite3.Connection:
        if self._connection is None:
            raise ValueError("no active connection")
        return self._connection

    def cursor(self) -> _CursorOpener:
        return _CursorOpener(lambda: Cursor(self._conn.cursor()))

    async def execute(self, sql: str, parameters: Sequence[Any] | dict | None = None) -> Cursor:
        return await Cursor(self._conn.cursor()).execute(sql, parameters)

    async def commit(self) -> None:
        self._conn.commit()

    async def rollback(self) -> None:
        self._conn.rollback()

    async def close(self) -> None:
        if self._connection is not None:
            connection, self._connection = self._connection, None
            connection.close()

    def stop(self) -> None:
        """Close at once (SQLAlchemy's terminate)."""
        if self._connection is not None:
            connection, self._connection = self._connection, None
            connection.close()

    async def create_function(self, name: str, num_params: int, func: Callable[..., Any],
                              deterministic: bool = False) -> None:
        self._conn.create_function(name, num_params, func, deterministic=deterministic)

    @property
    def isolation_level(self) -> str | None:
        return self._conn.isolation_level

    @isolation_level.setter
    def isolation_level(self, value: str | None) -> None:
        self._conn.isolation_level = value

    @property
    def in_transaction(self) -> bool:
        return self._conn.in_transaction

    @property
    def total_changes(self) -> int:
        return self._conn.total_changes


async def connect(database: str, **options: Any) -> Connection:
    """An open connection (``sqlite3.connect``'s options) in autocommit mode: the engine
    issues ``BEGIN`` itself (store/engine.py). Only the loop's thread uses it, but SQLAlchemy
    may close a pooled connection from the garbage collector, wherever that runs."""
    return Connection(sqlite3.connect(database, isolation_level=None, check_same_thread=False,
                                      **options))
