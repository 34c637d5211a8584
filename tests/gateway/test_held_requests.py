"""Held Pings and waiting Syncs against the folder hierarchy and each other: a hierarchy
change the device has not fetched answers Ping Status 7 and Sync Status 12; a newer Ping
or waiting Sync of the same device ends the held one (Ping Status 1, Sync an empty
answer), while other devices' requests are left alone."""
from __future__ import annotations

import asyncio

import pytest
from synchelp import Harness

from gateway.pushhub import PushHub
from protocol.xml import E, child, text
from store.types import FolderType

HELD = 0.2  # seconds to let a request reach its wait


@pytest.fixture
async def env(sqlite_store):
    return await Harness.create(sqlite_store)


def ping(heartbeat, *folder_ids):
    return E("Ping:Ping", E("Ping:HeartbeatInterval", str(heartbeat)), E("Ping:Folders", *(
        E("Ping:Folder", E("Ping:Id", f), E("Ping:Class", "Email")) for f in folder_ids)))


def waiting_sync(folder_id, key, minutes=1):
    return E("AirSync:Sync", E("AirSync:Collections", E(
        "AirSync:Collection", E("AirSync:SyncKey", key), E("AirSync:CollectionId", folder_id))),
        E("AirSync:Wait", str(minutes)))


async def folder_sync(client):
    root = await client.run("FolderSync", E("FolderHierarchy:FolderSync",
                                            E("FolderHierarchy:SyncKey", "0")))
    assert text(root, "FolderHierarchy:Status") == "1"


async def synced_alice(env, device_id="DEV1"):
    """Alice's device with the hierarchy fetched and the Inbox up to date."""
    alice = await env.client(device_id=device_id)
    await folder_sync(alice)
    inbox = await env.folder_id("alice@contoso.com", FolderType.INBOX)
    await alice.sync_all(inbox)
    return alice, inbox


async def held(coroutine):
    task = asyncio.create_task(coroutine)
    await asyncio.sleep(HELD)
    assert not task.done(), "the request should be held"
    return task


async def create_folder_on_server(env, name="Created on the server"):
    inbox = await env.folder_id("alice@contoso.com", FolderType.INBOX)
    user = await env.store.get_user("alice@contoso.com")
    return await env.store.create_folder(user.id, inbox, name, FolderType.USER_MAIL)


# --- the hierarchy ---------------------------------------------------------------------------
async def test_a_folder_created_on_the_server_wakes_a_held_ping_with_status_7(env):
    alice, inbox = await synced_alice(env)
    task = await held(alice.run("Ping", ping(300, inbox)))
    await create_folder_on_server(env)
    root = await asyncio.wait_for(task, 5)
    assert text(root, "Ping:Status") == "7" and child(root, "Ping:Folders") is None


async def test_a_folder_deleted_on_the_server_wakes_a_held_ping_with_status_7(env):
    alice = await env.client()
    folder = await create_folder_on_server(env)
    await folder_sync(alice)
    inbox = await env.folder_id("alice@contoso.com", FolderType.INBOX)
    await alice.sync_all(inbox)
    task = await held(alice.run("Ping", ping(300, inbox)))
    await env.store.delete_folder(alice.user.id, folder.id)
    assert text(await asyncio.wait_for(task, 5), "Ping:Status") == "7"


async def test_a_ping_after_an_unfetched_hierarchy_change_answers_7_then_holds(env):
    alice, inbox = await synced_alice(env)
    await create_folder_on_server(env)
    assert text(await alice.run("Ping", ping(300, inbox)), "Ping:Status") == "7"
    await folder_sync(alice)
    task = await held(alice.run("Ping", ping(1, inbox)))
    assert text(await asyncio.wait_for(task, 5), "Ping:Status") == "1"


