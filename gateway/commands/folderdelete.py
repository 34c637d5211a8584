"""FolderDelete (MS-ASCMD 2.2.1.4): delete a user folder with its subfolders and items."""
from __future__ import annotations

from gateway.commands.base import CommandContext, CommandResult
from gateway.sync import folder_commands
from gateway.sync.folder_commands import (
    NOT_FOUND,
    SERVER_ERROR,
    AlreadyMade,
    Done,
    FolderCommand,
    FolderRefused,
)
from store.api import Conflict, NotFound, StoreError


async def handle(ctx: CommandContext) -> CommandResult:
    return await folder_commands.run(ctx, "FolderDelete", _delete)


async def _delete(command: FolderCommand) -> Done:
    ctx = command.ctx
    try:
        folder = await command.user_folder()
    except FolderRefused as refused:
        if refused.status == NOT_FOUND:
            await _deleted_before(command)
        raise
    store = ctx.services.store
    try:
        await store.delete_folder(ctx.user.id, folder.id)
    except NotFound:
        raise FolderRefused(NOT_FOUND) from None
    except (Conflict, StoreError):
        raise FolderRefused(SERVER_ERROR) from None
    await store.delete_sync_states(ctx.device.id, folder.id)
    return Done([], {folder.id: None})


async def _deleted_before(command: FolderCommand) -> None:
    """AlreadyMade when the folder is gone because this request deleted it when it was
    sent before (its answer lost)."""
    server_id = command.required("ServerId")
    last = await command.last_change()
    if last is not None and server_id in last.before and server_id not in last.after:
        raise AlreadyMade(last.key)
