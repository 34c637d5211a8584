"""Two mailboxes side by side: Bob's holds secrets, Alice tries to reach them.

Ids are per mailbox (each user has a folder "2" and an item "2:1"), so a forged id can only
ever name the forger's own things — unless a query forgets whose mailbox it is in. Bob's
secrets therefore carry a marker that appears nowhere in Alice's mailbox: in a folder name,
subjects, bodies, an attachment's name and bytes. Every answer Alice gets is searched for
it, and Bob's mailbox, devices and sync states are compared before and after.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from server_fixtures import EASAnswer, LiveServer

from gateway.content.mail import new_email
from protocol.xml import E, child, children, text
from store import FolderType

MARKER = "ZQX-BOB-ONLY-7731"
ALICE, BOB, CAROL = "alice@contoso.com", "bob@contoso.com", "carol@contoso.com"
ALICE_PHONE, BOB_PHONE = "ALICEPHONE01", "BOBPHONE01"


@dataclass
class BobsSecrets:
    folder_ids: list[str]
    private_folder: str
    server_ids: list[str]
    secret_items: list[str]
    file_references: list[str]
    sync_keys: dict[str, str] = field(default_factory=dict)  # "" is the hierarchy's
    policy_key: str = ""


async def plant_secrets(server: LiveServer) -> BobsSecrets:
    store = server.store
    bob = await store.get_user(BOB)
    private = await store.create_folder(bob.id, "0", f"Private {MARKER}", FolderType.USER_MAIL)
    inbox = await store.find_folder(bob.id, FolderType.INBOX)
    when = dt.datetime(2026, 11, 20, 9, 0, tzinfo=dt.UTC)
    secret = []
    for folder in (inbox, private):
        mail = new_email(sender=CAROL, to=BOB, subject=f"Salary {MARKER}",
                         text=f"Only Bob may read {MARKER}.", date=when,
                         attachments=[(f"{MARKER}.txt", "text/plain", f"bytes {MARKER}".encode())])
        secret.append((await store.add_item(bob.id, folder.id, mail)).server_id)
    folders = await store.list_folders(bob.id)
    items = [item for folder in folders for item in await store.list_items(bob.id, folder.id)]
    return BobsSecrets(
        folder_ids=[f.id for f in folders], private_folder=private.id,
        server_ids=[i.server_id for i in items], secret_items=secret,
        file_references=[a.file_reference for i in items for a in i.attachments])


async def bobs_phone_syncs(server: LiveServer, secrets: BobsSecrets) -> None:
    """Bob's phone provisions, fetches the hierarchy and primes his Inbox: it holds keys."""
    secrets.policy_key = await server.provision(user=BOB, device_id=BOB_PHONE)
    hierarchy = await server.eas("FolderSync", folder_sync("0"), user=BOB, device_id=BOB_PHONE)
    secrets.sync_keys[""] = text(hierarchy.document, "FolderHierarchy:SyncKey")
    answer = await server.eas("Sync", sync_request("2", "0"), user=BOB, device_id=BOB_PHONE)
    secrets.sync_keys["2"] = collection_key(answer)


async def mailbox_snapshot(server: LiveServer, address: str) -> dict:
    """Everything of a mailbox a client could change, and its devices and sync states."""
    store = server.store
    user = await store.get_user(address)
    folders = await store.list_folders(user.id)
    snapshot: dict = {"folders": sorted((f.id, f.parent_id, f.name) for f in folders)}
    for folder in folders:
        snapshot[folder.id] = sorted(
            (i.server_id, i.read, i.flagged, repr(sorted(i.data.items())), i.body_text)
            for i in await store.list_items(user.id, folder.id))
    for device in await store.list_devices(user=address):
        states = {}
        for folder_id in ["", *[f.id for f in folders]]:
            state = await store.get_sync_state(device.id, folder_id)
            if state is not None:
                states[folder_id] = (state.sync_key, state.position)
        snapshot[f"device {device.device_id}"] = (device.state, device.policy_key, states)
    return snapshot


# --- documents ------------------------------------------------------------------------
def folder_sync(key: str):
    return E("FolderHierarchy:FolderSync", E("FolderHierarchy:SyncKey", key))


def sync_request(collection_id: str, key: str, *commands):
    collection = E("AirSync:Collection", E("AirSync:SyncKey", key),
                   E("AirSync:CollectionId", collection_id))
    if key != "0":
        collection.append(E("AirSync:GetChanges"))
        collection.append(E("AirSync:WindowSize", "512"))
        options = E("AirSync:Options", E("AirSyncBase:BodyPreference", E("AirSyncBase:Type", "4")))
        collection.append(options)
    if commands:
        collection.append(E("AirSync:Commands", *commands))
    return E("AirSync:Sync", E("AirSync:Collections", collection))


def collection_key(answer: EASAnswer) -> str:
    collections = child(answer.document, "AirSync:Collections")
    return text(children(collections, "AirSync:Collection")[0], "AirSync:SyncKey")


def reveals(answer: EASAnswer) -> bool:
    return MARKER.encode() in answer.body


def collection_status(answer: EASAnswer) -> int | None:
    """The Status of the answer's first collection (a Sync's per-collection verdict)."""
    collections = child(answer.document, "AirSync:Collections")
    if collections is None:
        return answer.eas_status
    value = text(children(collections, "AirSync:Collection")[0], "AirSync:Status")
    return int(value) if value else None