async def test_the_devices_own_folder_create_does_not_ask_it_for_a_folder_sync(env):
    alice, inbox = await synced_alice(env)
    key = (await alice.run("FolderSync", E("FolderHierarchy:FolderSync",
                                           E("FolderHierarchy:SyncKey", "0"))))
    created = await alice.run("FolderCreate", E(
        "FolderHierarchy:FolderCreate", E("FolderHierarchy:SyncKey",
                                          text(key, "FolderHierarchy:SyncKey")),
        E("FolderHierarchy:ParentId", "0"), E("FolderHierarchy:DisplayName", "Mine"),
        E("FolderHierarchy:Type", "12")))
    assert text(created, "FolderHierarchy:Status") == "1"
    task = await held(alice.run("Ping", ping(1, inbox)))
    assert text(await asyncio.wait_for(task, 5), "Ping:Status") == "1"


async def test_sync_of_a_folder_deleted_on_the_server_answers_12_and_unknown_ids_8(env):
    alice = await env.client()
    folder = await create_folder_on_server(env)
    await folder_sync(alice)
    await alice.sync_all(folder.id)
    await env.store.delete_folder(alice.user.id, folder.id)
    assert text(await alice.sync(folder.id), "AirSync:Status") == "12"
    assert text(await alice.sync("4242"), "AirSync:Status") == "8"


async def test_a_waiting_sync_answers_12_when_the_hierarchy_changes(env):
    alice, inbox = await synced_alice(env)
    task = await held(alice.run("Sync", waiting_sync(inbox, alice.keys[inbox])))
    await create_folder_on_server(env)
    root = await asyncio.wait_for(task, 5)
    assert text(root, "AirSync:Status") == "12" and child(root, "AirSync:Collections") is None


# --- one held request per device ------------------------------------------------------------
async def test_a_second_ping_ends_the_first_with_status_1(env):
    alice, inbox = await synced_alice(env)
    first = await held(alice.run("Ping", ping(300, inbox)))
    second = await held(alice.run("Ping", ping(300, inbox)))
    assert text(await asyncio.wait_for(first, 5), "Ping:Status") == "1"
    assert env.services.pushhub.waiting_count() == 1
    await env.deliver("alice@contoso.com", "for the second Ping")
    assert text(await asyncio.wait_for(second, 5), "Ping:Status") == "2"


async def test_a_waiting_sync_ends_a_held_ping_and_a_ping_ends_a_waiting_sync(env):
    alice, inbox = await synced_alice(env)
    pinging = await held(alice.run("Ping", ping(300, inbox)))
    syncing = await held(alice.run("Sync", waiting_sync(inbox, alice.keys[inbox])))
    assert text(await asyncio.wait_for(pinging, 5), "Ping:Status") == "1"
    last = await held(alice.run("Ping", ping(1, inbox)))
    assert await asyncio.wait_for(syncing, 5) is None  # the empty answer of a passed wait
    assert text(await asyncio.wait_for(last, 5), "Ping:Status") == "1"


async def test_another_devices_ping_leaves_a_held_one_alone(env):
    phone, inbox = await synced_alice(env, "PHONE")
    tablet, _ = await synced_alice(env, "TABLET")
    first = await held(phone.run("Ping", ping(300, inbox)))
    second = await held(tablet.run("Ping", ping(300, inbox)))
    assert env.services.pushhub.waiting_count() == 2
    await env.deliver("alice@contoso.com", "for both")
    for task in (first, second):
        assert text(await asyncio.wait_for(task, 5), "Ping:Status") == "2"


async def test_the_hub_ends_only_the_holders_earlier_watches():
    hub = PushHub()
    with hub.watch(1, ["2"], holder=7) as old, hub.watch(1, ["2"], holder=8) as other:
        hub.notify(1, "2")
        with hub.watch(1, ["2"], holder=7) as new:
            assert old.ended and not other.ended and not new.ended
            assert await old.wait(5) == set()  # at once, though a change was recorded
            assert await other.wait(0) == {"2"}
            hub.notify(1, "2")
            assert await new.wait(0) == {"2"}
    assert hub.waiting_count() == 0
