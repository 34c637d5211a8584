"""FolderUpdate (MS-ASCMD 2.2.1.6): rename a user folder or move it under another parent."""
from __future__ import annotations

from gateway.commands.base import CommandContext, CommandResult
from gateway.sync import folder_commands
from gateway.sync.folder_commands import (
    NOT_FOUND,
    SERVER_ERROR,
    Done,
    FolderCommand,
    FolderRefused,
)
from store.api import Conflict, NotFound, StoreError

ALREADY_EXISTS = 2


async def handle(ctx: CommandContext) -> CommandResult:
    return await folder_commands.run(ctx, "FolderUpdate", _update)


async def _update(command: FolderCommand) -> Done:
    ctx = command.ctx
    folder = await command.user_folder()
    parent_id = command.field("ParentId") or folder.parent_id
    name = command.field("DisplayName") or folder.name
    await command.require_parent(parent_id)
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
