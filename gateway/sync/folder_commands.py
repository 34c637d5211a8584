"""What FolderCreate, FolderUpdate and FolderDelete share: the SyncKey check, the statuses
a store error maps to, and moving the device's hierarchy snapshot on with its own change.

The hierarchy key must be the current one (or the previous one, for a resend); a folder
change while the device is quarantined is refused with Status 6 and kept nowhere (our
decision, as for item uploads in SPEC §7). A request sent again after its change was made
(its answer lost, or the resend overlapping the first) is answered as the change was,
Status 1 with the key it made, rather than "already exists" or "not found"
(`AlreadyMade`)."""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from lxml import etree

from gateway.commands.base import CommandContext, CommandResult
from gateway.sync import hierarchy
from gateway.synckeys import InvalidSyncKey, SyncKey
from protocol.xml import E, sub, text
from store.api import Conflict
from store.sql import DEFAULT_FOLDERS
from store.types import Folder

SERVER_ERROR, INVALID_SYNC_KEY, MALFORMED = 6, 9, 10
# FolderUpdate and FolderDelete statuses (FolderCreate's 3 and 5 mean the same).
SPECIAL_FOLDER, NOT_FOUND, PARENT_NOT_FOUND = 3, 4, 5
DEFAULT_TYPES = frozenset(int(t) for t, _ in DEFAULT_FOLDERS)


class FolderRefused(Exception):
    """The change is refused with this command Status."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


class AlreadyMade(Exception):
    """This request's change is the one an earlier sending of it made: answer Status 1
    with the key that change made (and, for FolderCreate, the folder's ServerId)."""

    def __init__(self, key: SyncKey, elements: list[etree._Element] | None = None) -> None:
        super().__init__(str(key))
        self.key = key
        self.elements = elements or []


@dataclass
class FolderCommand:
    tag: str  # "FolderCreate", "FolderUpdate", "FolderDelete"
    ctx: CommandContext

    def field(self, name: str) -> str | None:
        assert self.ctx.document is not None
        value = text(self.ctx.document, f"FolderHierarchy:{name}")
        return value.strip() if value is not None else None

    def required(self, name: str) -> str:
        value = self.field(name)
        if not value:
            raise FolderRefused(MALFORMED)
        return value

    async def user_folder(self) -> Folder:
        """The folder ``ServerId`` names, when it is one the user made: Status 4 when the
        device cannot see it, 3 for a default folder, which cannot be renamed or deleted."""
        folder = await self.ctx.mailbox.folder(self.required("ServerId"))
        if folder is None:
            raise FolderRefused(NOT_FOUND)
        if int(folder.type) in DEFAULT_TYPES:
            raise FolderRefused(SPECIAL_FOLDER)
        return folder

    async def last_change(self) -> hierarchy.LastChange | None:
        """The change the device's last folder command made, when it was made from the key
        this request names (see `hierarchy.last_change_from`)."""
        return await hierarchy.last_change_from(self.ctx.services.store, self.ctx.device.id,
                                                self.required("SyncKey"))

    async def require_parent(self, parent_id: str) -> None:
        """Status 5 unless ``parent_id`` is the root ("0") or a folder the device can see."""
        if parent_id != "0" and await self.ctx.mailbox.folder(parent_id) is None:
            raise FolderRefused(PARENT_NOT_FOUND)


@dataclass
class Done:
    """What a folder change did: extra answer elements (FolderCreate's ServerId) and the
    folders it touched, as snapshot entries (None for a removed folder)."""

    elements: list[etree._Element]
    touched: dict[str, list | None]


Change = Callable[[FolderCommand], Awaitable[Done]]


async def run(ctx: CommandContext, tag: str, change: Change) -> CommandResult:
    """Check the request, run ``change``, then move the hierarchy snapshot on with what it
    did and answer Status 1 with the new key."""
    command = FolderCommand(tag, ctx)
    try:
        if ctx.document is None or ctx.document.tag != f"{{FolderHierarchy:}}{tag}":
            raise FolderRefused(MALFORMED)
        try:
            known = await hierarchy.known(ctx.services.store, ctx.device.id,
                                          command.required("SyncKey"))
        except InvalidSyncKey:
            raise FolderRefused(INVALID_SYNC_KEY) from None
        if known.key is None:
            raise FolderRefused(INVALID_SYNC_KEY)  # key 0 is for FolderSync only
        if ctx.mailbox.quarantined:
            raise FolderRefused(SERVER_ERROR)
        done = await change(command)
    except FolderRefused as refused:
        return answer(tag, refused.status)
    except AlreadyMade as made:
        return answer(tag, 1, str(made.key), made.elements)
    snapshot = _apply(known.snapshot, done.touched)
    try:
        key = await hierarchy.save(ctx.services.store, ctx.device.id, known, snapshot)
    except Conflict:  # an overlapping request of the device moved the hierarchy key on
        return answer(tag, SERVER_ERROR)  # the change is made; the next FolderSync shows it
    return answer(tag, 1, str(key), done.elements)


def _apply(snapshot: hierarchy.Snapshot, touched: dict[str, list | None]) -> hierarchy.Snapshot:
    """The client's snapshot with its own change applied, and nothing else: other changes
    still reach it through FolderSync. A removed folder takes its known subfolders along."""
    result = dict(snapshot)
    for server_id, entry in touched.items():
        if entry is not None:
            result[server_id] = entry
            continue
        doomed = {server_id}
        while True:
            below = {fid for fid, e in result.items() if e[0] in doomed} - doomed
            if not below:
                break
            doomed |= below
        for fid in doomed:
            result.pop(fid, None)
    return result


def answer(tag: str, status: int, key: str | None = None,
           extra: list[etree._Element] | None = None) -> CommandResult:
    root = E(f"FolderHierarchy:{tag}")
    sub(root, "FolderHierarchy:Status", int(status))
    if key is not None:
        sub(root, "FolderHierarchy:SyncKey", key)
    root.extend(extra or [])
    return CommandResult(root)
