"""The sync engine driven by pyactivesync (an EAS 16.1 client we did not write) over HTTPS
against the live gateway: folders, Sync of every class, uploads, estimates, Ping, and a
two-way sync that loses nothing."""
from __future__ import annotations

import asyncio
from email.message import EmailMessage

import pytest
from pyactivesync import Contact, ContactChange, EmailChange, FolderType
from server_fixtures import pyactivesync_client

from gateway.content import new_email
from store.types import FolderType as StoreFolderType


@pytest.fixture
async def client(live_server):
    eas = pyactivesync_client(live_server)
    # requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE override verify=False: ignore them.
    eas.sync._transport.session.trust_env = False
    yield eas
    await eas.close()


async def folder_of(client, folder_type):
    return next(f for f in await client.list_folders() if f.type == folder_type)


async def full_sync(client, folder_id, window=25):
    """Sync from key 0 until nothing more; the client's copy {server id: fields}, and the key."""
    result = await client.sync_folder(folder_id)
    key, local = result.sync_key, {}
    while True:
        result = await client.sync_folder(folder_id, key, window_size=window)
        key = result.sync_key
        apply(local, result)
        if not result.more_available:
            return local, key


def apply(local, result):
    for item in result.added + result.changed:
        local.setdefault(item.server_id, {}).update(item.fields)
    for server_id in result.deleted:
        local.pop(server_id, None)


async def deliver(live_server, subject, address="alice@contoso.com"):
    store = live_server.store
    user = await store.get_user(address)
    inbox = await store.find_folder(user.id, StoreFolderType.INBOX)
    item = new_email(sender="dave@example.com", to=[address], subject=subject,
                     text=f"About {subject}", date=live_server.clock.now())
    return (await store.add_item(user.id, inbox.id, item)).server_id


async def test_folders_and_every_class_sync_completely(live_server, client):
    folders = await client.list_folders()
    types = {f.type for f in folders}
    assert {FolderType.INBOX, FolderType.CALENDAR, FolderType.CONTACTS, FolderType.TASKS} <= types
    user = await live_server.store.get_user("alice@contoso.com")
    for folder_type in (FolderType.INBOX, FolderType.CALENDAR, FolderType.CONTACTS,
                        FolderType.TASKS):
        folder = next(f for f in folders if f.type == folder_type)
        local, _ = await full_sync(client, folder.id)
        stored = await live_server.store.list_items(user.id, folder.id)
        assert set(local) == {i.server_id for i in stored}, folder.name
        assert stored, folder.name
    inbox = next(f for f in folders if f.type == FolderType.INBOX)
    local, _ = await full_sync(client, inbox.id)
    assert all("Email.Subject" in fields for fields in local.values())


async def test_uploads_drafts_contacts_and_changes(live_server, client):
    user = await live_server.store.get_user("alice@contoso.com")
    drafts = await folder_of(client, FolderType.DRAFTS)
    _, key = await full_sync(client, drafts.id)
    message = EmailMessage()
    message["Subject"], message["To"] = "Draft from the phone", "bob@contoso.com"
    message.set_content("Half written.")
    draft = await client.create_email_draft(drafts.id, key, message)
    assert draft.status == "1" and draft.server_id
    assert (await live_server.store.get_item(user.id, draft.server_id)).item_class == "Email"

    contacts = await folder_of(client, FolderType.CONTACTS)
    local, key = await full_sync(client, contacts.id)
    added = await client.create_contact(contacts.id, key, Contact(first_name="Zoe",
                                                                  last_name="Quinn"))
    assert added.status == "1"
    assert (await live_server.store.get_item(user.id, added.server_id)).data["FirstName"] == "Zoe"
    first, second = sorted(local)[:2]
    changed = await client.apply_contact_changes(contacts.id, added.sync_key, [
        ContactChange(first, Contact(first_name="Renamed", job_title="Pilot")),
        ContactChange(second, delete=True)])
    assert set(changed.statuses.values()) == {"1"}
    renamed = await live_server.store.get_item(user.id, first)
    assert renamed.data["FirstName"] == "Renamed" and renamed.data.get("LastName") is None
    assert second not in {i.server_id for i in await live_server.store.list_items(
        user.id, contacts.id)}

    inbox = await folder_of(client, FolderType.INBOX)
    local, key = await full_sync(client, inbox.id)
    one, two, three = sorted(local)[:3]
    result = await client.apply_email_changes(inbox.id, key, [
        EmailChange(one, read=True), EmailChange(two, flagged=True), EmailChange(three, delete=True)])
    assert set(result.statuses.values()) == {"1"}
    assert (await live_server.store.get_item(user.id, one)).read
    assert (await live_server.store.get_item(user.id, two)).flagged
    trash = await live_server.store.find_folder(user.id, StoreFolderType.DELETED_ITEMS)
    assert len(await live_server.store.list_items(user.id, trash.id)) == 1


