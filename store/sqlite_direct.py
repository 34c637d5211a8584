"""The statements of every Sync, and the folder list every Ping reads, run on SQLite
without SQLAlchemy's execution machinery.

A one-change Sync reads its device, its folder and sync state and a page of the change log,
and writes its new sync state: a dozen statements. Through the async engine each one costs
the adapter's greenlet hand-off, an execution context, a cache lookup and the result
machinery, some 50-100 µs of CPU; SQLite itself answers in a few. Here the same Core
statements (store/queries.py, store/changelog.py) are compiled once for SQLite and run on
a plain sqlite3 connection, in place on the event loop as store/sqlite_inline.py runs the
engine's own. Parameters and columns go through the conversions of their SQLAlchemy types
(JSON, UTC datetimes), so the values are those the engine would give.

One connection serves every request: each unit of work here runs from its first statement
to its ``COMMIT`` without awaiting anything, so the loop runs nothing else in between. A
read of one statement needs no ``BEGIN`` (SQLite gives one statement one snapshot); a read
of several is one transaction, so another process's commit cannot fall between them. The
write takes `SqlStore`'s write lock first, as the engine's writers do.
"""
from __future__ import annotations

import sqlite3
from collections import namedtuple
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy.dialects.sqlite.aiosqlite import SQLiteDialect_aiosqlite
from sqlalchemy.sql import ClauseElement

from store import convert, queries
from store.api import Conflict, NotFound
from store.changelog import (
    ITEM_COUNT,
    ITEM_PAGE,
    TOMBSTONE_COUNT,
    TOMBSTONE_PAGE,
    change_page,
    log_entries,
    log_parameters,
    page_parameters,
)
from store.types import Attachment, ChangePage, Device, Folder, Item, SyncState

_DIALECT = SQLiteDialect_aiosqlite()
_IN_LIST_CHUNK = 1000  # ids per attachments query (an IN list of a sane size)


class Statement:
    """A Core statement compiled once for SQLite: its SQL, its parameters in order with
    their types' conversions, and a row type naming its columns, values converted."""

    def __init__(self, statement: ClauseElement) -> None:
        compiled = statement.compile(dialect=_DIALECT)
        self.sql = compiled.string
        self._parameters = [self._parameter(compiled.binds[name])
                            for name in compiled.positiontup or ()]
        columns = list(getattr(statement, "selected_columns", ()))
        self._row = namedtuple("Row", [c.name for c in columns], rename=True)  # type: ignore[misc]
        self._conversions = [(index, converter) for index, column in enumerate(columns)
                             if (converter := _result_conversion(column)) is not None]

    @staticmethod
    def _parameter(bind: Any) -> tuple[str, Any, Callable | None]:
        converter = bind.type.dialect_impl(_DIALECT).bind_processor(_DIALECT)
        default = bind.effective_value if not bind.required else _REQUIRED
        return bind.key, default, converter

    def arguments(self, values: dict[str, Any]) -> list[Any]:
        arguments = []
        for name, default, converter in self._parameters:
            value = values.get(name, default)
            if value is _REQUIRED:
                raise KeyError(f"no value for parameter {name!r}")
            arguments.append(converter(value) if converter is not None else value)
        return arguments

    def row(self, values: Sequence[Any]) -> Any:
        if self._conversions:
            values = list(values)
            for index, converter in self._conversions:
                values[index] = converter(values[index])
        return self._row._make(values)


_REQUIRED = object()


def _result_conversion(column: Any) -> Callable | None:
    return column.type.dialect_impl(_DIALECT).result_processor(_DIALECT, None)


# The statements, compiled at import.
_DEVICE = Statement(queries.DEVICE)
_DEVICE_BY_PK = Statement(queries.DEVICE_BY_PK)
_DEVICE_EXISTS = Statement(queries.DEVICE_EXISTS)
_FOLDER = Statement(queries.FOLDER)
_FOLDERS = Statement(queries.FOLDERS)
_USER_EXISTS = Statement(queries.USER_EXISTS)
_SYNC_STATE = Statement(queries.SYNC_STATE)
_INSERT_SYNC_STATE = Statement(queries.INSERT_SYNC_STATE)
_UPDATE_SYNC_STATE = Statement(queries.UPDATE_SYNC_STATE)
_ITEM_PAGE = {excluding: Statement(s) for excluding, s in ITEM_PAGE.items()}
_TOMBSTONE_PAGE = {excluding: Statement(s) for excluding, s in TOMBSTONE_PAGE.items()}
_ITEM_COUNT = {excluding: Statement(s) for excluding, s in ITEM_COUNT.items()}
_TOMBSTONE_COUNT = {excluding: Statement(s) for excluding, s in TOMBSTONE_COUNT.items()}
_attachments_of: dict[int, Statement] = {}  # by the number of ids (the IN list's length)


def _attachments_statement(count: int) -> Statement:
    statement = _attachments_of.get(count)
    if statement is None:
        statement = Statement(queries.attachments_of_each(count))
        _attachments_of[count] = statement
    return statement


