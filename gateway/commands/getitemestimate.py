"""GetItemEstimate (MS-ASCMD 2.2.1.9): how many changes a Sync of each collection would
deliver now, counted through the device's view (a quarantined device counts only its
notice) and its window in time (FilterType, from the request or else the last Sync's).

A request names at most 300 collections (MS-ASCMD 2.2.3.29.1); one naming more is answered
as a malformed request is, with the top-level Status 2, before any collection is counted
(GetItemEstimate has no status of its own for too many collections, as Sync's 15 is)."""
from __future__ import annotations

from lxml import etree

from gateway.commands.base import CommandContext, CommandResult
from gateway.commands.sync import CACHE_KEY as SYNC_CACHE_KEY
from gateway.mailbox import Cursor
from gateway.sync import request as sync_request
from gateway.sync.options import SyncOptions
from gateway.synckeys import InvalidSyncKey, KeyMatch, is_initial, match
from protocol.status import GetItemEstimateStatus as Status
from protocol.versions import at_least
from protocol.xml import E, child, children, sub, text

PAGE = "GetItemEstimate"
MAX_COLLECTIONS = 300


async def handle(ctx: CommandContext) -> CommandResult:
    document = ctx.document
    collections_el = child(document, f"{PAGE}:Collections") if document is not None else None
    if document is None or document.tag != f"{{{PAGE}:}}GetItemEstimate" or collections_el is None:
        return _global_status(Status.INVALID_COLLECTION)
    collections = children(collections_el, f"{PAGE}:Collection")
    if len(collections) > MAX_COLLECTIONS:
        return _global_status(Status.INVALID_COLLECTION)
    root = E(f"{PAGE}:GetItemEstimate")
    for collection in collections:
        root.append(await _estimate(ctx, collection))
    return CommandResult(root)


async def _estimate(ctx: CommandContext, collection: etree._Element) -> etree._Element:
    collection_id = (text(collection, f"{PAGE}:CollectionId") or "").strip()
    sync_key = text(collection, "AirSync:SyncKey") or text(collection, f"{PAGE}:SyncKey")
    folder = await ctx.mailbox.folder(collection_id) if collection_id else None
    if folder is None:
        return _response(Status.INVALID_COLLECTION, collection_id)
    if sync_key is None or is_initial(sync_key):
        return _response(Status.SYNC_STATE_NOT_PRIMED, collection_id)
    state = await ctx.services.store.get_sync_state(ctx.device.id, folder.id)
    try:
        which = match(sync_key.strip(), state)
    except InvalidSyncKey:
        return _response(Status.INVALID_SYNC_KEY, collection_id)
    assert state is not None
    if which is KeyMatch.CURRENT:
        cursor = Cursor.from_data(state.position, state.data)
    else:
        cursor = Cursor.from_data(state.prev_position or 0, state.prev_data)
    keep = _options(ctx, collection, folder.id).item_filter(ctx.services.clock.now())
    count = await ctx.mailbox.count_changes(folder.id, cursor, keep)
    return _response(Status.SUCCESS, collection_id, count)


def _options(ctx: CommandContext, collection: etree._Element, folder_id: str) -> SyncOptions:
    """The window in time: FilterType of this request (12.1 puts it on the collection,
    14.0 in Options), else the Options of the device's last Sync of the collection."""
    options_el = child(collection, "AirSync:Options")
    if options_el is None and not at_least(ctx.version, "14.0"):
        filter_type = text(collection, "AirSync:FilterType") or text(collection, f"{PAGE}:FilterType")
        if filter_type is not None:
            options_el = E("AirSync:Options", E("AirSync:FilterType", filter_type.strip()))
    if options_el is None:
        cached = ctx.device.extra.get(SYNC_CACHE_KEY)
        if cached:
            for remembered in sync_request.from_cache(cached).collections:
                if remembered.collection_id == folder_id:
                    options_el = remembered.options
    return SyncOptions.parse(options_el, ctx.version)


def _response(status: int, collection_id: str, estimate: int | None = None) -> etree._Element:
    response = E(f"{PAGE}:Response")
    sub(response, f"{PAGE}:Status", int(status))
    collection = sub(response, f"{PAGE}:Collection")
    sub(collection, f"{PAGE}:CollectionId", collection_id)
    if estimate is not None:
        sub(collection, f"{PAGE}:Estimate", estimate)
    return response


def _global_status(status: int) -> CommandResult:
    root = E(f"{PAGE}:GetItemEstimate")
    sub(root, f"{PAGE}:Status", int(status))
    return CommandResult(root)
