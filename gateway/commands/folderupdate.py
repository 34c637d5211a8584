"""FolderUpdate (MS-ASCMD 2.2.1.6): rename a user folder or move it under another parent."""
from __future__ import annotations

from gateway.commands.base import CommandContext, CommandResult
from gateway.sync import folder_commands
from gateway.sync.folder_commands import (
    DEFAULT_TYPES,
    SERVER_ERROR,
    Done,
    FolderCommand,
    FolderRefused,
)
from store.api import Conflict, NotFound, StoreError

ALREADY_EXISTS, SPECIAL_FOLDER, NOT_FOUND, PARENT_NOT_FOUND = 2, 3, 4, 5


async def handle(ctx: CommandContext) -> CommandResult:
    return await folder_commands.run(ctx, "FolderUpdate", _update)


async def _update(command: FolderCommand) -> Done:
    ctx = command.ctx
    folder = await ctx.mailbox.folder(command.required("ServerId"))
    if folder is None:
        raise FolderRefused(NOT_FOUND)
    if int(folder.type) in DEFAULT_TYPES:
        raise FolderRefused(SPECIAL_FOLDER)
    parent_id = command.field("ParentId") or folder.parent_id
    name = command.field("DisplayName") or folder.name
    if parent_id != "0" and await ctx.mailbox.folder(parent_id) is None:
        raise FolderRefused(PARENT_NOT_FOUND)
    try:
        updated = await ctx.services.store.update_folder(ctx.user.id, folder.id, name=name,
                                                         parent_id=parent_id)
    except Conflict:
        raise FolderRefused(ALREADY_EXISTS) from None
    except NotFound:
        raise FolderRefused(NOT_FOUND) from None
    except StoreError:
        raise FolderRefused(SERVER_ERROR) from None
    return Done([], {updated.id: [updated.parent_id, updated.name, int(updated.type)]})
