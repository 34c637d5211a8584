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

from dataclasses import dataclass
from typing import Literal

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from store.api import NotFound
from store.models import ItemRow, TombstoneRow, UserRow


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
    row: ItemRow | None  # None for deletes


def _origin_filter(column, exclude_origin: int | None):  # type: ignore[no-untyped-def]
    if exclude_origin is None:
        return True
    return or_(column.is_(None), column != exclude_origin)


def _item_query(folder_pk: int, after: int, exclude_origin: int | None):  # type: ignore[no-untyped-def]
    return select(ItemRow).where(
        ItemRow.folder_pk == folder_pk,
        ItemRow.modseq > after,
        _origin_filter(ItemRow.origin, exclude_origin),
    )


def _tombstone_query(folder_pk: int, after: int, exclude_origin: int | None):  # type: ignore[no-untyped-def]
    # An item created and deleted after `after` was never seen: its tombstone is no change.
    return select(TombstoneRow).where(
        TombstoneRow.folder_pk == folder_pk,
        TombstoneRow.modseq > after,
        TombstoneRow.created_modseq <= after,
        _origin_filter(TombstoneRow.origin, exclude_origin),
    )


async def read_log(
    session: AsyncSession, folder_pk: int, after: int, limit: int, exclude_origin: int | None
) -> list[LogEntry]:
    """Up to ``limit + 1`` entries after ``after``, oldest first (the extra one tells the
    caller that more are available)."""
    items = await session.scalars(
        _item_query(folder_pk, after, exclude_origin).order_by(ItemRow.modseq).limit(limit + 1)
    )
    tombstones = await session.scalars(
        _tombstone_query(folder_pk, after, exclude_origin)
        .order_by(TombstoneRow.modseq)
        .limit(limit + 1)
    )
    entries = [
        LogEntry("add" if row.created_modseq > after else "change", row.server_id, row.modseq, row)
        for row in items
    ]
    entries += [LogEntry("delete", t.server_id, t.modseq, None) for t in tombstones]
    entries.sort(key=lambda e: e.modseq)
    return entries[: limit + 1]


async def count_log(
    session: AsyncSession, folder_pk: int, after: int, exclude_origin: int | None
) -> int:
    items = _item_query(folder_pk, after, exclude_origin).with_only_columns(func.count())
    tombstones = _tombstone_query(folder_pk, after, exclude_origin).with_only_columns(func.count())
    return (await session.scalar(items) or 0) + (await session.scalar(tombstones) or 0)
