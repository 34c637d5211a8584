"""The mailbox as one device may see it now (SPEC §7).

Every command that reads items goes through a `MailboxView`, built per request by the
dispatcher. An allowed device sees the whole mailbox. A quarantined device sees only its
notice, wherever the notice lies; everything else is invisible and its uploads are refused.

A collection's progress is a `Cursor`: the store position the device has been brought up
to, plus the ids it holds that lie *ahead* of that position (the notice, delivered while the
position stayed frozen by the quarantine). The position never moves while the device is
quarantined, so on release the same SyncKeys deliver every unseen item as an ``add``; an
``add`` of an item the device already holds is sent as a ``change``, and an item it holds
that has gone (the notice removed at the end of the quarantine) is sent as a ``delete``.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from store.api import NotFound, Store
from store.types import Change, Device, Folder, Item, SyncState, User

if TYPE_CHECKING:
    from gateway.services import Services

# Decides whether an item belongs in the device's window (FilterType); None keeps all.
ItemFilter = Callable[[Item], bool] | None

_PAGE = 200  # store page size when filtering hides items


@dataclass(frozen=True)
class Cursor:
    position: int
    ahead: frozenset[str] = frozenset()

    @classmethod
    def from_data(cls, position: int, data: dict) -> Cursor:
        return cls(position, frozenset(data.get("ahead", ())))

    def to_data(self) -> dict:
        return {"ahead": sorted(self.ahead)}


@dataclass
class ViewPage:
    changes: list[Change]
    cursor: Cursor
    more_available: bool = False


@dataclass
class MailboxView:
    store: Store
    user: User
    # The device's key and the two things of its record a view reads, not the record: a
    # held Ping keeps its view, and a record is a KiB of strings.
    device_pk: int
    quarantined: bool
    notice_server_id: str | None
    _folders: dict[str, Folder] | None = field(default=None, repr=False)

    @classmethod
    async def load(cls, services: Services, user: User, device: Device) -> MailboxView:
        return cls.for_device(services.store, user, device)

    @classmethod
    def for_device(cls, store: Store, user: User, device: Device) -> MailboxView:
        return cls(
            store=store,
            user=user,
            device_pk=device.id,
            quarantined=device.state == "quarantined",
            notice_server_id=device.notice_server_id,
        )

    # --- what may be seen and touched -------------------------------------------------
    def can_see(self, server_id: str) -> bool:
        return not self.quarantined or server_id == self.notice_server_id

    def accepts_upload(self, server_id: str | None = None) -> bool:
        """Whether a client write may be kept: always when allowed; while quarantined only
        reading, flagging, moving or deleting the notice (SPEC §7)."""
        return not self.quarantined or (server_id is not None and server_id == self.notice_server_id)

    @property
    def origin(self) -> int:
        """The origin to stamp on this device's writes (they are not echoed back to it)."""
        return self.device_pk

    # --- folders ----------------------------------------------------------------------
    async def folders(self) -> list[Folder]:
        """The whole hierarchy: even a quarantined device sees its folders."""
        if self._folders is None:
            self._folders = {f.id: f for f in await self.store.list_folders(self.user.id)}
        return list(self._folders.values())

    async def folder(self, folder_id: str) -> Folder | None:
        """The folder with this id in this user's mailbox, None when there is none."""
        if self._folders is not None:
            return self._folders.get(folder_id)
        try:
            return await self.store.get_folder(self.user.id, folder_id)
        except NotFound:
            return None

    async def folder_with_state(self, folder_id: str) -> tuple[Folder | None, SyncState | None]:
        """The folder (as `folder`) and this device's sync state of it, read together."""
        if self._folders is not None:
            folder = self._folders.get(folder_id)
            if folder is None:
                return None, None
            return folder, await self.store.get_sync_state(self.device_pk, folder_id)
        try:
            return await self.store.get_folder_and_sync_state(self.user.id, self.device_pk,
                                                              folder_id)
        except NotFound:
            return None, None

    # --- items ------------------------------------------------------------------------
    async def get_item(self, server_id: str) -> Item | None:
        """The item if it exists and the device may see it."""
        if not self.can_see(server_id):
            return None
        try:
            return await self.store.get_item(self.user.id, server_id)
        except NotFound:
            return None

    async def changes(
        self, folder_id: str, cursor: Cursor, limit: int, keep: ItemFilter = None
    ) -> ViewPage:
        """Up to ``limit`` changes of a collection the device has not seen, oldest first,
        and the cursor to store once the device has them."""
        if self.quarantined:
            return await self._quarantined_changes(folder_id, cursor)
        return await self._allowed_changes(folder_id, cursor, limit, keep)

    async def count_changes(self, folder_id: str, cursor: Cursor, keep: ItemFilter = None) -> int:
        """How many changes `changes` would deliver in all (GetItemEstimate)."""
        if self.quarantined:
            return len((await self._quarantined_changes(folder_id, cursor)).changes)
        if keep is None:
            gone = await self._vanished(folder_id, cursor.ahead, cursor.position)
            counted = await self.store.count_changes_since(
                self.user.id, folder_id, cursor.position, exclude_origin=self.origin
            )
            return len(gone[0]) + counted
        total, more = 0, True
        while more:
            page = await self._allowed_changes(folder_id, cursor, _PAGE, keep)
            total += len(page.changes)
            cursor, more = page.cursor, page.more_available
        return total

    async def has_changes(self, folder_id: str, cursor: Cursor) -> bool:
        """Whether a Sync of the collection would deliver anything now (Ping)."""
        if self.quarantined:
            return bool((await self._quarantined_changes(folder_id, cursor)).changes)
        if (await self._vanished(folder_id, cursor.ahead, cursor.position))[0]:
            return True
        return await self.store.count_changes_since(
            self.user.id, folder_id, cursor.position, exclude_origin=self.origin
        ) > 0

    # --- the two views ----------------------------------------------------------------
    async def _allowed_changes(
        self, folder_id: str, cursor: Cursor, limit: int, keep: ItemFilter
    ) -> ViewPage:
        deleted, ahead = await self._vanished(folder_id, cursor.ahead, cursor.position)
        changes: list[Change] = [Change("delete", sid, 0, None) for sid in deleted[:limit]]
        ahead |= set(deleted[limit:])  # not yet told: keep them for the next page
        position, more = cursor.position, False
        while len(changes) < limit:
            page = await self.store.changes_since(
                self.user.id, folder_id, position, limit=limit - len(changes),
                exclude_origin=self.origin,
            )
            for change in page.changes:
                if change.item is not None and keep is not None and not keep(change.item):
                    continue
                if change.kind == "add" and change.server_id in ahead:
                    change = Change("change", change.server_id, change.modseq, change.item)
                ahead.discard(change.server_id)
                changes.append(change)
            position, more = page.position, page.more_available
            if not more:
                break
        return ViewPage(changes, Cursor(position, frozenset(ahead)), more or bool(deleted[limit:]))

    async def _vanished(
        self, folder_id: str, ahead: Iterable[str], position: int
    ) -> tuple[list[str], set[str]]:
        """Of the items held ahead of the position: those gone from the folder (to be sent
        as deletes) and those still to be tracked."""
        gone: list[str] = []
        still: set[str] = set()
        for server_id in sorted(ahead):
            try:
                item = await self.store.get_item(self.user.id, server_id)
            except NotFound:
                gone.append(server_id)
                continue
            if item.folder_id != folder_id:
                gone.append(server_id)
            elif item.created_modseq > position:
                still.add(server_id)  # its add is still ahead in the log
        return gone, still

    async def _quarantined_changes(self, folder_id: str, cursor: Cursor) -> ViewPage:
        """Only the notice: an add when it appears in the folder, a delete when it leaves;
        the position stays where it was."""
        notice = await self._notice_in(folder_id)
        changes: list[Change] = []
        ahead = set(cursor.ahead)
        for server_id in sorted(cursor.ahead):
            if notice is None or server_id != notice.server_id:
                changes.append(Change("delete", server_id, 0, None))
                ahead.discard(server_id)
        if notice is not None and notice.server_id not in ahead:
            changes.append(Change("add", notice.server_id, notice.modseq, notice))
            ahead.add(notice.server_id)
        return ViewPage(changes, Cursor(cursor.position, frozenset(ahead)))

    async def _notice_in(self, folder_id: str) -> Item | None:
        if self.notice_server_id is None:
            return None
        try:
            notice = await self.store.get_item(self.user.id, self.notice_server_id)
        except NotFound:
            return None
        return notice if notice.folder_id == folder_id else None
