"""Ping (MS-ASCMD 2.2.1.13): hold the request until a watched folder has something the
device would sync, or the heartbeat passes.

A held Ping is a watch in the push hub and a sleeping coroutine: no thread, no timer that
polls and no database connection while it waits. It re-checks through the device's
`MailboxView` each time the hub wakes it, so a quarantined device wakes only for its
notice arriving or leaving. A Ping that leaves out its heartbeat or folders reuses those
of the device's last Ping (kept in the device record).

A change to the folder hierarchy that the device has not fetched (a folder created,
renamed or deleted on the server) answers Status 7, at once or while held: the client
must FolderSync first. A newer Ping or waiting Sync of the same device ends a held Ping
with Status 1, as Exchange does.
"""
from __future__ import annotations

import time
from collections.abc import Collection
from dataclasses import dataclass

from gateway.commands.base import CommandContext, CommandResult, Held
from gateway.mailbox import Cursor, MailboxView
from gateway.pushhub import PushHub
from gateway.sync import hierarchy
from protocol.numbers import integer
from protocol.status import PingStatus
from protocol.xml import E, child, children, sub, text
from store.api import Store
from store.types import Device, User

CACHE_KEY = "ping"


class PingRefused(Exception):
    def __init__(self, status: PingStatus, limit: tuple[str, int] | None = None) -> None:
        super().__init__(status)
        self.status = status
        self.limit = limit  # (element name, value) to tell the client the bound


@dataclass(frozen=True)
class PingRequest:
    heartbeat_s: int
    folder_ids: tuple[str, ...]
    classes: tuple[str, ...]


async def handle(ctx: CommandContext) -> CommandResult | Held:
    """The request checked and its starting points read, then the wait, as a `Held` answer:
    the dispatcher lets go of the request (its document, body, records) before it waits."""
    try:
        request = _request(ctx)
        await _remember(ctx, request)
        cursors = await _cursors(ctx, ctx.mailbox, request.folder_ids)
    except PingRefused as refused:
        return _answer(refused.status, limit=refused.limit)
    store = ctx.services.store
    view = _waiting_view(store, ctx.user, ctx.device)
    return Held(_hold(store, ctx.services.pushhub, ctx.user, view, request, cursors))


def _waiting_view(store: Store, user: User, device: Device) -> MailboxView:
    """A view of its own for the wait: the request's view keeps the folder list it read."""
    return MailboxView.for_device(store, user, device)


def _request(ctx: CommandContext) -> PingRequest:
    """The request completed from the last one; PingRefused when it breaks a limit."""
    heartbeat, folders = _read(ctx)
    cached = ctx.device.extra.get(CACHE_KEY) or {}
    if heartbeat is None:
        heartbeat = cached.get("heartbeat_s")
    if folders is None:
        folders = [tuple(f) for f in cached.get("folders", [])]
    if heartbeat is None or not folders:
        raise PingRefused(PingStatus.MISSING_PARAMETERS)
    config = ctx.services.config
    if heartbeat < config.ping_min_heartbeat_s:
        raise PingRefused(PingStatus.HEARTBEAT_OUT_OF_BOUNDS,
                          ("HeartbeatInterval", config.ping_min_heartbeat_s))
    if heartbeat > config.ping_max_heartbeat_s:
        raise PingRefused(PingStatus.HEARTBEAT_OUT_OF_BOUNDS,
                          ("HeartbeatInterval", config.ping_max_heartbeat_s))
    if len(folders) > config.ping_max_folders:
        raise PingRefused(PingStatus.TOO_MANY_FOLDERS, ("MaxFolders", config.ping_max_folders))
    unique = list(dict.fromkeys(folders))
    return PingRequest(heartbeat, tuple(f for f, _ in unique), tuple(c for _, c in unique))


def _read(ctx: CommandContext) -> tuple[int | None, list[tuple[str, str]] | None]:
    document = ctx.document
    if document is None:
        return None, None
    if document.tag != "{Ping:}Ping":
        raise PingRefused(PingStatus.PROTOCOL_ERROR)
    heartbeat_text = text(document, "Ping:HeartbeatInterval")
    heartbeat = integer(heartbeat_text)
    if heartbeat_text is not None and heartbeat is None:
        raise PingRefused(PingStatus.PROTOCOL_ERROR)
    folders_el = child(document, "Ping:Folders")
    if folders_el is None:
        return heartbeat, None
    folders = []
    for folder in children(folders_el, "Ping:Folder"):
        folder_id = (text(folder, "Ping:Id") or "").strip()
        if not folder_id:
            raise PingRefused(PingStatus.PROTOCOL_ERROR)
        folders.append((folder_id, (text(folder, "Ping:Class") or "").strip()))
    return heartbeat, folders or None


