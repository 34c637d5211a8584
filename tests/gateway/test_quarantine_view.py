"""What a quarantined device sees (SPEC §7), and how its SyncKeys carry over the release."""
from __future__ import annotations

import asyncio

import pytest
from synchelp import Harness, responses, server_changes

from protocol.xml import E, child, text
from store.types import FolderType


@pytest.fixture
async def env(sqlite_store):
    return await Harness.create(sqlite_store)


async def quarantined_iphone(env):
    notice = await env.deliver("alice@contoso.com", "Action required: choose how to get mail")
    iphone = await env.client(device_id="IPHONE", state="quarantined", notice_server_id=notice)
    return iphone, notice


async def release(env, device, *, remove_notice=None):
    if remove_notice is not None:
        await env.store.delete_item(device.user.id, remove_notice)
    await env.store.update_device(device.device.id, state="allowed")
    env.services.pushhub.wake_user(device.user.id)


async def test_inbox_shows_only_the_notice_and_other_collections_nothing(env):
    iphone, notice = await quarantined_iphone(env)
    inbox = await env.folder_id("alice@contoso.com", FolderType.INBOX)
    assert (await iphone.sync_all(inbox))["Add"] == [notice]
    for folder_type in (FolderType.CALENDAR, FolderType.CONTACTS, FolderType.TASKS):
        folder_id = await env.folder_id("alice@contoso.com", folder_type)
        await iphone.sync(folder_id)
        answer = await iphone.sync(folder_id)
        assert text(answer, "AirSync:Status") == "1"
        assert server_changes(answer) == {"Add": [], "Change": [], "Delete": []}
    await env.deliver("alice@contoso.com", "invisible")
    assert server_changes(await iphone.sync(inbox)) == {"Add": [], "Change": [], "Delete": []}


async def test_uploads_other_than_the_notice_are_status_5_and_kept_nowhere(env):
    iphone, notice = await quarantined_iphone(env)
    contacts = await env.folder_id("alice@contoso.com", FolderType.CONTACTS)
    inbox = await env.folder_id("alice@contoso.com", FolderType.INBOX)
    await iphone.sync_all(contacts)
    await iphone.sync_all(inbox)
    before = len(await env.store.list_items(iphone.user.id, contacts))
    add = E("AirSync:Add", E("AirSync:ClientId", "c1"),
            E("AirSync:ApplicationData", E("Contacts:FirstName", "Nobody")))
    [response] = responses(await iphone.sync(contacts, commands=[add]))
    assert text(response, "AirSync:Status") == "5"
    assert len(await env.store.list_items(iphone.user.id, contacts)) == before
    other = next(i for i in await env.store.list_items(iphone.user.id, inbox)
                 if i.server_id != notice)
    read_other = E("AirSync:Change", E("AirSync:ServerId", other.server_id),
                   E("AirSync:ApplicationData", E("Email:Read", "1")))
    read_notice = E("AirSync:Change", E("AirSync:ServerId", notice),
                    E("AirSync:ApplicationData", E("Email:Read", "1")))
    answer = await iphone.sync(inbox, commands=[read_other, read_notice])
    assert [(text(r, "AirSync:ServerId"), text(r, "AirSync:Status")) for r in responses(answer)
            ] == [(other.server_id, "5")]
    assert not (await env.store.get_item(iphone.user.id, other.server_id)).read
    assert (await env.store.get_item(iphone.user.id, notice)).read


async def test_estimate_counts_only_the_notice(env):
    iphone, notice = await quarantined_iphone(env)
    inbox = await env.folder_id("alice@contoso.com", FolderType.INBOX)
    calendar = await env.folder_id("alice@contoso.com", FolderType.CALENDAR)
    await iphone.sync(inbox)
    await iphone.sync(calendar)
    root = await iphone.run("GetItemEstimate", E("GetItemEstimate:GetItemEstimate", E(
        "GetItemEstimate:Collections", *(E(
            "GetItemEstimate:Collection", E("AirSync:SyncKey", iphone.keys[f]),
            E("GetItemEstimate:CollectionId", f)) for f in (inbox, calendar)))))
    estimates = [text(r.find("{GetItemEstimate:}Collection"), "GetItemEstimate:Estimate")
                 for r in root]
    assert estimates == ["1", "0"]


async def test_release_by_choice_delivers_everything_as_adds_with_the_same_keys(env):
    iphone, notice = await quarantined_iphone(env)
    inbox = await env.folder_id("alice@contoso.com", FolderType.INBOX)
    calendar = await env.folder_id("alice@contoso.com", FolderType.CALENDAR)
    assert (await iphone.sync_all(inbox))["Add"] == [notice]
    await iphone.sync_all(calendar)
    await release(env, iphone)
    page = await iphone.sync(inbox, window=10)  # the key from the quarantine
    assert text(page, "AirSync:Status") == "1"
    assert child(page, "AirSync:MoreAvailable") is not None
    rest = await iphone.sync_all(inbox, window=10)
    added = server_changes(page)["Add"] + rest["Add"]
    items = {i.server_id for i in await env.store.list_items(iphone.user.id, inbox)}
    assert set(added) == items - {notice}
    assert notice not in added and rest["Delete"] == []  # no duplicate of the notice
    events = await env.store.list_items(iphone.user.id, calendar)
    assert len((await iphone.sync_all(calendar))["Add"]) == len(events) > 0


async def test_release_by_timeout_deletes_the_notice(env):
    iphone, notice = await quarantined_iphone(env)
    inbox = await env.folder_id("alice@contoso.com", FolderType.INBOX)
    await iphone.sync_all(inbox)
    await release(env, iphone, remove_notice=notice)
    seen = await iphone.sync_all(inbox, window=50)
    assert seen["Delete"] == [notice]
    assert notice not in seen["Add"]
    items = {i.server_id for i in await env.store.list_items(iphone.user.id, inbox)}
    assert set(seen["Add"]) == items


async def test_ping_wakes_only_for_the_notice_and_for_the_release(env):
    iphone, notice = await quarantined_iphone(env)
    inbox = await env.folder_id("alice@contoso.com", FolderType.INBOX)
    await iphone.sync_all(inbox)
    document = E("Ping:Ping", E("Ping:HeartbeatInterval", "300"), E("Ping:Folders", E(
        "Ping:Folder", E("Ping:Id", inbox), E("Ping:Class", "Email"))))
    held = asyncio.create_task(iphone.run("Ping", document))
    await asyncio.sleep(0.1)
    await env.deliver("alice@contoso.com", "hidden while quarantined")
    await asyncio.sleep(0.2)
    assert not held.done()
    await release(env, iphone, remove_notice=notice)
    root = await asyncio.wait_for(held, 5)
    assert text(root, "Ping:Status") == "2"
