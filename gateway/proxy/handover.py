"""Leading a device back to the upstream after the gateway served it itself.

While a device is quarantined (or has a remote wipe pending) the gateway answers it from
its own store, as in store mode: its own hierarchy, its own SyncKeys, only the notice. The
upstream never issued those keys, so once the device is allowed again they must not reach
it — an upstream might even take one for its own by chance (Z-Push and grommunio-sync keys
have the same ``{uuid}n`` shape as ours). Until the device has started over, the gateway
answers every request that shows one of its keys with that command's invalid-key status,
as a server answers keys it lost (MS-ASCMD 3.1.5.3):

- FolderSync, FolderCreate, FolderUpdate, FolderDelete: Status 9, and the client starts
  over with FolderSync key 0 — which goes to the upstream;
- Sync: Status 3 for each collection that shows a gateway key (the client starts that
  collection over with key 0);
- GetItemEstimate: Status 4 for such a collection;
- Ping: Status 7 (folder hierarchy sync required) while the device still holds the
  gateway's folder hierarchy: its folder ids are the gateway's, not the upstream's.

A FolderSync with key 0 passed to the upstream ends the handover: the device's local sync
states are deleted (a client that resets its hierarchy resets its collections too), and the
mark that says "this device holds gateway keys" is cleared, so an allowed device that never
was quarantined costs no store read here.

The client's policy key is the gateway's too: the upstream answers it as unknown (142 or
144, HTTP 449 on 12.1) and the client provisions again, there. docs/proxy.md tells QA teams
how this differs from store mode, where SyncKeys survive a quarantine.
"""
from __future__ import annotations

from lxml import etree

from gateway.commands.base import CommandResult
from gateway.sync.hierarchy import HIERARCHY
from gateway.synckeys import InvalidSyncKey, is_initial, match
from protocol.status import (
    FolderSyncStatus,
    GetItemEstimateStatus,
    PingStatus,
    SyncStatus,
)
from protocol.xml import E, child, children, local_name, sub, text
from store.api import Store
from store.types import Device

# Device.extra key: the gateway served this device itself and may have issued it keys.
SERVED_LOCALLY = "proxy_served_locally"

_HIERARCHY_COMMANDS = {
    "FolderSync": "FolderHierarchy:FolderSync",
    "FolderCreate": "FolderHierarchy:FolderCreate",
    "FolderUpdate": "FolderHierarchy:FolderUpdate",
    "FolderDelete": "FolderHierarchy:FolderDelete",
}


async def mark_served_locally(store: Store, device: Device) -> None:
    """Called before the gateway answers a device itself in proxy mode."""
    if not device.extra.get(SERVED_LOCALLY):
        await store.update_device(device.id, extra={SERVED_LOCALLY: True})


async def answer_gateway_keys(store: Store, device: Device, command: str,
                              document: etree._Element | None) -> CommandResult | None:
    """The gateway's own answer when the request shows a key the gateway issued; None when
    the request may go to the upstream."""
    if not device.extra.get(SERVED_LOCALLY):
        return None
    if command in _HIERARCHY_COMMANDS:
        return await _hierarchy(store, device, command, document)
    if command == "Ping":
        if await store.get_sync_state(device.id, HIERARCHY) is not None:
            return _document(E("Ping:Ping", E("Ping:Status",
                                              int(PingStatus.FOLDER_SYNC_REQUIRED))))
        return None
    if command == "Sync" and document is not None:
        return await _sync(store, device, document)
    if command == "GetItemEstimate" and document is not None:
        return await _estimate(store, device, document)
    return None


async def _hierarchy(store: Store, device: Device, command: str,
                     document: etree._Element | None) -> CommandResult | None:
    key = text(document, "FolderHierarchy:SyncKey") if document is not None else None
    if key is None:
        return None
    if command == "FolderSync" and is_initial(key):
        await forget_local_keys(store, device)  # starting over, with the upstream
        return None
    if not await _issued_here(store, device, HIERARCHY, key):
        return None
    root = E(_HIERARCHY_COMMANDS[command])
    sub(root, "FolderHierarchy:Status", int(FolderSyncStatus.INVALID_SYNC_KEY))
    return _document(root)


async def forget_local_keys(store: Store, device: Device) -> None:
    await store.delete_sync_states(device.id)
    await store.update_device(device.id, extra={SERVED_LOCALLY: False})


async def _sync(store: Store, device: Device, document: etree._Element) -> CommandResult | None:
    collections = child(document, "AirSync:Collections")
    stale: list[str] = []
    for collection in children(collections, "AirSync:Collection") if collections is not None \
            else []:
        folder_id = (text(collection, "AirSync:CollectionId") or "").strip()
        key = text(collection, "AirSync:SyncKey")
        if key is not None and await _issued_here(store, device, folder_id, key):
            stale.append(folder_id)
    if not stale:
        return None
    root = E("AirSync:Sync")
    answered = sub(root, "AirSync:Collections")
    for folder_id in stale:
        await store.delete_sync_states(device.id, folder_id)  # its next key is 0
        entry = sub(answered, "AirSync:Collection")
        sub(entry, "AirSync:SyncKey", "0")
        sub(entry, "AirSync:CollectionId", folder_id)
        sub(entry, "AirSync:Status", int(SyncStatus.INVALID_SYNC_KEY))
    return _document(root)


async def _estimate(store: Store, device: Device, document: etree._Element
                    ) -> CommandResult | None:
    page = "GetItemEstimate"
    collections = child(document, f"{page}:Collections")
    stale: list[str] = []
    for collection in children(collections, f"{page}:Collection") if collections is not None \
            else []:
        folder_id = (text(collection, f"{page}:CollectionId") or "").strip()
        key = text(collection, "AirSync:SyncKey") or text(collection, f"{page}:SyncKey")
        if key is not None and await _issued_here(store, device, folder_id, key):
            stale.append(folder_id)
    if not stale:
        return None
    root = E(f"{page}:GetItemEstimate")
    for folder_id in stale:
        response = sub(root, f"{page}:Response")
        sub(response, f"{page}:Status", int(GetItemEstimateStatus.INVALID_SYNC_KEY))
        sub(sub(response, f"{page}:Collection"), f"{page}:CollectionId", folder_id)
    return _document(root)


async def _issued_here(store: Store, device: Device, collection_id: str, key: str) -> bool:
    """Whether ``key`` is one of the gateway's keys for this device's collection."""
    if is_initial(key):
        return False
    state = await store.get_sync_state(device.id, collection_id)
    if state is None:
        return False
    try:
        match(key, state)
    except InvalidSyncKey:
        return False
    return True


def _document(root: etree._Element) -> CommandResult:
    return CommandResult(root, trace_note={"proxy": f"gateway key: {local_name(root)} answered "
                                                    "here, the client starts over upstream"})
