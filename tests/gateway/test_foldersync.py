"""FolderSync and the folder commands over a real store."""
from __future__ import annotations

import pytest
from synchelp import Harness

from protocol.xml import E, child, children, text
from store.types import FolderType


@pytest.fixture
async def env(sqlite_store):
    return await Harness.create(sqlite_store)


async def folder_sync(client, key):
    root = await client.run("FolderSync", E("FolderHierarchy:FolderSync",
                                            E("FolderHierarchy:SyncKey", key)))
    return root


def entries(root, kind):
    changes = child(root, "FolderHierarchy:Changes")
    return [text(e, "FolderHierarchy:ServerId") for e in children(changes, f"FolderHierarchy:{kind}")]


async def test_key_0_lists_the_whole_hierarchy_then_nothing(env):
    alice = await env.client()
    root = await folder_sync(alice, "0")
    assert text(root, "FolderHierarchy:Status") == "1"
    folders = await env.store.list_folders(alice.user.id)
    assert sorted(entries(root, "Add")) == sorted(f.id for f in folders)
    key = text(root, "FolderHierarchy:SyncKey")
    again = await folder_sync(alice, key)
    assert entries(again, "Add") == [] and text(again, "FolderHierarchy:SyncKey") == key
    assert text(child(again, "FolderHierarchy:Changes"), "FolderHierarchy:Count") == "0"


async def test_server_side_changes_arrive_as_add_update_delete(env):
    alice = await env.client()
    key = text(await folder_sync(alice, "0"), "FolderHierarchy:SyncKey")
    made = await env.store.create_folder(alice.user.id, "0", "Receipts", FolderType.USER_MAIL)
    root = await folder_sync(alice, key)
    assert entries(root, "Add") == [made.id]
    key = text(root, "FolderHierarchy:SyncKey")
    await env.store.update_folder(alice.user.id, made.id, name="Bills", parent_id="0")
    root = await folder_sync(alice, key)
    assert entries(root, "Update") == [made.id]
    key = text(root, "FolderHierarchy:SyncKey")
    await env.store.delete_folder(alice.user.id, made.id)
    assert entries(await folder_sync(alice, key), "Delete") == [made.id]


async def test_bad_keys_are_status_9(env):
    alice = await env.client()
    await folder_sync(alice, "0")
    for key in ("5", "{0123456789abcdef0123456789abcdef}1", "x"):
        assert text(await folder_sync(alice, key), "FolderHierarchy:Status") == "9"


async def test_create_update_delete_by_the_client_are_not_echoed(env):
    alice = await env.client()
    key = text(await folder_sync(alice, "0"), "FolderHierarchy:SyncKey")
    root = await alice.run("FolderCreate", E(
        "FolderHierarchy:FolderCreate", E("FolderHierarchy:SyncKey", key),
        E("FolderHierarchy:ParentId", "0"), E("FolderHierarchy:DisplayName", "Trips"),
        E("FolderHierarchy:Type", "12")))
    assert text(root, "FolderHierarchy:Status") == "1"
    server_id = text(root, "FolderHierarchy:ServerId")
    key = text(root, "FolderHierarchy:SyncKey")
    assert entries(await folder_sync(alice, key), "Add") == []
    root = await alice.run("FolderUpdate", E(
        "FolderHierarchy:FolderUpdate", E("FolderHierarchy:SyncKey", key),
        E("FolderHierarchy:ServerId", server_id), E("FolderHierarchy:ParentId", "0"),
        E("FolderHierarchy:DisplayName", "Travel")))
    assert text(root, "FolderHierarchy:Status") == "1"
    key = text(root, "FolderHierarchy:SyncKey")
    assert (await env.store.get_folder(alice.user.id, server_id)).name == "Travel"
    root = await alice.run("FolderDelete", E(
        "FolderHierarchy:FolderDelete", E("FolderHierarchy:SyncKey", key),
        E("FolderHierarchy:ServerId", server_id)))
    assert text(root, "FolderHierarchy:Status") == "1"
    key = text(root, "FolderHierarchy:SyncKey")
    again = await folder_sync(alice, key)
    assert entries(again, "Delete") == [] and entries(again, "Add") == []


