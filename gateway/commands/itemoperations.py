"""ItemOperations (MS-ASCMD 2.2.1.10): Fetch, EmptyFolderContents and conversation Move.

Fetch takes an item (CollectionId + ServerId, or a Search LongId) with its body as the
``Options`` ask, or an attachment by ``FileReference`` (whole, or a byte ``Range``). Anything
the device's `MailboxView` cannot see is Status 6, exactly like something that does not
exist: a quarantined device fetches its notice and nothing else (SPEC §7).

When the client asks for a multipart answer (``MS-ASAcceptMultiPart: T`` or the query's
AcceptMultiPart), binary data leaves the WBXML: each body or attachment becomes a part of an
``application/vnd.ms-sync.multipart`` answer and the document names it by ``Part`` number
(MS-ASCMD 2.2.2.10.1).
"""
from __future__ import annotations

import base64
import struct
from dataclasses import dataclass, field

from lxml import etree

from gateway.commands.base import CommandContext, CommandResult
from gateway.content import BodyOptions, render_properties
from gateway.errors import CommandFailure
from protocol import wbxml
from protocol.numbers import number_range
from protocol.status import ItemOperationsStatus as Status
from protocol.xml import E, child, local_name, opaque_bytes, sub, text
from store.api import NotFound
from store.types import Item

MULTIPART_CONTENT_TYPE = "application/vnd.ms-sync.multipart"


@dataclass
class Answer:
    """The parts of a multipart answer collected while the document is built; None when
    the client wants everything inline."""

    parts: list[bytes] | None = None

    def hold(self, data: bytes) -> int | None:
        """Keep ``data`` as a part and return its number (part 0 is the document)."""
        if self.parts is None:
            return None
        self.parts.append(data)
        return len(self.parts)


@dataclass
class Operations:
    ctx: CommandContext
    answer: Answer = field(default_factory=Answer)


async def handle(ctx: CommandContext) -> CommandResult:
    if ctx.document is None or not len(ctx.document):
        raise CommandFailure(Status.PROTOCOL_ERROR, "no operation")
    run = Operations(ctx, Answer([] if ctx.request.accept_multipart else None))
    response = E("ItemOperations:Response")
    for operation in ctx.document:
        response.append(await _operation(run, operation))
    root = E("ItemOperations:ItemOperations", E("ItemOperations:Status", Status.SUCCESS), response)
    if run.answer.parts is None:
        return CommandResult(root)
    return CommandResult(body=multipart(wbxml.encode(root), run.answer.parts),
                         content_type=MULTIPART_CONTENT_TYPE)


async def _operation(run: Operations, operation: etree._Element) -> etree._Element:
    name = local_name(operation)
    if name == "Fetch":
        return await fetch(run, operation)
    if name == "EmptyFolderContents":
        return await empty_folder(run.ctx, operation)
    if name == "Move":
        return await move_conversation(run.ctx, operation)
    # Not an operation (a stray element of any page): the request is malformed. Echoing
    # its name as an ItemOperations tag could name a tag no code page holds.
    raise CommandFailure(Status.PROTOCOL_ERROR, f"{name[:40]} is not an operation")


def multipart(document: bytes, parts: list[bytes]) -> bytes:
    """MS-ASCMD 2.2.2.10.1: the part count, each part's (offset, length), then the parts."""
    every = [document, *parts]
    header_size = 4 + 8 * len(every)
    offsets, position = [], header_size
    for part in every:
        offsets.append((position, len(part)))
        position += len(part)
    header = struct.pack("<i", len(every)) + b"".join(struct.pack("<ii", o, n) for o, n in offsets)
    return header + b"".join(every)


# --- Fetch ---------------------------------------------------------------------------------

async def fetch(run: Operations, request: etree._Element) -> etree._Element:
    store_name = (text(request, "ItemOperations:Store") or "").strip()
    if store_name.lower() != "mailbox":
        return _fetch_status(Status.UNKNOWN_STORE if store_name else Status.PROTOCOL_ERROR)
    options = child(request, "ItemOperations:Options")
    file_reference = text(request, "AirSyncBase:FileReference")
    if file_reference is not None:
        return await _fetch_attachment(run, file_reference, options)
    long_id = text(request, "Search:LongId")
    server_id = long_id or text(request, "AirSync:ServerId")
    if not server_id:
        return _fetch_status(Status.PROTOCOL_ERROR_MISSING_ELEMENTS)
    item = await run.ctx.mailbox.get_item(server_id)
    collection_id = text(request, "AirSync:CollectionId")
    if item is None or (collection_id and not long_id and item.folder_id != collection_id):
        return _fetch_status(Status.OBJECT_NOT_FOUND)
    return _fetched_item(run, item, options, by_long_id=long_id is not None)


def _fetch_status(status: int) -> etree._Element:
    return E("ItemOperations:Fetch", E("ItemOperations:Status", int(status)))