class SqliteDirect:
    """The hot reads and the hot write of `SqlStore` on one sqlite3 connection of its own."""

    def __init__(self, connect: Callable[[], sqlite3.Connection]) -> None:
        self._connect = connect
        self._connection: sqlite3.Connection | None = None
        self._cursor: sqlite3.Cursor | None = None  # one for every statement: each is read whole

    def close(self) -> None:
        if self._connection is not None:
            connection, self._connection, self._cursor = self._connection, None, None
            connection.close()

    # --- reads ------------------------------------------------------------------------
    def device(self, user_id: int, device_id: str) -> Device | None:
        row = self._one(_DEVICE, {"user_id": user_id, "device_id": device_id})
        return convert.device(row, row.address) if row is not None else None

    def device_by_pk(self, pk: int) -> Device | None:
        row = self._one(_DEVICE_BY_PK, {"pk": pk})
        return convert.device(row, row.address) if row is not None else None

    def folder(self, user_id: int, folder_id: str) -> Folder:
        return convert.folder(self._folder_row(user_id, folder_id))

    def folders(self, user_id: int) -> list[Folder]:
        """Every folder of a mailbox (each Ping reads them to see whether the hierarchy
        moved on)."""
        with self._transaction("BEGIN"):
            if self._one(_USER_EXISTS, {"user_id": user_id}) is None:
                raise NotFound(f"no user with id {user_id}")
            return [convert.folder(row) for row in self._all(_FOLDERS, {"user_id": user_id})]

    def sync_state(self, device_pk: int, collection_id: str) -> SyncState | None:
        row = self._one(_SYNC_STATE, {"device_pk": device_pk, "collection_id": collection_id})
        return convert.sync_state(row) if row is not None else None

    def folder_and_sync_state(self, user_id: int, device_pk: int, folder_id: str
                              ) -> tuple[Folder, SyncState | None]:
        with self._transaction("BEGIN"):
            return self.folder(user_id, folder_id), self.sync_state(device_pk, folder_id)

    def changes_since(self, user_id: int, folder_id: str, after: int, limit: int,
                      exclude_origin: int | None) -> ChangePage:
        excluding = exclude_origin is not None
        with self._transaction("BEGIN"):
            folder = self._folder_row(user_id, folder_id)
            parameters = page_parameters(folder.id, after, limit, exclude_origin)
            entries = log_entries(self._all(_ITEM_PAGE[excluding], parameters),
                                  self._all(_TOMBSTONE_PAGE[excluding], parameters), after, limit)
            items = self._items([e.row for e in entries[:limit] if e.row is not None],
                                folder.folder_id)
        return change_page(entries, items, folder.position, after, limit)

    def count_changes_since(self, user_id: int, folder_id: str, after: int,
                            exclude_origin: int | None) -> int:
        excluding = exclude_origin is not None
        with self._transaction("BEGIN"):
            folder = self._folder_row(user_id, folder_id)
            parameters = log_parameters(folder.id, after, exclude_origin)
            return (self._scalar(_ITEM_COUNT[excluding], parameters)
                    + self._scalar(_TOMBSTONE_COUNT[excluding], parameters))

    # --- the write --------------------------------------------------------------------
    def replace_sync_state(self, state: SyncState, previous: SyncState | None) -> None:
        """As `Store.replace_sync_state`; the caller holds the store's write lock."""
        key = {"device_pk": state.device_pk, "collection_id": state.collection_id}
        with self._transaction("BEGIN IMMEDIATE"):
            row = self._one(_SYNC_STATE, key)
            if (convert.sync_state(row) if row is not None else None) != previous:
                raise Conflict(f"the sync state of collection {state.collection_id!r} changed")
            values = convert.sync_state_values(state)
            if row is not None:
                self._run(_UPDATE_SYNC_STATE, {"b_device_pk": state.device_pk,
                                               "b_collection_id": state.collection_id, **values})
                return
            if self._one(_DEVICE_EXISTS, {"pk": state.device_pk}) is None:
                raise NotFound(f"no device {state.device_pk}")
            # A first write clashing with another on the key: IntegrityError, the caller's
            # Conflict.
            self._run(_INSERT_SYNC_STATE, {**key, **values})

    # --- helpers ----------------------------------------------------------------------
    def _open(self) -> tuple[sqlite3.Connection, sqlite3.Cursor]:
        if self._connection is None or self._cursor is None:  # at first use: the file exists
            self._connection = self._connect()
            self._cursor = self._connection.cursor()
        return self._connection, self._cursor

    @contextmanager
    def _transaction(self, begin: str) -> Iterator[None]:
        connection, cursor = self._open()
        cursor.execute(begin)
        try:
            yield
        except BaseException:
            if connection.in_transaction:
                connection.rollback()
            raise
        connection.commit()

    def _run(self, statement: Statement, values: dict[str, Any]) -> sqlite3.Cursor:
        return self._open()[1].execute(statement.sql, statement.arguments(values))

    def _one(self, statement: Statement, values: dict[str, Any]) -> Any:
        found = self._run(statement, values).fetchone()
        return statement.row(found) if found is not None else None

    def _all(self, statement: Statement, values: dict[str, Any]) -> list[Any]:
        return [statement.row(found) for found in self._run(statement, values).fetchall()]

    def _scalar(self, statement: Statement, values: dict[str, Any]) -> int:
        found = self._run(statement, values).fetchone()
        return (found[0] if found is not None else None) or 0

    def _folder_row(self, user_id: int, folder_id: str) -> Any:
        row = self._one(_FOLDER, {"user_id": user_id, "folder_id": folder_id})
        if row is None:
            raise NotFound(f"no folder {folder_id!r}")
        return row

    def _items(self, rows: list[Any], folder_id: str) -> list[Item]:
        """Item rows of one folder as Items, with their attachments' descriptions."""
        attachments: dict[int, list[Attachment]] = {}
        ids = [row.id for row in rows]
        for start in range(0, len(ids), _IN_LIST_CHUNK):
            chunk = ids[start:start + _IN_LIST_CHUNK]
            statement = _attachments_statement(len(chunk))
            for row in self._all(statement, {f"id{n}": pk for n, pk in enumerate(chunk)}):
                attachments.setdefault(row.item_id, []).append(convert.attachment(row))
        return [convert.item(row, folder_id, attachments.get(row.id, ())) for row in rows]
