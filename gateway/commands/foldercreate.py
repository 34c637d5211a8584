"""FolderCreate (MS-ASCMD 2.2.1.3): a user folder under a parent (``0`` for the root)."""
from __future__ import annotations

from gateway.commands.base import CommandContext, CommandResult
from gateway.sync import folder_commands
from gateway.sync.folder_commands import (
    MALFORMED,
    PARENT_NOT_FOUND,
    SERVER_ERROR,
    AlreadyMade,
    Done,
    FolderCommand,
    FolderRefused,
)
from protocol.numbers import integer
from protocol.xml import E
from store.api import Conflict, NotFound, StoreError
from store.types import FolderType

ALREADY_EXISTS = 2
# A client may create only user folders (MS-ASCMD 2.2.3.186.3): generic and the user-made
# mail, calendar, contacts, tasks, journal and notes folders.
CREATABLE = frozenset({1, 12, 13, 14, 15, 16, 17})


async def handle(ctx: CommandContext) -> CommandResult:
    return await folder_commands.run(ctx, "FolderCreate", _create)


async def _create(command: FolderCommand) -> Done:
    parent_id = command.required("ParentId")
    name = command.required("DisplayName")
    folder_type = integer(command.required("Type"))
    if folder_type not in CREATABLE:
        raise FolderRefused(MALFORMED)
    ctx = command.ctx
    await command.require_parent(parent_id)
    try:
        folder = await ctx.services.store.create_folder(ctx.user.id, parent_id, name,
                                                        FolderType(folder_type))
    except Conflict:
        raise await _made_before(command, [parent_id, name, folder_type]) from None
    except NotFound:
        raise FolderRefused(PARENT_NOT_FOUND) from None
    except StoreError:
        raise FolderRefused(SERVER_ERROR) from None
    return Done([E("FolderHierarchy:ServerId", folder.id)],
                {folder.id: [folder.parent_id, folder.name, int(folder.type)]})


async def _made_before(command: FolderCommand, entry: list) -> AlreadyMade | FolderRefused:
    """The folder that exists is the one this request made when it was sent before (its
    answer lost): that answer again; else Status 2."""
    last = await command.last_change()
    if last is not None:
        for folder_id, known in last.after.items():
            if known == entry and folder_id not in last.before:
                return AlreadyMade(last.key, [E("FolderHierarchy:ServerId", folder_id)])
    return FolderRefused(ALREADY_EXISTS)
