"""One collection's round trip in a Sync: check its SyncKey, take the client's uploads, page
the server's changes through the device's view, store the new state, build the answer.

State keeping (MS-ASCMD 3.1.5.3): a SyncKey stands for a store position and the ids held
ahead of it (see `gateway.mailbox.Cursor`). The previous state is kept, so a client that
lost our answer and resends its request with the previous key gets the same key and the
same changes again. An answer with nothing in it keeps the key the client sent (no state is
written), so an idle Sync costs one read. A client's Adds are kept by the key they came
with and their ClientId so that a resend makes none twice (`WriteKey`); those of keys the
client can no longer send are forgotten as the state moves on.

Two requests of one device can overlap (a Sync resent while the first still runs, perhaps
on another gateway process): each writes its new state only over the state it started from
(`Store.replace_sync_state`). The slower one answers the collection with Status 16 (Retry);
the client resends, its key now names the previous state, and it gets the answer the
faster request made.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from lxml import etree

from gateway.content import render_application_data
from gateway.mailbox import Cursor, MailboxView, ViewPage
from gateway.sync import client_changes, hierarchy
from gateway.sync.options import SyncOptions
from gateway.sync.request import CollectionRequest
from gateway.synckeys import InvalidSyncKey, KeyMatch, SyncKey, current_key, match
from protocol.status import SyncStatus
from protocol.versions import at_least
from protocol.xml import E, sub
from store.api import Conflict
from store.types import Change, Folder, SyncState


@dataclass
class SyncEnv:
    """What every collection of one Sync request shares."""

    view: MailboxView
    version: str
    now: datetime
    window_left: int  # the request's overall WindowSize still unused


@dataclass
class Outcome:
    element: etree._Element  # the answer's Collection
    newsworthy: bool  # it carries changes or responses (a waiting Sync answers at once)
    folder_id: str | None  # the folder to watch while waiting, None when unknown


@dataclass(frozen=True)
class _Base:
    """The state the client's key names: where its answer starts from."""

    key: SyncKey
    position: int
    data: dict
    replay: bool  # the client resent its previous request


async def sync_collection(env: SyncEnv, request: CollectionRequest) -> Outcome:
    folder, state = await env.view.folder_with_state(request.collection_id)
    if folder is None:
        return _status_only(env, request, request.sync_key or "0", await _missing_status(env, request))
    if request.sync_key == "0":
        return await _start_over(env, request, folder, state)
    try:
        base = _base(request, state)
    except InvalidSyncKey:
        return _status_only(env, request, "0", SyncStatus.INVALID_SYNC_KEY, folder.id)
    assert state is not None
    return await _round_trip(env, request, folder, state, base)


async def _start_over(
    env: SyncEnv, request: CollectionRequest, folder: Folder, state: SyncState | None
) -> Outcome:
    """SyncKey 0: a new chain from position 0 (the first answer after it has everything)."""
    key = SyncKey.first()
    data: dict = {"chain": key.chain, "ahead": []}
    if request.supported is not None:
        data["supported"] = list(request.supported)
    try:
        await env.view.store.replace_sync_state(SyncState(
            device_pk=env.view.device_pk, collection_id=folder.id,
            sync_key=key.counter, position=0, data=data,
        ), state)
    except Conflict:  # an overlapping request of the device stored a state first
        return _status_only(env, request, "0", SyncStatus.RETRY, folder.id)
    element = _collection_head(env, folder, str(key), SyncStatus.SUCCESS)
    return Outcome(element, newsworthy=True, folder_id=folder.id)


async def _missing_status(env: SyncEnv, request: CollectionRequest) -> SyncStatus:
    """A collection whose folder is gone: 12 when the device was told about the folder (the
    hierarchy changed under it: FolderSync, then Sync again), 8 for an id it never had."""
    told = await hierarchy.told_snapshot(env.view.store, env.view.device_pk)
    if told is not None and request.collection_id in told:
        return SyncStatus.FOLDER_HIERARCHY_CHANGED
    return SyncStatus.OBJECT_NOT_FOUND


def _base(request: CollectionRequest, state: SyncState | None) -> _Base:
    if request.sync_key is None:  # taken from the cached request: continue where we are
        if state is None:
            raise InvalidSyncKey("no state for a cached collection")
        return _Base(current_key(state), state.position, state.data, replay=False)
    if match(request.sync_key, state) is KeyMatch.CURRENT:
        assert state is not None
        return _Base(current_key(state), state.position, state.data, replay=False)
    assert state is not None and state.prev_sync_key is not None
    return _Base(SyncKey(state.prev_data["chain"], state.prev_sync_key), state.prev_position or 0,
                 state.prev_data, replay=True)


