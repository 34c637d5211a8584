"""A client's Sync Add is made once per (SyncKey, ClientId), on SQLite and PostgreSQL: when
the gateway dies after storing the item but before storing the collection's new state, the
client's resend (same key, same ClientId) is answered with the ServerId already stored."""
from __future__ import annotations

import pytest
from sqlalchemy import text as text_sql
from synchelp import Harness, responses, server_changes

from protocol.xml import E, text
from store.types import FolderType

pytestmark = pytest.mark.timeout(60)


class DiedBeforeTheState(Exception):
    """Stands for the process being killed between the item's write and the state's."""


class DiesOnceBeforeTheState:
    def __init__(self, store):
        self._store = store
        self.died = False

    def __getattr__(self, name):
        return getattr(self._store, name)

    async def replace_sync_state(self, state, previous):
        if not self.died:
            self.died = True
            raise DiedBeforeTheState
        await self._store.replace_sync_state(state, previous)


def add(client_id: str, name: str):
    return E("AirSync:Add", E("AirSync:ClientId", client_id),
             E("AirSync:ApplicationData", E("Contacts:FirstName", name)))


async def names(env, alice, contacts):
    return [i.data.get("FirstName") for i in await env.store.list_items(alice.user.id, contacts)]


async def test_an_add_resent_after_a_crash_between_item_and_state_is_stored_once(store):
    env = await Harness.create(store)
    alice = await env.client()
    contacts = await env.folder_id("alice@contoso.com", FolderType.CONTACTS)
    await alice.sync_all(contacts)
    key = alice.keys[contacts]

    env.services.store = DiesOnceBeforeTheState(store)
    with pytest.raises(DiedBeforeTheState):
        await alice.sync(contacts, commands=[add("1", "Zoe")])
    env.services.store = store
    assert (await names(env, alice, contacts)).count("Zoe") == 1  # the item, not the state

    answer = await alice.sync(contacts, key=key, commands=[add("1", "Zoe")])
    assert text(answer, "AirSync:Status") == "1"
    [response] = responses(answer)
    assert text(response, "AirSync:Status") == "1"
    stored = await env.store.list_items(alice.user.id, contacts)
    assert [i.server_id for i in stored if i.data.get("FirstName") == "Zoe"] == [
        text(response, "AirSync:ServerId")]
    assert text(answer, "AirSync:SyncKey") != key  # the client moves on
    assert server_changes(await alice.sync(contacts))["Add"] == []  # not echoed back


async def test_a_clientid_used_again_in_a_later_request_is_a_new_item(store):
    """ClientIds need only be unique within one request: a client counting from 1 in each
    session sends "1" again for another contact."""
    env = await Harness.create(store)
    alice = await env.client()
    contacts = await env.folder_id("alice@contoso.com", FolderType.CONTACTS)
    await alice.sync_all(contacts)
    first = responses(await alice.sync(contacts, commands=[add("1", "Ann")]))
    second = responses(await alice.sync(contacts, commands=[add("1", "Bea")]))
    assert text(first[0], "AirSync:ServerId") != text(second[0], "AirSync:ServerId")
    stored = await names(env, alice, contacts)
    assert stored.count("Ann") == 1 and stored.count("Bea") == 1


async def test_two_devices_adding_with_clientid_1_add_two_items(store):
    env = await Harness.create(store)
    phone, tablet = await env.client(device_id="PHONE"), await env.client(device_id="TABLET")
    contacts = await env.folder_id("alice@contoso.com", FolderType.CONTACTS)
    for device in (phone, tablet):
        await device.sync_all(contacts)
    await phone.sync(contacts, commands=[add("1", "Ann")])
    await tablet.sync(contacts, commands=[add("1", "Ann")])
    assert (await names(env, phone, contacts)).count("Ann") == 2


async def test_the_adds_of_keys_the_client_can_no_longer_send_are_forgotten(store):
    """The write keys of a collection are those of its current and previous SyncKeys (the
    only ones a client can send): a device adding contacts all day keeps its last
    request's, which still resends as made once."""
    env = await Harness.create(store)
    alice = await env.client()
    contacts = await env.folder_id("alice@contoso.com", FolderType.CONTACTS)
    await alice.sync_all(contacts)
    sent_with = []
    for n in range(4):
        sent_with.append(alice.keys[contacts])
        await alice.sync(contacts, commands=[add("1", f"Friend {n}")])
    async with store.engine.connect() as connection:
        stored = (await connection.execute(text_sql(
            "SELECT key FROM write_keys WHERE scope = :scope"), {"scope": contacts})).scalars()
        assert list(stored) == [f"{sent_with[-1]}/1"]
    resent = responses(await alice.sync(contacts, key=sent_with[-1],
                                        commands=[add("1", "Friend 3")]))
    assert text(resent[0], "AirSync:Status") == "1"
    assert (await names(env, alice, contacts)).count("Friend 3") == 1