def _fetched_item(run: Operations, item: Item, options: etree._Element | None, *,
                  by_long_id: bool) -> etree._Element:
    version = run.ctx.version
    answer = E("ItemOperations:Fetch", E("ItemOperations:Status", Status.SUCCESS))
    if by_long_id:
        sub(answer, "Search:LongId", item.server_id)
    else:
        sub(answer, "AirSync:CollectionId", item.folder_id)
        sub(answer, "AirSync:ServerId", item.server_id)
    sub(answer, "AirSync:Class", item.item_class)
    properties = sub(answer, "ItemOperations:Properties")
    properties.extend(render_properties(item, BodyOptions.from_sync_options(options, version),
                                        version))
    for body in properties.iter("{AirSyncBase:}Body"):
        _move_data_to_part(run.answer, body)
    return answer


def _move_data_to_part(answer: Answer, body: etree._Element) -> None:
    data = child(body, "AirSyncBase:Data")
    if data is None:
        return
    number = answer.hold((data.text or "").encode("utf-8"))
    if number is not None:
        data.addprevious(E("ItemOperations:Part", number))
        body.remove(data)


async def _fetch_attachment(run: Operations, file_reference: str,
                            options: etree._Element | None) -> etree._Element:
    ctx = run.ctx
    try:
        item, content = await ctx.services.store.get_attachment(ctx.user.id, file_reference)
    except NotFound:
        return _fetch_status(Status.OBJECT_NOT_FOUND)
    if not ctx.mailbox.can_see(item.server_id):
        return _fetch_status(Status.OBJECT_NOT_FOUND)
    attachment = next(a for a in item.attachments if a.file_reference == file_reference)
    wanted = text(options, "ItemOperations:Range") if options is not None else None
    try:
        first, last = byte_range(wanted, len(content))
    except ValueError:
        return _fetch_status(Status.INVALID_BYTE_RANGE)
    answer = E("ItemOperations:Fetch", E("ItemOperations:Status", Status.SUCCESS))
    sub(answer, "AirSyncBase:FileReference", file_reference)
    properties = sub(answer, "ItemOperations:Properties")
    sub(properties, "AirSyncBase:ContentType", attachment.content_type)
    if wanted is not None:
        sub(properties, "ItemOperations:Range", f"{first}-{max(first, last - 1)}")
        sub(properties, "ItemOperations:Total", len(content))
    chunk = content[first:last]
    number = run.answer.hold(chunk)
    if number is None:
        sub(properties, "ItemOperations:Data", base64.b64encode(chunk).decode("ascii"))
    else:
        sub(properties, "ItemOperations:Part", number)
    return answer


def byte_range(wanted: str | None, size: int) -> tuple[int, int]:
    """``"0-99"`` → (0, 100), clipped to the content; ValueError when it makes no sense."""
    if wanted is None:
        return 0, size
    first, last = number_range(wanted)
    if size and first >= size:
        raise ValueError(wanted)
    return first, min(last + 1, size)


# --- EmptyFolderContents and Move ------------------------------------------------------------

async def empty_folder(ctx: CommandContext, request: etree._Element) -> etree._Element:
    """Delete a folder's items (and subfolders when asked). A quarantined device keeps
    nothing it changes (SPEC §7): Status 3, server error, so the client retries later."""
    collection_id = text(request, "AirSync:CollectionId")
    answer = E("ItemOperations:EmptyFolderContents")
    status = Status.SUCCESS
    if not collection_id or await ctx.mailbox.folder(collection_id) is None:
        status = Status.OBJECT_NOT_FOUND
    elif ctx.mailbox.quarantined:
        status = Status.SERVER_ERROR
    else:
        options = child(request, "ItemOperations:Options")
        subfolders = options is not None and child(options,
                                                   "ItemOperations:DeleteSubFolders") is not None
        # Not stamped with the device as origin: its own Sync must tell it what went.
        await ctx.services.store.empty_folder(ctx.user.id, collection_id,
                                              include_subfolders=subfolders)
    sub(answer, "ItemOperations:Status", int(status))
    if collection_id:
        sub(answer, "AirSync:CollectionId", collection_id)
    return answer


async def move_conversation(ctx: CommandContext, request: etree._Element) -> etree._Element:
    """Move every mail of a conversation to DstFldId (14.0+)."""
    conversation = child(request, "ItemOperations:ConversationId")
    destination = text(request, "ItemOperations:DstFldId")
    answer = E("ItemOperations:Move")
    status = Status.SUCCESS
    target = await ctx.mailbox.folder(destination) if destination else None
    if conversation is None or target is None or target.item_class != "Email":
        status = Status.PROTOCOL_ERROR if conversation is None else Status.OBJECT_NOT_FOUND
    elif ctx.mailbox.quarantined:
        status = Status.SERVER_ERROR
    else:
        wanted = opaque_bytes(conversation).hex().upper()
        for folder in await ctx.mailbox.folders():
            if folder.item_class != "Email" or folder.id == target.id:
                continue
            for item in await ctx.services.store.list_items(ctx.user.id, folder.id):
                if str(item.data.get("ConversationId", "")).upper() == wanted:
                    await ctx.services.store.move_item(ctx.user.id, item.server_id, target.id)
    sub(answer, "ItemOperations:Status", int(status))
    if conversation is not None:
        answer.append(conversation)
    return answer
