"""Sync (MS-ASCMD 2.2.1.21): two-way synchronization of one or more collections.

An empty request, or one marked ``Partial``, is completed from the device's cached last
request. With ``Wait`` or ``HeartbeatInterval`` a Sync that has nothing to say is held like
a Ping: it answers as soon as one of its collections changes, with Status 12 when the
folder hierarchy changes (the client must FolderSync), or with an empty body when the
interval passes or a newer Ping or waiting Sync of the same device takes over (such a
request also ends the device's held one when it arrives).
"""
from __future__ import annotations

import time

from gateway.commands.base import CommandContext, CommandResult
from gateway.mailbox import MailboxView
from gateway.sync import hierarchy
from gateway.sync import request as sync_request
from gateway.sync.collection import Outcome, SyncEnv, sync_collection
from gateway.sync.request import SyncRequest, SyncRequestError
from protocol.status import SyncStatus
from protocol.xml import E, sub

CACHE_KEY = "sync_request"
# HeartbeatInterval seconds and Wait minutes a client may ask for (MS-ASCMD 2.2.3.88.2,
# 2.2.3.198); config may narrow the heartbeat range.
MIN_HEARTBEAT_S, MAX_HEARTBEAT_S = 60, 3540
MIN_WAIT_MIN, MAX_WAIT_MIN = 1, 59
MAX_COLLECTIONS = 1000
UNLIMITED_WINDOW = 1 << 30


async def handle(ctx: CommandContext) -> CommandResult:
    try:
        parsed = sync_request.parse(ctx.document)
    except SyncRequestError:
        return _status(SyncStatus.PROTOCOL_ERROR)
    request = _complete(parsed, ctx.device.extra.get(CACHE_KEY))
    if request is None:
        return _status(SyncStatus.INCOMPLETE_REQUEST)
    refusal = _check_limits(parsed, request)
    if refusal is not None:
        return refusal
    await _remember(ctx, parsed, request)
    if request.wait_s:
        ctx.services.pushhub.end_held(ctx.user.id, ctx.device.id)
    outcomes = await _run(ctx, request, ctx.mailbox)
    if request.wait_s and not any(o.newsworthy for o in outcomes):
        return await _wait_for_news(ctx, request, outcomes)
    return _answer(outcomes)


def _answer(outcomes: list[Outcome]) -> CommandResult:
    root = E("AirSync:Sync")
    collections = sub(root, "AirSync:Collections")
    collections.extend(o.element for o in outcomes)
    return CommandResult(root)


async def _remember(ctx: CommandContext, parsed: SyncRequest | None, request: SyncRequest) -> None:
    """Cache the request for the next empty or partial one (only when it changed: most
    Syncs repeat the last request and should not cost a write)."""
    if parsed is None or not parsed.collections:
        return
    cached = sync_request.to_cache(request)
    if ctx.device.extra.get(CACHE_KEY) != cached:
        await ctx.services.store.update_device(ctx.device.id, extra={CACHE_KEY: cached})


def _complete(parsed: SyncRequest | None, cached: dict | None) -> SyncRequest | None:
    """The request to run: as sent, or completed from the cache (None when it cannot be)."""
    if parsed is not None and parsed.collections and not parsed.partial:
        return parsed
    if not cached:
        return None
    remembered = sync_request.from_cache(cached)
    if parsed is None:
        return remembered
    return sync_request.merge_partial(parsed, remembered)


def _check_limits(parsed: SyncRequest | None, request: SyncRequest) -> CommandResult | None:
    if len(request.collections) > MAX_COLLECTIONS:
        return _status(SyncStatus.TOO_MANY_COLLECTIONS, limit=MAX_COLLECTIONS)
    if parsed is None:
        return None
    if parsed.bad_wait:
        return _status(SyncStatus.PROTOCOL_ERROR)
    bounds = {"HeartbeatInterval": (MIN_HEARTBEAT_S, MAX_HEARTBEAT_S),
              "Wait": (MIN_WAIT_MIN, MAX_WAIT_MIN)}
    for tag, value in parsed.wait_raw.items():
        low, high = bounds[tag]
        if value < low:
            return _status(SyncStatus.INVALID_WAIT_OR_HEARTBEAT, limit=low)
        if value > high:
            return _status(SyncStatus.INVALID_WAIT_OR_HEARTBEAT, limit=high)
    return None


async def _run(ctx: CommandContext, request: SyncRequest, view: MailboxView) -> list[Outcome]:
    env = SyncEnv(view=view, version=ctx.version, now=ctx.services.clock.now(),
                  window_left=request.window_size or UNLIMITED_WINDOW)
    return [await sync_collection(env, collection) for collection in request.collections]


async def _wait_for_news(ctx: CommandContext, request: SyncRequest, first: list[Outcome]
                         ) -> CommandResult:
    """Hold the request until a collection has something to say (its answer), the
    hierarchy changes (Status 12) or the interval passes (an empty answer). The watch
    starts before the re-check, so a change landing in between is not lost."""
    assert request.wait_s is not None
    deadline = time.monotonic() + request.wait_s
    watched = {o.folder_id for o in first if o.folder_id is not None} | {hierarchy.HIERARCHY}
    store = ctx.services.store
    with ctx.services.pushhub.watch(ctx.user.id, watched, holder=ctx.device.id) as watch:
        view = await _fresh_view(ctx)
        first_seen = hierarchy.snapshot_of(await view.folders())
        outcomes = await _run(ctx, request, view)
        while not any(o.newsworthy for o in outcomes):
            remaining = deadline - time.monotonic()
            woken = await watch.wait(remaining) if remaining > 0 else set()
            if not woken:
                return CommandResult(document=None)
            view = await _fresh_view(ctx)
            if hierarchy.HIERARCHY in woken and await hierarchy.moved_on(
                    store, ctx.device.id, await view.folders(), first_seen):
                return _status(SyncStatus.FOLDER_HIERARCHY_CHANGED)
            outcomes = await _run(ctx, request, view)
    return _answer(outcomes)


async def _fresh_view(ctx: CommandContext) -> MailboxView:
    """The view as of now: the device's access state may have changed while it waited."""
    device = await ctx.services.store.get_device_by_pk(ctx.device.id)
    return await MailboxView.load(ctx.services, ctx.user, device)


def _status(status: int, *, limit: int | None = None) -> CommandResult:
    root = E("AirSync:Sync")
    sub(root, "AirSync:Status", int(status))
    if limit is not None:
        sub(root, "AirSync:Limit", limit)
    return CommandResult(root)
