"""FolderDelete (MS-ASCMD 2.2.1.4): delete a user folder with its subfolders and items."""
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

SPECIAL_FOLDER, NOT_FOUND = 3, 4


async def handle(ctx: CommandContext) -> CommandResult:
    return await folder_commands.run(ctx, "FolderDelete", _delete)


async def _delete(command: FolderCommand) -> Done:
    ctx = command.ctx
    folder = await ctx.mailbox.folder(command.required("ServerId"))
    if folder is None:
        raise FolderRefused(NOT_FOUND)
    if int(folder.type) in DEFAULT_TYPES:
        raise FolderRefused(SPECIAL_FOLDER)
    store = ctx.services.store
    try:
        await store.delete_folder(ctx.user.id, folder.id)
    except NotFound:
        raise FolderRefused(NOT_FOUND) from None
    except (Conflict, StoreError):
        raise FolderRefused(SERVER_ERROR) from None
    await store.delete_sync_states(ctx.device.id, folder.id)
    return Done([], {folder.id: None})
