"""FolderSync (MS-ASCMD 2.2.1.5): the folder hierarchy, as the changes since the client's
SyncKey (everything for key 0). A quarantined device gets the whole hierarchy too (SPEC §7),
so it can show its folders; only their content is held back. Of two overlapping FolderSyncs
of one device, the slower answers Status 6 (server error: the client tries again, and its
resent key names the state the faster one stored)."""
from __future__ import annotations

from lxml import etree

from gateway.commands.base import CommandContext, CommandResult
from gateway.sync import hierarchy
from gateway.synckeys import InvalidSyncKey
from protocol.status import FolderSyncStatus
from protocol.xml import E, sub, text
from store.api import Conflict


async def handle(ctx: CommandContext) -> CommandResult:
    document = ctx.document
    if document is None or document.tag != "{FolderHierarchy:}FolderSync":
        return _status(FolderSyncStatus.MALFORMED_REQUEST)
    sync_key = text(document, "FolderHierarchy:SyncKey")
    if sync_key is None:
        return _status(FolderSyncStatus.MALFORMED_REQUEST)
    store = ctx.services.store
    try:
        known = await hierarchy.known(store, ctx.device.id, sync_key)
    except InvalidSyncKey:
        return _status(FolderSyncStatus.INVALID_SYNC_KEY)
    folders = await ctx.mailbox.folders()
    changes = hierarchy.diff(known.snapshot, folders)
    if changes or known.key is None:
        try:
            key = await hierarchy.save(store, ctx.device.id, known,
                                       hierarchy.snapshot_of(folders))
        except Conflict:  # an overlapping request of the device stored a state first
            return _status(FolderSyncStatus.SERVER_ERROR)
    else:
        key = known.key
    root = E("FolderHierarchy:FolderSync")
    sub(root, "FolderHierarchy:Status", int(FolderSyncStatus.SUCCESS))
    sub(root, "FolderHierarchy:SyncKey", str(key))
    root.append(_changes(changes))
    return CommandResult(root)


def _changes(changes: hierarchy.HierarchyDiff) -> etree._Element:
    element = E("FolderHierarchy:Changes")
    sub(element, "FolderHierarchy:Count",
        len(changes.added) + len(changes.updated) + len(changes.deleted))
    for tag, folders in (("Update", changes.updated), ("Add", changes.added)):
        for folder in folders:
            entry = sub(element, f"FolderHierarchy:{tag}")
            sub(entry, "FolderHierarchy:ServerId", folder.id)
            sub(entry, "FolderHierarchy:ParentId", folder.parent_id)
            sub(entry, "FolderHierarchy:DisplayName", folder.name)
            sub(entry, "FolderHierarchy:Type", int(folder.type))
    for server_id in changes.deleted:
        entry = sub(element, "FolderHierarchy:Delete")
        sub(entry, "FolderHierarchy:ServerId", server_id)
    return element


def _status(status: int) -> CommandResult:
    root = E("FolderHierarchy:FolderSync")
    sub(root, "FolderHierarchy:Status", int(status))
    return CommandResult(root)
