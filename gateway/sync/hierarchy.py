"""The folder hierarchy as a device knows it, for FolderSync and the folder commands.

The hierarchy's sync state (collection ``""``) keeps a snapshot of the folders the device
was told about: ``{server id: [parent id, name, type]}``. FolderSync answers the difference
between the mailbox's folders now and that snapshot; FolderCreate, FolderUpdate and
FolderDelete move the snapshot on with the change the client itself made, so it is not
echoed back. As with Sync, the previous state is kept for a resend, and an answer with no
change keeps the client's key.

Two requests of one device can overlap (a retried FolderSync on another process): each
writes its new state only over the state it started from (`Store.replace_sync_state`), so
the slower one gets `Conflict` and answers the server error status (6, which a client
answers by trying again) instead of storing a snapshot that differs from what the faster
one told the client.
"""
from __future__ import annotations

from dataclasses import dataclass

from gateway.synckeys import InvalidSyncKey, KeyMatch, SyncKey, current_key, is_initial, match
from protocol.numbers import whole_number
from store.api import Store
from store.types import Folder, SyncState

HIERARCHY = ""
Snapshot = dict[str, list]  # server id → [parent id, display name, type]


@dataclass(frozen=True)
class HierarchyDiff:
    added: list[Folder]
    updated: list[Folder]
    deleted: list[str]

    def __bool__(self) -> bool:
        return bool(self.added or self.updated or self.deleted)


@dataclass(frozen=True)
class KnownHierarchy:
    """What the client's key names: the snapshot to diff against, and whether the client
    resent its previous request."""

    state: SyncState | None
    key: SyncKey | None  # None for SyncKey 0
    snapshot: Snapshot
    replay: bool


async def known(store: Store, device_pk: int, sync_key: str) -> KnownHierarchy:
    """InvalidSyncKey when the key names no state of this device."""
    state = await store.get_sync_state(device_pk, HIERARCHY)
    if is_initial(sync_key):
        return KnownHierarchy(state, None, {}, replay=False)
    if match(sync_key, state) is KeyMatch.CURRENT:
        assert state is not None
        return KnownHierarchy(state, current_key(state), state.data.get("folders", {}), False)
    assert state is not None and state.prev_sync_key is not None
    key = SyncKey(state.prev_data["chain"], state.prev_sync_key)
    return KnownHierarchy(state, key, state.prev_data.get("folders", {}), replay=True)


@dataclass(frozen=True)
class LastChange:
    """The change that made the device's current hierarchy state: its key, and the
    folders the device knew before and after it."""

    key: SyncKey
    before: Snapshot
    after: Snapshot


async def last_change_from(store: Store, device_pk: int, sync_key: str) -> LastChange | None:
    """The change that made the current state, when it was made from ``sync_key``: a
    request sent with that key again (its answer lost, or a resend that overlapped the
    first) is that change, made before. None otherwise."""
    state = await store.get_sync_state(device_pk, HIERARCHY)
    try:
        if state is None or match(sync_key, state) is not KeyMatch.PREVIOUS:
            return None
    except InvalidSyncKey:
        return None
    return LastChange(current_key(state), state.prev_data.get("folders", {}),
                      state.data.get("folders", {}))


async def told_snapshot(store: Store, device_pk: int) -> Snapshot | None:
    """The folders the device was last told about; None before its first FolderSync."""
    state = await store.get_sync_state(device_pk, HIERARCHY)
    return state.data.get("folders", {}) if state is not None else None


async def moved_on(store: Store, device_pk: int, folders: list[Folder], fallback: Snapshot
                   ) -> bool:
    """Whether ``folders`` (the mailbox's now) differ from those the device was last told
    about, or from ``fallback`` for a device that never ran FolderSync. Read afresh each
    time: the device's own folder commands move its snapshot on."""
    told = await told_snapshot(store, device_pk)
    return bool(diff(fallback if told is None else told, folders))


def snapshot_of(folders: list[Folder]) -> Snapshot:
    return {f.id: [f.parent_id, f.name, int(f.type)] for f in folders}


def diff(snapshot: Snapshot, folders: list[Folder]) -> HierarchyDiff:
    now = snapshot_of(folders)
    added = [f for f in folders if f.id not in snapshot]
    updated = [f for f in folders if f.id in snapshot and snapshot[f.id] != now[f.id]]
    deleted = sorted(set(snapshot) - set(now), key=_numeric_first)
    # Parents before children, so a client can place each Add as it reads it.
    return HierarchyDiff(_parents_first(added), updated, deleted)


async def save(store: Store, device_pk: int, known_: KnownHierarchy, snapshot: Snapshot) -> SyncKey:
    """Store ``snapshot`` as what the device now knows; returns the key that names it.
    `Conflict` when another request of the device stored a state since ``known_`` was read."""
    state = known_.state
    if known_.key is None or state is None:  # SyncKey 0: a new chain
        key = SyncKey.first()
        await store.replace_sync_state(SyncState(
            device_pk=device_pk, collection_id=HIERARCHY, sync_key=key.counter, position=0,
            data={"chain": key.chain, "folders": snapshot}), state)
        return key
    if known_.replay:
        await store.replace_sync_state(SyncState(
            device_pk=device_pk, collection_id=HIERARCHY, sync_key=state.sync_key, position=0,
            data={**state.data, "folders": snapshot},
            prev_sync_key=state.prev_sync_key, prev_position=0, prev_data=state.prev_data),
            state)
        return current_key(state)
    key = known_.key.successor()
    await store.replace_sync_state(SyncState(
        device_pk=device_pk, collection_id=HIERARCHY, sync_key=key.counter, position=0,
        data={"chain": key.chain, "folders": snapshot},
        prev_sync_key=known_.key.counter, prev_position=0,
        prev_data={"chain": known_.key.chain, "folders": known_.snapshot}), state)
    return key


def _parents_first(folders: list[Folder]) -> list[Folder]:
    placed: set[str] = set()
    ids = {f.id for f in folders}
    ordered: list[Folder] = []
    pending = sorted(folders, key=lambda f: _numeric_first(f.id))
    while pending:
        ready = [f for f in pending if f.parent_id not in ids or f.parent_id in placed]
        if not ready:  # a cycle cannot happen in the store; keep going anyway
            ready = pending[:1]
        for folder in ready:
            ordered.append(folder)
            placed.add(folder.id)
        pending = [f for f in pending if f.id not in placed]
    return ordered


def _numeric_first(server_id: str) -> tuple[int, str]:
    number = whole_number(server_id)
    return (number, "") if number is not None else (1 << 62, server_id)


__all__ = ["HIERARCHY", "HierarchyDiff", "InvalidSyncKey", "KnownHierarchy", "LastChange", "diff",
           "known", "last_change_from", "moved_on", "save", "snapshot_of", "told_snapshot"]