async def _remember(ctx: CommandContext, request: PingRequest) -> None:
    cached = {"heartbeat_s": request.heartbeat_s,
              "folders": [list(f) for f in zip(request.folder_ids, request.classes, strict=True)]}
    if ctx.device.extra.get(CACHE_KEY) != cached:
        await ctx.services.store.update_device(ctx.device.id, extra={CACHE_KEY: cached})


async def _cursors(ctx: CommandContext, view: MailboxView, folder_ids: tuple[str, ...]
                   ) -> dict[str, Cursor]:
    """Where each folder's changes start: the device's sync state, or — for a folder it
    never synced — the folder as it is now. An unknown folder asks for a FolderSync."""
    store = ctx.services.store
    cursors = {}
    for folder_id in folder_ids:
        if await view.folder(folder_id) is None:
            raise PingRefused(PingStatus.FOLDER_SYNC_REQUIRED)
        state = await store.get_sync_state(ctx.device.id, folder_id)
        if state is not None:
            cursor = Cursor.from_data(state.position, state.data)
            # nothing ahead: the class's empty set, not one of its own (216 bytes a held Ping)
            cursors[folder_id] = cursor if cursor.ahead else Cursor(cursor.position)
        else:
            cursors[folder_id] = Cursor(await store.folder_position(ctx.user.id, folder_id))
    return cursors


async def _hold(store: Store, pushhub: PushHub, user: User, view: MailboxView,
                request: PingRequest, cursors: dict[str, Cursor]) -> CommandResult:
    """The answer: Status 2 with the watched folders that have something to sync, as soon as there are
    any; 7 when the hierarchy moved on; 1 when the heartbeat passes first or a newer
    request of the device takes over. The watch starts before the first check.

    While it waits a Ping keeps what it needs to re-check and no more (no folder list, no
    snapshot unless the device never ran FolderSync), and a wake costs one query per folder
    that changed: the device record is read again only when its access state changed."""
    deadline = time.monotonic() + request.heartbeat_s
    device_pk = view.device_pk
    watched = (*request.folder_ids, hierarchy.HIERARCHY)
    with pushhub.watch(user.id, watched, holder=device_pk) as watch:
        folders = _HierarchyCheck(store, user.id, device_pk)
        if await folders.moved_on(first=True):
            return _answer(PingStatus.FOLDER_SYNC_REQUIRED)
        woken: Collection[str] = request.folder_ids
        while True:
            changed = [f for f in request.folder_ids
                       if f in woken and await view.has_changes(f, cursors[f])]
            if changed:
                return _answer(PingStatus.CHANGES, folder_ids=changed)
            remaining = deadline - time.monotonic()
            woken = set()
            if remaining > 0:
                await watch.woken(remaining)  # a future: no frame of its own while held
                woken = watch.take()
            if not woken:
                return _answer(PingStatus.EXPIRED)
            if watch.take_access_changed():  # quarantine began or ended: see it as it is now
                view = _waiting_view(store, user, await store.get_device_by_pk(device_pk))
            if hierarchy.HIERARCHY in woken and await folders.moved_on():
                return _answer(PingStatus.FOLDER_SYNC_REQUIRED)


class _HierarchyCheck:
    """Whether the folders moved on from those the device was last told about (read afresh
    each time: its own folder commands move that on), or — for a device that never ran
    FolderSync — from the folders as they were when the Ping began."""

    __slots__ = ("store", "user_id", "device_pk", "first_seen")

    def __init__(self, store: Store, user_id: int, device_pk: int) -> None:
        self.store, self.user_id, self.device_pk = store, user_id, device_pk
        self.first_seen: hierarchy.Snapshot | None = None

    async def moved_on(self, *, first: bool = False) -> bool:
        folders = await self.store.list_folders(self.user_id)
        told = await hierarchy.told_snapshot(self.store, self.device_pk)
        if told is None and first:
            self.first_seen = hierarchy.snapshot_of(folders)
        return bool(hierarchy.diff(told if told is not None else self.first_seen or {},
                                   folders))


def _answer(status: PingStatus, *, folder_ids: list[str] | None = None,
            limit: tuple[str, int] | None = None) -> CommandResult:
    root = E("Ping:Ping")
    sub(root, "Ping:Status", int(status))
    if folder_ids:
        folders = sub(root, "Ping:Folders")
        for folder_id in folder_ids:
            sub(folders, "Ping:Folder", folder_id)
    if limit is not None:
        sub(root, f"Ping:{limit[0]}", limit[1])
    return CommandResult(root)
