"""Sync over a real store: paging, client uploads, conflicts, resends, bad keys, the cache."""
from __future__ import annotations

import asyncio

import pytest
from synchelp import Harness, responses, server_changes

from protocol.xml import E, child, text
from store.types import FolderType, NewItem


@pytest.fixture
async def env(store):
    """Both engines: the change log and sync states must behave the same on each."""
    return await Harness.create(store)


async def test_initial_sync_then_everything_paged_with_more_available(env):
    alice = await env.client()
    inbox = await env.folder_id("alice@contoso.com", FolderType.INBOX)
    first = await alice.sync(inbox)
    assert text(first, "AirSync:Status") == "1"
    assert child(first, "AirSync:Commands") is None  # key 0 only primes the state
    page = await alice.sync(inbox, window=10)
    assert len(server_changes(page)["Add"]) == 10
    assert child(page, "AirSync:MoreAvailable") is not None
    rest = await alice.sync_all(inbox, window=10)
    items = await env.store.list_items(alice.user.id, inbox)
    assert len(rest["Add"]) + 10 == len(items)
    idle = await alice.sync(inbox)
    assert server_changes(idle) == {"Add": [], "Change": [], "Delete": []}
    assert text(idle, "AirSync:SyncKey") == alice.keys[inbox]


async def test_server_add_change_delete_flow_to_the_client(env):
    alice = await env.client()
    inbox = await env.folder_id("alice@contoso.com", FolderType.INBOX)
    await alice.sync_all(inbox)
    new_id = await env.deliver("alice@contoso.com", "Fresh")
    items = await env.store.list_items(alice.user.id, inbox)
    await env.store.update_item(alice.user.id, items[0].server_id, read=True)
    await env.store.delete_item(alice.user.id, items[1].server_id)
    changes = server_changes(await alice.sync(inbox))
    assert changes == {"Add": [new_id], "Change": [items[0].server_id],
                       "Delete": [items[1].server_id]}


async def test_client_change_and_delete_are_kept_and_not_echoed(env):
    alice = await env.client()
    inbox = await env.folder_id("alice@contoso.com", FolderType.INBOX)
    await alice.sync_all(inbox)
    items = await env.store.list_items(alice.user.id, inbox)
    read = E("AirSync:Change", E("AirSync:ServerId", items[0].server_id),
             E("AirSync:ApplicationData", E("Email:Read", "1")))
    delete = E("AirSync:Delete", E("AirSync:ServerId", items[1].server_id))
    answer = await alice.sync(inbox, commands=[read, delete])
    assert text(answer, "AirSync:Status") == "1"
    assert responses(answer) == []  # successes are silent
    assert server_changes(answer) == {"Add": [], "Change": [], "Delete": []}
    assert (await env.store.get_item(alice.user.id, items[0].server_id)).read
    trash = await env.folder_id("alice@contoso.com", FolderType.DELETED_ITEMS)
    assert [i.data["Subject"] for i in await env.store.list_items(alice.user.id, trash)] == [
        items[1].data["Subject"]]  # DeletesAsMoves by default


async def test_conflict_server_wins_by_default_and_client_wins_when_asked(env):
    alice = await env.client()
    inbox = await env.folder_id("alice@contoso.com", FolderType.INBOX)
    await alice.sync_all(inbox)
    target = (await env.store.list_items(alice.user.id, inbox))[0].server_id
    await env.store.update_item(alice.user.id, target, flagged=True)  # server side
    change = E("AirSync:Change", E("AirSync:ServerId", target),
               E("AirSync:ApplicationData", E("Email:Read", "1")))
    answer = await alice.sync(inbox, commands=[change])
    [response] = responses(answer)
    assert text(response, "AirSync:Status") == "7"
    assert server_changes(answer)["Change"] == [target]  # the server's version
    assert not (await env.store.get_item(alice.user.id, target)).read
    await env.store.update_item(alice.user.id, target, flagged=False)
    client_wins = E("AirSync:Options", E("AirSync:Conflict", "0"))
    answer = await alice.sync(inbox, commands=[change], options=client_wins)
    assert responses(answer) == []
    assert (await env.store.get_item(alice.user.id, target)).read


async def test_client_add_of_contact_answers_its_server_id(env):
    alice = await env.client()
    contacts = await env.folder_id("alice@contoso.com", FolderType.CONTACTS)
    await alice.sync_all(contacts)
    add = E("AirSync:Add", E("AirSync:ClientId", "c1"),
            E("AirSync:ApplicationData", E("Contacts:FirstName", "Zoe"),
              E("Contacts:LastName", "Quinn")))
    answer = await alice.sync(contacts, commands=[add], get_changes=False)
    [response] = responses(answer)
    assert text(response, "AirSync:ClientId") == "c1"
    assert text(response, "AirSync:Status") == "1"
    server_id = text(response, "AirSync:ServerId")
    stored = await env.store.get_item(alice.user.id, server_id)
    assert stored.data["FirstName"] == "Zoe"
    assert server_changes(await alice.sync(contacts))["Add"] == []  # not echoed back


