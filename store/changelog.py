"""The per-mailbox modification sequence and the per-folder change log built on it.

Every item write takes the next position(s) of its mailbox's sequence (the ``modseq`` of the
user row), and stamps the item (or the tombstone it leaves) with it. Taking a position is an
``UPDATE … RETURNING`` on that one row: PostgreSQL holds the row lock until commit, so two
writers to one mailbox run one after the other and commit in position order; SQLite runs one
writer at a time anyway. A reader therefore never sees position n+1 without n.

A folder's changes after position p are the items with ``modseq > p`` plus the tombstones
with ``modseq > p`` whose item existed at p; both are range scans of an index on
(folder, modseq), so the cost follows the number of changes, not the folder's size.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import Row, bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from store.api import NotFound
from store.models import ItemRow, TombstoneRow, UserRow
from store.queries import not_from
from store.types import Change, ChangePage, Item


async def allocate(session: AsyncSession, user_id: int, count: int = 1) -> int:
    """Take ``count`` consecutive positions of the mailbox; returns the first. Holds the
    mailbox's write lock until the transaction ends."""
    result = await session.execute(
        update(UserRow)
        .where(UserRow.id == user_id)
        .values(modseq=UserRow.modseq + count)
        .returning(UserRow.modseq)
        .execution_options(synchronize_session=False)
    )
    last = result.scalar_one_or_none()
    if last is None:
        raise NotFound(f"no user with id {user_id}")
    return last - count + 1


async def lock_mailbox(session: AsyncSession, user_id: int) -> None:
    """Take the mailbox's write lock (until the transaction ends) without a position, for a
    write that must read before it knows how many positions it needs."""
    await allocate(session, user_id, 0)


@dataclass(frozen=True)
class LogEntry:
    kind: Literal["add", "change", "delete"]
    server_id: str
    modseq: int
    row: Row | None  # the item's row (columns of the items table); None for deletes


_items = ItemRow.__table__
_tombstones = TombstoneRow.__table__


def _item_conditions(excluding: bool) -> list:  # type: ignore[type-arg]
    conditions = [_items.c.folder_pk == bindparam("folder_pk"), _items.c.modseq > bindparam("after")]
    return conditions + [not_from(_items.c.origin)] if excluding else conditions


def _tombstone_conditions(excluding: bool) -> list:  # type: ignore[type-arg]
    # An item created and deleted after `after` was never seen: its tombstone is no change.
    conditions = [_tombstones.c.folder_pk == bindparam("folder_pk"),
                  _tombstones.c.modseq > bindparam("after"),
                  _tombstones.c.created_modseq <= bindparam("after")]
    return conditions + [not_from(_tombstones.c.origin)] if excluding else conditions


# Built once (queries.py says why), keyed by whether an origin is excluded. Parameters:
# folder_pk, after, origin (when excluded), limit (the page queries). SQLAlchemy runs them
# on PostgreSQL, store/sqlite_direct.py on SQLite.
ITEM_PAGE = {excluding: select(_items).where(*_item_conditions(excluding))
             .order_by(_items.c.modseq).limit(bindparam("limit"))
             for excluding in (False, True)}
TOMBSTONE_PAGE = {excluding: select(_tombstones.c.server_id, _tombstones.c.modseq)
                  .where(*_tombstone_conditions(excluding))
                  .order_by(_tombstones.c.modseq).limit(bindparam("limit"))
                  for excluding in (False, True)}
ITEM_COUNT = {excluding: select(func.count()).select_from(_items)
              .where(*_item_conditions(excluding)) for excluding in (False, True)}
TOMBSTONE_COUNT = {excluding: select(func.count()).select_from(_tombstones)
                   .where(*_tombstone_conditions(excluding)) for excluding in (False, True)}


def log_parameters(folder_pk: int, after: int, exclude_origin: int | None, **more: int) -> dict:
    parameters = {"folder_pk": folder_pk, "after": after, **more}
    if exclude_origin is not None:
        parameters["origin"] = exclude_origin
    return parameters


def page_parameters(folder_pk: int, after: int, limit: int, exclude_origin: int | None) -> dict:
    """The parameters of the page queries: one row more than the page, which tells the
    caller that more are available."""
    return log_parameters(folder_pk, after, exclude_origin, limit=limit + 1)


def log_entries(item_rows: Iterable, tombstone_rows: Iterable, after: int, limit: int
                ) -> list[LogEntry]:
    """The rows of the two page queries as up to ``limit + 1`` entries, oldest first."""
    entries = [
        LogEntry("add" if row.created_modseq > after else "change", row.server_id, row.modseq, row)
        for row in item_rows
    ]
    entries += [LogEntry("delete", t.server_id, t.modseq, None) for t in tombstone_rows]
    entries.sort(key=lambda e: e.modseq)
    return entries[: limit + 1]


def change_page(entries: list[LogEntry], items: Iterable[Item], folder_position: int,
                after: int, limit: int) -> ChangePage:
    """The page a reader gets from the entries of `log_entries` and their items."""
    more = len(entries) > limit
    entries = entries[:limit]
    by_id = {item.server_id: item for item in items}
    changes = [Change(e.kind, e.server_id, e.modseq, by_id.get(e.server_id)) for e in entries]
    # With nothing left, the folder's own position passes excluded writes too.
    position = entries[-1].modseq if more else max(folder_position, after)
    return ChangePage(changes=changes, position=position, more_available=more)


async def read_log(
    session: AsyncSession | AsyncConnection, folder_pk: int, after: int, limit: int,
    exclude_origin: int | None,
) -> list[LogEntry]:
    """Up to ``limit + 1`` entries after ``after``, oldest first (the extra one tells the
    caller that more are available)."""
    excluding = exclude_origin is not None
    parameters = page_parameters(folder_pk, after, limit, exclude_origin)
    items = await session.execute(ITEM_PAGE[excluding], parameters)
    tombstones = await session.execute(TOMBSTONE_PAGE[excluding], parameters)
    return log_entries(items, tombstones, after, limit)


async def count_log(
    session: AsyncSession | AsyncConnection, folder_pk: int, after: int,
    exclude_origin: int | None,
) -> int:
    excluding = exclude_origin is not None
    parameters = log_parameters(folder_pk, after, exclude_origin)
    return ((await session.scalar(ITEM_COUNT[excluding], parameters) or 0)
            + (await session.scalar(TOMBSTONE_COUNT[excluding], parameters) or 0))