async def test_folder_command_statuses(env):
    alice = await env.client()
    key = text(await folder_sync(alice, "0"), "FolderHierarchy:SyncKey")
    inbox = await env.folder_id("alice@contoso.com", FolderType.INBOX)

    async def create(name, parent="0", folder_type="12", sync_key=key):
        root = await alice.run("FolderCreate", E(
            "FolderHierarchy:FolderCreate", E("FolderHierarchy:SyncKey", sync_key),
            E("FolderHierarchy:ParentId", parent), E("FolderHierarchy:DisplayName", name),
            E("FolderHierarchy:Type", folder_type)))
        return text(root, "FolderHierarchy:Status")

    assert await create("Inbox") == "2"  # a folder of that name exists under the root
    assert await create("Orphan", parent="4242") == "5"
    assert await create("Bad type", folder_type="2") == "10"
    assert await create("Stale", sync_key="{0123456789abcdef0123456789abcdef}3") == "9"
    root = await alice.run("FolderDelete", E(
        "FolderHierarchy:FolderDelete", E("FolderHierarchy:SyncKey", key),
        E("FolderHierarchy:ServerId", inbox)))
    assert text(root, "FolderHierarchy:Status") == "3"
    root = await alice.run("FolderDelete", E(
        "FolderHierarchy:FolderDelete", E("FolderHierarchy:SyncKey", key),
        E("FolderHierarchy:ServerId", "4242")))
    assert text(root, "FolderHierarchy:Status") == "4"


def create_request(key, name, parent="0"):
    return E("FolderHierarchy:FolderCreate", E("FolderHierarchy:SyncKey", key),
             E("FolderHierarchy:ParentId", parent), E("FolderHierarchy:DisplayName", name),
             E("FolderHierarchy:Type", "12"))


async def test_a_folder_command_sent_again_gets_the_answer_it_had(env):
    """A client that lost the answer to a FolderCreate or FolderDelete sends it again with
    the same key: the change is not made twice, and the answer is the one it lost (not
    Status 2 "already exists" or 4 "not found")."""
    alice = await env.client()
    key = text(await folder_sync(alice, "0"), "FolderHierarchy:SyncKey")
    first = await alice.run("FolderCreate", create_request(key, "Trips"))
    again = await alice.run("FolderCreate", create_request(key, "Trips"))
    assert [(text(r, "FolderHierarchy:Status"), text(r, "FolderHierarchy:SyncKey"),
             text(r, "FolderHierarchy:ServerId")) for r in (first, again)] == [
        ("1", text(first, "FolderHierarchy:SyncKey"), text(first, "FolderHierarchy:ServerId"))] * 2
    assert [f.name for f in await env.store.list_folders(alice.user.id)].count("Trips") == 1
    key, server_id = text(first, "FolderHierarchy:SyncKey"), text(first, "FolderHierarchy:ServerId")
    delete = E("FolderHierarchy:FolderDelete", E("FolderHierarchy:SyncKey", key),
               E("FolderHierarchy:ServerId", server_id))
    deleted = await alice.run("FolderDelete", delete)
    deleted_again = await alice.run("FolderDelete", delete)
    assert [(text(r, "FolderHierarchy:Status"), text(r, "FolderHierarchy:SyncKey"))
            for r in (deleted, deleted_again)] == [
        ("1", text(deleted, "FolderHierarchy:SyncKey"))] * 2
    # Another folder of that name made with the new key is no resend: it exists.
    key = text(deleted, "FolderHierarchy:SyncKey")
    assert text(await alice.run("FolderCreate", create_request(key, "Inbox")),
                "FolderHierarchy:Status") == "2"
    assert entries(await folder_sync(alice, key), "Add") == []


async def test_a_quarantined_device_sees_the_hierarchy_but_cannot_change_it(env):
    iphone = await env.client(device_id="IPHONE", state="quarantined")
    root = await folder_sync(iphone, "0")
    assert len(entries(root, "Add")) == len(await env.store.list_folders(iphone.user.id))
    key = text(root, "FolderHierarchy:SyncKey")
    root = await iphone.run("FolderCreate", E(
        "FolderHierarchy:FolderCreate", E("FolderHierarchy:SyncKey", key),
        E("FolderHierarchy:ParentId", "0"), E("FolderHierarchy:DisplayName", "Nope"),
        E("FolderHierarchy:Type", "12")))
    assert text(root, "FolderHierarchy:Status") == "6"
    assert "Nope" not in {f.name for f in await env.store.list_folders(iphone.user.id)}
