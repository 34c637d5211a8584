"""Ping (MS-ASCMD 2.2.1.13): hold the request until a watched folder has something the
device would sync, or the heartbeat passes.

A held Ping is a watch in the push hub and a sleeping coroutine: no thread, no timer that
polls and no database connection while it waits. It re-checks through the device's
`MailboxView` each time the hub wakes it, so a quarantined device wakes only for its
notice arriving or leaving. A Ping that leaves out its heartbeat or folders reuses those
of the device's last Ping (kept in the device record).
"""
from __future__ import annotations

import time
from dataclasses import dataclass

from gateway.commands.base import CommandContext, CommandResult
from gateway.mailbox import Cursor, MailboxView
from protocol.status import PingStatus
from protocol.xml import E, child, children, sub, text

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


async def handle(ctx: CommandContext) -> CommandResult:
    try:
        request = _request(ctx)
        await _remember(ctx, request)
        cursors = await _cursors(ctx, ctx.mailbox, request.folder_ids)
    except PingRefused as refused:
        return _answer(refused.status, limit=refused.limit)
    changed = await _hold(ctx, request, cursors)
    if changed:
        return _answer(PingStatus.CHANGES, folder_ids=[f for f in request.folder_ids if f in changed])
    return _answer(PingStatus.EXPIRED)


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
    heartbeat = None
    if heartbeat_text is not None:
        try:
            heartbeat = int(heartbeat_text.strip())
        except ValueError:
            raise PingRefused(PingStatus.PROTOCOL_ERROR) from None
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
            cursors[folder_id] = Cursor.from_data(state.position, state.data)
        else:
            cursors[folder_id] = Cursor(await store.folder_position(ctx.user.id, folder_id))
    return cursors


async def _hold(ctx: CommandContext, request: PingRequest, cursors: dict[str, Cursor]) -> set[str]:
    """The watched folders with something to sync, as soon as there are any; empty when
    the heartbeat passes first. The watch starts before the first check."""
    deadline = time.monotonic() + request.heartbeat_s
    with ctx.services.pushhub.watch(ctx.user.id, request.folder_ids) as watch:
        view = ctx.mailbox
        while True:
            changed = {f for f in request.folder_ids if await view.has_changes(f, cursors[f])}
            remaining = deadline - time.monotonic()
            if changed or remaining <= 0:
                return changed
            if not await watch.wait(remaining):
                return set()
            device = await ctx.services.store.get_device_by_pk(ctx.device.id)
            view = await MailboxView.load(ctx.services, ctx.user, device)


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
