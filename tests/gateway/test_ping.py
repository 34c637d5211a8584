"""Ping held on the push hub: wakes, expiry, limits, reuse of the last Ping."""
from __future__ import annotations

import asyncio

import pytest
from synchelp import Harness

from gateway.pushhub import PushHub
from protocol.xml import E, child, children, text
from store.types import FolderType


@pytest.fixture
async def env(sqlite_store):
    return await Harness.create(sqlite_store)


def ping(heartbeat, *folder_ids):
    document = E("Ping:Ping")
    if heartbeat is not None:
        document.append(E("Ping:HeartbeatInterval", str(heartbeat)))
    if folder_ids:
        document.append(E("Ping:Folders", *(
            E("Ping:Folder", E("Ping:Id", f), E("Ping:Class", "Email")) for f in folder_ids)))
    return document


def changed(root):
    folders = child(root, "Ping:Folders")
    return [f.text for f in children(folders, "Ping:Folder")] if folders is not None else []


async def test_ping_wakes_with_status_2_when_mail_arrives(env):
    alice = await env.client()
    inbox = await env.folder_id("alice@contoso.com", FolderType.INBOX)
    await alice.sync_all(inbox)
    held = asyncio.create_task(alice.run("Ping", ping(300, inbox)))
    await asyncio.sleep(0.2)
    assert not held.done()
    assert env.services.pushhub.waiting_count() == 1
    await env.deliver("alice@contoso.com", "Ping me")
    root = await asyncio.wait_for(held, 5)
    assert text(root, "Ping:Status") == "2" and changed(root) == [inbox]
    assert env.services.pushhub.waiting_count() == 0


async def test_unsynced_changes_answer_at_once(env):
    alice = await env.client()
    inbox = await env.folder_id("alice@contoso.com", FolderType.INBOX)
    await alice.sync(inbox)  # primed at position 0: the whole Inbox is waiting
    root = await asyncio.wait_for(alice.run("Ping", ping(300, inbox)), 5)
    assert text(root, "Ping:Status") == "2"


async def test_heartbeat_passes_with_status_1(env):
    alice = await env.client()
    inbox = await env.folder_id("alice@contoso.com", FolderType.INBOX)
    await alice.sync_all(inbox)
    root = await asyncio.wait_for(alice.run("Ping", ping(1, inbox)), 5)
    assert text(root, "Ping:Status") == "1"


async def test_own_changes_and_other_folders_do_not_wake(env):
    alice = await env.client()
    inbox = await env.folder_id("alice@contoso.com", FolderType.INBOX)
    await alice.sync_all(inbox)
    held = asyncio.create_task(alice.run("Ping", ping(2, inbox)))
    await asyncio.sleep(0.1)
    await env.deliver("alice@contoso.com", "elsewhere", FolderType.SENT_ITEMS)
    await env.deliver("bob@contoso.com", "for bob")
    assert text(await asyncio.wait_for(held, 5), "Ping:Status") == "1"


async def test_limits_answer_5_and_6_with_the_bound(env):
    alice = await env.client()
    inbox = await env.folder_id("alice@contoso.com", FolderType.INBOX)
    root = await alice.run("Ping", ping(99999, inbox))
    assert text(root, "Ping:Status") == "5" and text(root, "Ping:HeartbeatInterval") == "3540"
    many = [str(n) for n in range(10_000)]
    root = await alice.run("Ping", ping(60, *many))
    assert text(root, "Ping:Status") == "6" and text(root, "Ping:MaxFolders") == "300"


@pytest.mark.parametrize(("heartbeat", "status"), [
    ("6_0", "4"), ("٣٠٠", "4"), ("-60", "5"), ("+99999", "5"),
])
async def test_a_heartbeat_is_ascii_digits_with_an_optional_sign(env, heartbeat, status):
    """What int() would read ("6_0" as 60, Arabic-Indic digits) is a protocol error; a
    signed number is a number, answered by its bounds."""
    alice = await env.client()
    inbox = await env.folder_id("alice@contoso.com", FolderType.INBOX)
    root = await alice.run("Ping", ping(heartbeat, inbox))
    assert text(root, "Ping:Status") == status


async def test_missing_parameters_reuse_the_last_ping_or_answer_3(env):
    alice = await env.client()
    assert text(await alice.run("Ping", None), "Ping:Status") == "3"
    inbox = await env.folder_id("alice@contoso.com", FolderType.INBOX)
    await alice.sync_all(inbox)
    await alice.run("Ping", ping(1, inbox))
    held = asyncio.create_task(alice.run("Ping", None))  # same heartbeat and folders
    await asyncio.sleep(0.1)
    await env.deliver("alice@contoso.com", "again")
    root = await asyncio.wait_for(held, 5)
    assert text(root, "Ping:Status") == "2" and changed(root) == [inbox]


async def test_unknown_folder_asks_for_a_folder_sync(env):
    alice = await env.client()
    assert text(await alice.run("Ping", ping(60, "4242")), "Ping:Status") == "7"


async def test_hub_keeps_a_change_that_lands_before_the_wait():
    hub = PushHub()
    with hub.watch(1, ["2"]) as watch:
        hub.notify(1, "2")
        hub.notify(1, "9")
        assert await watch.wait(0) == {"2"}
        assert await watch.wait(0) == set()
    hub.wake_user(1)  # nobody waiting: nothing to do
    assert hub.waiting_count() == 0
