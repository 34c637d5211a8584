"""MoveItems (MS-ASCMD 2.2.1.12): move items between folders of one class.

Per move: Status 3 and the new id on success; 1 when the source item is not there (or not
visible to this device: a quarantined device may move its notice and nothing else, SPEC §7);
2 for a destination that is not a folder of this mailbox holding that class of item; 4 when
source and destination are the same folder.
"""
from __future__ import annotations

from lxml import etree

from gateway.commands.base import CommandContext, CommandResult
from gateway.errors import CommandFailure
from protocol.status import GlobalStatus
from protocol.status import MoveItemsStatus as Status
from protocol.xml import E, children, sub, text
from store.api import NotFound


async def handle(ctx: CommandContext) -> CommandResult:
    moves = children(ctx.document, "Move:Move") if ctx.document is not None else []
    if not moves:
        raise CommandFailure(GlobalStatus.INVALID_XML, "no Move element")
    root = E("Move:MoveItems")
    for move in moves:
        root.append(await _move(ctx, move))
    return CommandResult(root)


async def _move(ctx: CommandContext, move: etree._Element) -> etree._Element:
    source_id = text(move, "Move:SrcMsgId") or ""
    answer = E("Move:Response")
    sub(answer, "Move:SrcMsgId", source_id)
    status, new_id = await _try_move(ctx, source_id, text(move, "Move:SrcFldId"),
                                     text(move, "Move:DstFldId"))
    sub(answer, "Move:Status", int(status))
    if new_id is not None:
        sub(answer, "Move:DstMsgId", new_id)
    return answer


async def _try_move(ctx: CommandContext, source_id: str, source_folder: str | None,
                    destination: str | None) -> tuple[Status, str | None]:
    item = await ctx.mailbox.get_item(source_id) if source_id else None
    if item is None or (source_folder and item.folder_id != source_folder):
        return Status.INVALID_SOURCE, None
    target = await ctx.mailbox.folder(destination) if destination else None
    if target is None or target.item_class != item.item_class:
        return Status.INVALID_DESTINATION, None
    if target.id == item.folder_id:
        return Status.SAME_SOURCE_AND_DESTINATION, None
    try:
        moved = await ctx.services.store.move_item(ctx.user.id, item.server_id, target.id,
                                                   origin=ctx.mailbox.origin)
    except NotFound:
        return Status.INVALID_SOURCE, None
    if item.server_id == ctx.mailbox.notice_server_id:
        # The notice keeps being the one item a quarantined device sees, wherever it goes.
        await ctx.services.store.update_device(ctx.device.id, notice_server_id=moved.server_id)
    return Status.SUCCESS, moved.server_id