async def test_item_estimate_counts_new_mail(live_server, client):
    inbox = await folder_of(client, FolderType.INBOX)
    _, key = await full_sync(client, inbox.id)
    assert await client.get_item_estimate(inbox.id, key) == 0
    await deliver(live_server, "one")
    await deliver(live_server, "two")
    assert await client.get_item_estimate(inbox.id, key) == 2


async def test_folder_create_update_delete(live_server, client):
    user = await live_server.store.get_user("alice@contoso.com")
    made = await client.create_folder("Receipts", type=FolderType.USER_MAIL)
    assert (await live_server.store.get_folder(user.id, made.id)).name == "Receipts"
    await client.update_folder(made.id, "Bills")
    assert (await live_server.store.get_folder(user.id, made.id)).name == "Bills"
    await client.delete_folder(made.id)
    assert made.id not in {f.id for f in await client.list_folders()}


async def test_ping_is_woken_by_delivered_mail(live_server, client):
    inbox = await folder_of(client, FolderType.INBOX)
    await full_sync(client, inbox.id)
    held = asyncio.create_task(client.ping(inbox.id, heartbeat=120, timeout=60))
    await asyncio.sleep(0.5)
    assert not held.done()
    await deliver(live_server, "wake the phone")
    result = await asyncio.wait_for(held, 20)
    assert result.status == "2" and result.changed_folder_ids == [inbox.id]


async def test_two_way_sync_loses_nothing_and_the_server_wins_conflicts(live_server, client):
    store = live_server.store
    user = await store.get_user("alice@contoso.com")
    contacts = await folder_of(client, FolderType.CONTACTS)
    local, key = await full_sync(client, contacts.id)
    ids = sorted(local)
    contested, client_only, server_deleted, client_deleted = ids[:4]

    # The server side changes at the same time as the client …
    from store.types import NewItem
    server_added = (await store.add_item(user.id, contacts.id, NewItem(
        item_class="Contacts", data={"FirstName": "Server", "LastName": "Added"}))).server_id
    await store.update_item(user.id, contested, data={"FirstName": "ServerWins"})
    await store.delete_item(user.id, server_deleted)

    # … and the client, still on its old key, uploads its own changes.
    added = await client.create_contact(contacts.id, key, Contact(first_name="Client",
                                                                  last_name="Added"))
    local[added.server_id] = {"Contacts.FirstName": "Client", "Contacts.LastName": "Added"}
    result = await client.apply_contact_changes(contacts.id, added.sync_key, [
        ContactChange(contested, Contact(first_name="ClientLoses")),
        ContactChange(client_only, Contact(first_name="ClientKeeps")),
        ContactChange(client_deleted, delete=True)])
    assert result.statuses[contested] == "7"  # conflict: the server's version stands
    assert result.statuses[client_only] == "1"
    local[client_only] = {"Contacts.FirstName": "ClientKeeps"}
    local.pop(client_deleted)

    key = result.sync_key
    while True:
        synced = await client.sync_folder(contacts.id, key)
        key = synced.sync_key
        apply(local, synced)
        if not synced.more_available:
            break

    stored = {i.server_id: i for i in await store.list_items(user.id, contacts.id)}
    assert set(local) == set(stored)
    assert server_added in local and added.server_id in local
    assert server_deleted not in local and client_deleted not in stored
    assert stored[contested].data["FirstName"] == "ServerWins"
    assert local[contested]["Contacts.FirstName"] == "ServerWins"
    assert stored[client_only].data["FirstName"] == "ClientKeeps"