async def test_resent_previous_key_gets_the_same_answer_and_adds_nothing_twice(env):
    alice = await env.client()
    contacts = await env.folder_id("alice@contoso.com", FolderType.CONTACTS)
    await alice.sync_all(contacts)
    old_key = alice.keys[contacts]
    await env.store.add_item(alice.user.id, contacts, NewItem(
        item_class="Contacts", data={"FirstName": "Server", "LastName": "Side"}))
    add = E("AirSync:Add", E("AirSync:ClientId", "c9"),
            E("AirSync:ApplicationData", E("Contacts:FirstName", "Client")))
    first = await alice.sync(contacts, key=old_key, commands=[add])
    again = await alice.sync(contacts, key=old_key, commands=[add])  # the answer was lost
    assert text(again, "AirSync:SyncKey") == text(first, "AirSync:SyncKey")
    assert server_changes(again) == server_changes(first)
    assert [text(r, "AirSync:ServerId") for r in responses(again)] == [
        text(r, "AirSync:ServerId") for r in responses(first)]
    names = [i.data.get("FirstName") for i in await env.store.list_items(alice.user.id, contacts)]
    assert names.count("Client") == 1


@pytest.mark.parametrize("key", ["{0123456789abcdef0123456789abcdef}1", "7", "junk", ""])
async def test_forged_or_stale_keys_are_status_3(env, key):
    alice = await env.client()
    inbox = await env.folder_id("alice@contoso.com", FolderType.INBOX)
    await alice.sync(inbox)
    answer = await alice.sync(inbox, key=key)
    assert text(answer, "AirSync:Status") == "3"


async def test_a_key_two_answers_old_is_stale(env):
    alice = await env.client()
    inbox = await env.folder_id("alice@contoso.com", FolderType.INBOX)
    await alice.sync(inbox)
    stale = alice.keys[inbox]
    await alice.sync(inbox, window=5)
    await alice.sync(inbox, window=5)
    assert text(await alice.sync(inbox, key=stale), "AirSync:Status") == "3"


async def test_unknown_collections_and_foreign_items_are_status_8(env):
    """Folder ids are per mailbox: another user's collection is unknown here, and another
    user's item is not in this collection."""
    alice = await env.client()
    bob_inbox_item = await env.deliver("bob@contoso.com", "for bob")
    assert text(await alice.sync("999"), "AirSync:Status") == "8"
    inbox = await env.folder_id("alice@contoso.com", FolderType.INBOX)
    await alice.sync_all(inbox)
    change = E("AirSync:Change", E("AirSync:ServerId", bob_inbox_item),
               E("AirSync:ApplicationData", E("Email:Read", "1")))
    [response] = responses(await alice.sync(inbox, commands=[change]))
    assert text(response, "AirSync:Status") == "8"
    bob = await env.store.get_user("bob@contoso.com")
    bob_item = await env.store.get_item(bob.id, bob_inbox_item)
    assert not bob_item.read


async def test_empty_request_reuses_the_cached_one(env):
    alice = await env.client()
    inbox = await env.folder_id("alice@contoso.com", FolderType.INBOX)
    await alice.sync_all(inbox)
    new_id = await env.deliver("alice@contoso.com", "Later")
    root = await alice.run("Sync", None)
    collection = root.find("{AirSync:}Collections/{AirSync:}Collection")
    assert server_changes(collection)["Add"] == [new_id]


async def test_empty_request_without_cache_is_status_13(env):
    alice = await env.client(device_id="FRESH")
    root = await alice.run("Sync", None)
    assert text(root, "AirSync:Status") == "13"


@pytest.mark.parametrize(("heartbeat", "status", "limit"), [
    ("5", "14", "60"),  # out of bounds: Status 14 with the bound
    ("-5", "14", "60"),  # a signed number is a number
    ("1_20", "4", None),  # what int() alone would read is no number: a protocol error
])
async def test_heartbeat_out_of_bounds_is_status_14_with_the_limit(env, heartbeat, status,
                                                                  limit):
    alice = await env.client()
    inbox = await env.folder_id("alice@contoso.com", FolderType.INBOX)
    document = E("AirSync:Sync", E("AirSync:Collections", E(
        "AirSync:Collection", E("AirSync:SyncKey", "0"), E("AirSync:CollectionId", inbox))),
        E("AirSync:HeartbeatInterval", heartbeat))
    root = await alice.run("Sync", document)
    assert text(root, "AirSync:Status") == status
    assert text(root, "AirSync:Limit") == limit


async def test_waiting_sync_answers_when_mail_arrives(env):
    alice = await env.client()
    inbox = await env.folder_id("alice@contoso.com", FolderType.INBOX)
    await alice.sync_all(inbox)
    document = E("AirSync:Sync", E("AirSync:Collections", E(
        "AirSync:Collection", E("AirSync:SyncKey", alice.keys[inbox]),
        E("AirSync:CollectionId", inbox))), E("AirSync:HeartbeatInterval", "120"))
    waiting = asyncio.create_task(alice.run("Sync", document))
    await asyncio.sleep(0.2)
    assert not waiting.done()
    new_id = await env.deliver("alice@contoso.com", "Wake up")
    root = await asyncio.wait_for(waiting, 5)
    collection = root.find("{AirSync:}Collections/{AirSync:}Collection")
    assert server_changes(collection)["Add"] == [new_id]


async def test_filter_type_keeps_only_recent_mail(env):
    alice = await env.client()
    inbox = await env.folder_id("alice@contoso.com", FolderType.INBOX)
    three_days = E("AirSync:Options", E("AirSync:FilterType", "2"))
    await alice.sync(inbox, options=three_days)
    answer = await alice.sync(inbox, options=three_days, window=500)
    items = await env.store.list_items(alice.user.id, inbox)
    sent = set(server_changes(answer)["Add"])
    recent = {i.server_id for i in items if i.data["DateReceived"] >= "2026-11-17T09:00"}
    assert sent == recent
    assert sent != {i.server_id for i in items}
