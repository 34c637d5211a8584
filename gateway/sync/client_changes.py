"""The client's uploads in one collection: Add, Change, Delete and Fetch, each answered with
its own Status in ``Responses`` (MS-ASCMD 2.2.3.154).

Rules (MS-ASCMD 3.1.5.3 and SPEC §7):
- a Change or Delete of an item the server changed since the client's SyncKey is a
  conflict: with ``Conflict`` 1 (the default) the server's version wins, the client's write
  is dropped with Status 7 and the server's version is sent as a change; with 0 it is kept;
- an item that is not in the collection is Status 8;
- an Email may only be added to a Drafts folder, on 16.0 and later (Status 6 otherwise);
- while the device is quarantined, only the notice may be read, flagged, moved or
  deleted; every other upload is Status 5 and nothing of it is kept, so the client sends it
  again once released;
- an Add is made once per (SyncKey, ClientId): the item and that key are written in one
  transaction (`Store.add_placed_items`), so a request resent after a lost answer — or
  after the gateway died between the item and the new sync state — is answered with the
  ServerId already stored, Status 1. (A ClientId alone is not enough: it need only be
  unique within one request, and clients count from 1 again.)
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from lxml import etree

from gateway.content import parse_application_data, render_application_data
from gateway.content.calendar import keep_proposals
from gateway.mailbox import MailboxView
from gateway.sync.options import SyncOptions
from gateway.sync.request import ClientCommand
from protocol.status import SyncStatus
from protocol.versions import at_least
from protocol.xml import E, sub
from store.api import Conflict, NotFound, StoreError
from store.types import Folder, FolderType, Item, NewItem, Placement, WriteKey

_UPDATABLE = frozenset({"data", "body_text", "body_html", "mime", "read", "flagged", "categories"})
_NEW_ITEM_FIELDS = frozenset(f.name for f in fields(NewItem)) - {"item_class"}
# Classes whose Change replaces the item (the parser gives None for what is left out).
_REPLACED_ON_CHANGE = frozenset({"Calendar", "Contacts", "Tasks", "Notes"})


@dataclass
class Uploads:
    """What the client's commands did: the ``Responses`` children, the items the client
    deleted, and whether anything was written."""

    responses: list[etree._Element] = field(default_factory=list)
    removed: set[str] = field(default_factory=set)  # ids the client deleted (no echo)
    wrote: bool = False


@dataclass
class UploadContext:
    view: MailboxView
    folder: Folder
    options: SyncOptions
    version: str
    position: int  # what the client's SyncKey stands for: changes after it are unseen
    ahead: frozenset[str]  # items it holds beyond that position (the notice), seen as sent
    deletes_as_moves: bool
    supported: tuple[str, ...] | None
    sync_key: str  # the key the request was sent with: with a ClientId, it names an Add


async def apply(ctx: UploadContext, commands: tuple[ClientCommand, ...]) -> Uploads:
    uploads = Uploads()
    for command in commands:
        handler = _HANDLERS[command.kind]
        await handler(ctx, command, uploads)
    return uploads


# --- Add --------------------------------------------------------------------------------
async def _add(ctx: UploadContext, command: ClientCommand, uploads: Uploads) -> None:
    client_id = command.client_id or ""
    status = _refuse_add(ctx, command)
    if status is not None:
        _add_response(uploads, client_id, None, status)
        return
    try:
        values = _parse(ctx, command)
        new = NewItem(item_class=ctx.folder.item_class,
                      **{k: v for k, v in values.items() if k in _NEW_ITEM_FIELDS})
        placed = await ctx.view.store.add_placed_items(
            [Placement(ctx.view.user.id, ctx.folder.id, new)],
            once=WriteKey(ctx.view.device_pk, ctx.folder.id, f"{ctx.sync_key}/{client_id}"),
            origin=ctx.view.origin)
    except (ValueError, TypeError):
        _add_response(uploads, client_id, None, SyncStatus.CLIENT_ITEM_ERROR)
        return
    except StoreError:
        _add_response(uploads, client_id, None, SyncStatus.SERVER_ERROR)
        return
    uploads.wrote = True  # or an earlier attempt did: either way the key moves on
    _add_response(uploads, client_id, placed.server_ids[0], SyncStatus.SUCCESS)


def _refuse_add(ctx: UploadContext, command: ClientCommand) -> SyncStatus | None:
    if not ctx.view.accepts_upload():
        return SyncStatus.SERVER_ERROR
    if not command.client_id or command.application_data is None:
        return SyncStatus.PROTOCOL_ERROR
    if ctx.folder.item_class == "Email" and not (
        ctx.folder.type == FolderType.DRAFTS and at_least(ctx.version, "16.0")
    ):
        return SyncStatus.CLIENT_ITEM_ERROR
    return None


def _add_response(uploads: Uploads, client_id: str, server_id: str | None, status: int) -> None:
    element = E("AirSync:Add")
    sub(element, "AirSync:ClientId", client_id)
    if server_id is not None:
        sub(element, "AirSync:ServerId", server_id)
    sub(element, "AirSync:Status", int(status))
    uploads.responses.append(element)


# --- Change -----------------------------------------------------------------------------
async def _change(ctx: UploadContext, command: ClientCommand, uploads: Uploads) -> None:
    server_id = command.server_id or ""
    item, status = await _target(ctx, server_id)
    if status is None and command.application_data is None:
        status = SyncStatus.PROTOCOL_ERROR
    if status is None:
        status = await _write_change(ctx, command, item)  # type: ignore[arg-type]
        uploads.wrote = uploads.wrote or status == SyncStatus.SUCCESS
    if status != SyncStatus.SUCCESS:  # successful changes get no response (MS-ASCMD)
        _item_response(uploads, "Change", server_id, status)


async def _write_change(ctx: UploadContext, command: ClientCommand, item: Item) -> SyncStatus:
    if ctx.options.server_wins and _changed_on_server(ctx, item):
        return SyncStatus.CONFLICT
    try:
        values = _parse(ctx, command)
        updates = {k: v for k, v in values.items() if k in _UPDATABLE}
        if item.item_class in _REPLACED_ON_CHANGE and "data" in updates:
            updates["data"] = _keep_ghosted(updates["data"], ctx.supported)
        if item.item_class == "Calendar" and "data" in updates:
            updates["data"] = keep_proposals(updates["data"], item.data)
        await ctx.view.store.update_item(ctx.view.user.id, item.server_id,
                                         origin=ctx.view.origin, **updates)
    except (ValueError, TypeError):
        return SyncStatus.CLIENT_ITEM_ERROR
    except NotFound:
        return SyncStatus.OBJECT_NOT_FOUND
    except StoreError:
        return SyncStatus.SERVER_ERROR
    return SyncStatus.SUCCESS


def _keep_ghosted(data: dict[str, Any], supported: tuple[str, ...] | None) -> dict[str, Any]:
    """A replacing Change clears what the client left out, except ghosted properties: those
    the client never declared in ``Supported`` keep their server value (MS-ASCMD 2.2.3.179)."""
    if supported is None:
        return data
    return {name: value for name, value in data.items() if value is not None or name in supported}


# --- Delete -----------------------------------------------------------------------------
async def _delete(ctx: UploadContext, command: ClientCommand, uploads: Uploads) -> None:
    server_id = command.server_id or ""
    item, status = await _target(ctx, server_id)
    if status is None:
        status = await _remove(ctx, item)  # type: ignore[arg-type]
        if status == SyncStatus.SUCCESS:
            uploads.wrote = True
            uploads.removed.add(server_id)
    if status != SyncStatus.SUCCESS:
        _item_response(uploads, "Delete", server_id, status)


async def _remove(ctx: UploadContext, item: Item) -> SyncStatus:
    if ctx.options.server_wins and _changed_on_server(ctx, item):
        return SyncStatus.CONFLICT
    store, user_id, origin = ctx.view.store, ctx.view.user.id, ctx.view.origin
    try:
        trash = await _trash_for(ctx)
        if trash is not None:
            moved = await store.move_item(user_id, item.server_id, trash.id, origin=origin)
            await _follow_notice(ctx, item.server_id, moved.server_id)
        else:
            await store.delete_item(user_id, item.server_id, origin=origin)
    except NotFound:
        return SyncStatus.OBJECT_NOT_FOUND
    except (Conflict, StoreError):
        return SyncStatus.SERVER_ERROR
    return SyncStatus.SUCCESS


async def _trash_for(ctx: UploadContext) -> Folder | None:
    """Where a deleted item goes: Deleted Items for mail with DeletesAsMoves (our decision:
    other classes are deleted outright), nowhere when it is already there."""
    if not ctx.deletes_as_moves or ctx.folder.item_class != "Email":
        return None
    if ctx.folder.type == FolderType.DELETED_ITEMS:
        return None
    return await ctx.view.store.find_folder(ctx.view.user.id, FolderType.DELETED_ITEMS)


async def _follow_notice(ctx: UploadContext, old_id: str, new_id: str) -> None:
    """The notice keeps being the one visible item when the client moves it away."""
    if old_id == ctx.view.notice_server_id:
        await ctx.view.store.update_device(ctx.view.device_pk, notice_server_id=new_id)
        ctx.view.notice_server_id = new_id


# --- Fetch ------------------------------------------------------------------------------
async def _fetch(ctx: UploadContext, command: ClientCommand, uploads: Uploads) -> None:
    server_id = command.server_id or ""
    item = await ctx.view.get_item(server_id)
    element = E("AirSync:Fetch")
    sub(element, "AirSync:ServerId", server_id)
    if item is None or item.folder_id != ctx.folder.id:
        sub(element, "AirSync:Status", int(SyncStatus.OBJECT_NOT_FOUND))
    else:
        sub(element, "AirSync:Status", int(SyncStatus.SUCCESS))
        element.append(render_application_data(item, ctx.options.body, ctx.version))
    uploads.responses.append(element)


# --- shared -----------------------------------------------------------------------------
async def _target(ctx: UploadContext, server_id: str) -> tuple[Item | None, SyncStatus | None]:
    """The item a Change or Delete names, or the status that refuses it."""
    if not ctx.view.accepts_upload(server_id):
        return None, SyncStatus.SERVER_ERROR
    item = await ctx.view.get_item(server_id)
    if item is None or item.folder_id != ctx.folder.id:
        return None, SyncStatus.OBJECT_NOT_FOUND
    return item, None


def _changed_on_server(ctx: UploadContext, item: Item) -> bool:
    """Whether the item has a write the client has not seen yet (not its own)."""
    if item.server_id in ctx.ahead:
        return False  # delivered out of the log's order: the client has what we sent
    return item.modseq > ctx.position and item.origin != ctx.view.origin


def _parse(ctx: UploadContext, command: ClientCommand) -> dict[str, Any]:
    assert command.application_data is not None
    return parse_application_data(ctx.folder.item_class, command.application_data, ctx.version)


def _item_response(uploads: Uploads, kind: str, server_id: str, status: int) -> None:
    element = E(f"AirSync:{kind}")
    sub(element, "AirSync:ServerId", server_id)
    sub(element, "AirSync:Status", int(status))
    uploads.responses.append(element)


_HANDLERS = {"Add": _add, "Change": _change, "Delete": _delete, "Fetch": _fetch}