async def _round_trip(
    env: SyncEnv, request: CollectionRequest, folder: Folder, state: SyncState, base: _Base
) -> Outcome:
    options = SyncOptions.parse(request.options, env.version)
    cursor = Cursor.from_data(base.position, base.data)
    uploads = await client_changes.apply(client_changes.UploadContext(
        view=env.view, folder=folder, options=options, version=env.version,
        position=base.position, ahead=cursor.ahead, deletes_as_moves=request.deletes_as_moves,
        supported=tuple(base.data["supported"]) if "supported" in base.data else None,
        sync_key=str(base.key),
    ), request.commands)
    if uploads.removed:
        cursor = replace(cursor, ahead=cursor.ahead - uploads.removed)
    page = ViewPage([], cursor)
    if request.wants_changes():
        page = await _server_changes(env, request, folder, cursor, options)
    changed = uploads.wrote or bool(page.changes) or page.cursor != Cursor.from_data(
        base.position, base.data)
    key = base.key
    if changed:
        try:
            key = await _save(env, folder, state, base, page.cursor)
        except Conflict:  # an overlapping request of the device stored a state first
            return _status_only(env, request, str(base.key), SyncStatus.RETRY, folder.id)
        if uploads.wrote:  # the Adds of keys before these two can never be resent
            await env.view.store.forget_write_keys(env.view.device_pk, folder.id,
                                                   keeping=(str(base.key), str(key)))
    element = _collection_head(env, folder, str(key), SyncStatus.SUCCESS)
    if page.more_available:
        sub(element, "AirSync:MoreAvailable")
    if page.changes:
        element.append(_commands(env, page.changes, options))
    if uploads.responses:
        responses = sub(element, "AirSync:Responses")
        responses.extend(uploads.responses)
    newsworthy = bool(page.changes or uploads.responses or page.more_available)
    return Outcome(element, newsworthy, folder.id)


async def _server_changes(
    env: SyncEnv, request: CollectionRequest, folder: Folder, cursor: Cursor,
    options: SyncOptions,
) -> ViewPage:
    window = min(request.window_size, env.window_left)
    if window <= 0:
        more = await env.view.has_changes(folder.id, cursor)
        return ViewPage([], cursor, more_available=more)
    page = await env.view.changes(folder.id, cursor, window, options.item_filter(env.now))
    env.window_left -= len(page.changes)
    return page


async def _save(
    env: SyncEnv, folder: Folder, state: SyncState, base: _Base, cursor: Cursor,
) -> SyncKey:
    """Store the new state; returns the key that names it. A replay rewrites the state
    the lost answer made (same key); otherwise the key moves on and the old state becomes
    the previous one."""
    data = {"chain": base.key.chain, **cursor.to_data()}
    if "supported" in base.data:
        data["supported"] = base.data["supported"]
    if base.replay:
        key = current_key(state)
        new_state = replace(state, position=cursor.position, data=data)
    else:
        key = base.key.successor()
        new_state = SyncState(
            device_pk=state.device_pk, collection_id=folder.id, sync_key=key.counter,
            position=cursor.position, data=data,
            prev_sync_key=base.key.counter, prev_position=base.position,
            prev_data=dict(base.data),
        )
    await env.view.store.replace_sync_state(new_state, state)
    return key


def _commands(env: SyncEnv, changes: list[Change], options: SyncOptions) -> etree._Element:
    commands = E("AirSync:Commands")
    for change in changes:
        if change.kind == "delete" or change.item is None:
            element = sub(commands, "AirSync:Delete")
            sub(element, "AirSync:ServerId", change.server_id)
            continue
        element = sub(commands, "AirSync:Add" if change.kind == "add" else "AirSync:Change")
        sub(element, "AirSync:ServerId", change.server_id)
        element.append(render_application_data(change.item, options.body, env.version))
    return commands


def _collection_head(env: SyncEnv, folder: Folder | None, key: str, status: int
                     ) -> etree._Element:
    element = E("AirSync:Collection")
    if folder is not None and not at_least(env.version, "14.0"):
        sub(element, "AirSync:Class", folder.item_class)  # 12.1 names the class
    sub(element, "AirSync:SyncKey", key)
    sub(element, "AirSync:CollectionId", folder.id if folder is not None else "")
    sub(element, "AirSync:Status", int(status))
    return element


def _status_only(env: SyncEnv, request: CollectionRequest, key: str, status: int,
                 folder_id: str | None = None) -> Outcome:
    element = E("AirSync:Collection")
    sub(element, "AirSync:SyncKey", key)
    sub(element, "AirSync:CollectionId", request.collection_id)
    sub(element, "AirSync:Status", int(status))
    return Outcome(element, newsworthy=True, folder_id=folder_id)
