"""`Store.add_placed_items` on both engines: items for several mailboxes in one transaction,
and a write under a `WriteKey` made once however often (and however concurrently) it is
asked for."""
from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text

from store import (
    Device,
    FolderType,
    NewItem,
    NotFound,
    Placement,
    Store,
    User,
    WriteKey,
)


def contact(name: str) -> NewItem:
    return NewItem(item_class="Contacts", data={"FileAs": name})


def mail(subject: str) -> NewItem:
    return NewItem(item_class="Email", data={"Subject": subject})


@pytest.fixture
async def bob(store: Store, alice: User) -> User:
    return await store.create_user("bob@contoso.com", "secret", "Bob Lee")


@pytest.fixture
async def phone(store: Store, alice: User) -> Device:
    return await store.create_device(Device(id=0, user_id=alice.id, user_address=alice.address,
                                            device_id="PHONE1", device_type="iPhone"))


async def _folder(store: Store, user: User, folder_type: FolderType) -> str:
    folder = await store.find_folder(user.id, folder_type)
    assert folder is not None
    return folder.id


async def test_items_for_several_mailboxes_arrive_together(store: Store, alice: User, bob: User):
    heard: list[tuple[int, str, int]] = []
    store.add_change_listener(lambda user_id, folder_id, position:
                              heard.append((user_id, folder_id, position)))
    alice_sent = await _folder(store, alice, FolderType.SENT_ITEMS)
    bob_inbox = await _folder(store, bob, FolderType.INBOX)
    placed = await store.add_placed_items([
        Placement(bob.id, bob_inbox, mail("hello")),
        Placement(alice.id, alice_sent, mail("hello")),
        Placement(bob.id, bob_inbox, mail("again")),
    ])
    assert placed.first_time
    bob_items = await store.list_items(bob.id, bob_inbox)
    assert [i.server_id for i in bob_items] == [placed.server_ids[0], placed.server_ids[2]]
    assert [i.data["Subject"] for i in bob_items] == ["hello", "again"]
    assert [i.server_id for i in await store.list_items(alice.id, alice_sent)] == [
        placed.server_ids[1]]
    assert sorted(heard) == sorted([(bob.id, bob_inbox, bob_items[-1].modseq),
                                    (alice.id, alice_sent, 1)])

    # One missing folder: nothing is written anywhere.
    with pytest.raises(NotFound):
        await store.add_placed_items([Placement(bob.id, bob_inbox, mail("lost")),
                                      Placement(alice.id, "999", mail("lost"))])
    assert len(await store.list_items(bob.id, bob_inbox)) == 2


async def test_a_keyed_write_is_made_once(store: Store, alice: User, phone: Device):
    contacts = await _folder(store, alice, FolderType.CONTACTS)
    key = WriteKey(phone.id, contacts, "{0123}4/client-1")
    first = await store.add_placed_items([Placement(alice.id, contacts, contact("Ann"))],
                                         once=key, origin=phone.id)
    again = await store.add_placed_items([Placement(alice.id, contacts, contact("Ann"))],
                                         once=key, origin=phone.id)
    assert first.first_time and not again.first_time
    assert again.server_ids == first.server_ids
    assert [i.server_id for i in await store.list_items(alice.id, contacts)] == list(
        first.server_ids)
    # Another key (the next request's SyncKey, another device's scope) is another write.
    other = await store.add_placed_items([Placement(alice.id, contacts, contact("Ann"))],
                                         once=WriteKey(phone.id, contacts, "{0123}5/client-1"))
    assert other.first_time and other.server_ids != first.server_ids


async def test_twin_writers_of_one_key_write_once(store: Store, alice: User, phone: Device):
    contacts = await _folder(store, alice, FolderType.CONTACTS)
    key = WriteKey(phone.id, contacts, "{abcd}9/twin")
    results = await asyncio.gather(*(
        store.add_placed_items([Placement(alice.id, contacts, contact(f"Twin {n}"))], once=key)
        for n in range(4)))
    assert sum(r.first_time for r in results) == 1
    assert len({r.server_ids for r in results}) == 1
    assert len(await store.list_items(alice.id, contacts)) == 1


async def test_a_failed_keyed_write_leaves_its_key_free(store: Store, alice: User,
                                                        phone: Device):
    key = WriteKey(phone.id, "ComposeMail", "m1")
    with pytest.raises(NotFound):
        await store.add_placed_items([Placement(alice.id, "999", mail("x"))], once=key)
    inbox = await _folder(store, alice, FolderType.INBOX)
    assert (await store.add_placed_items([Placement(alice.id, inbox, mail("x"))],
                                         once=key)).first_time


async def test_overlong_keys_are_kept_apart(store: Store, alice: User, phone: Device):
    inbox = await _folder(store, alice, FolderType.INBOX)
    long_a, long_b = "a" * 300, "a" * 299 + "b"
    placed = [await store.add_placed_items([Placement(alice.id, inbox, mail(k[-1]))],
                                           once=WriteKey(phone.id, "ComposeMail", k))
              for k in (long_a, long_b, long_a)]
    assert [p.first_time for p in placed] == [True, True, False]
    assert placed[2].server_ids == placed[0].server_ids


async def test_keys_go_with_their_folder_and_device(store: Store, alice: User, phone: Device):
    folder = await store.create_folder(alice.id, "0", "Projects", FolderType.USER_CONTACTS)
    await store.add_placed_items([Placement(alice.id, folder.id, contact("Ann"))],
                                 once=WriteKey(phone.id, folder.id, "{ab}1/c1"))
    contacts = await _folder(store, alice, FolderType.CONTACTS)
    await store.add_placed_items([Placement(alice.id, contacts, contact("Bea"))],
                                 once=WriteKey(phone.id, contacts, "{ab}1/c1"))
    assert sorted(await _keys(store)) == sorted([folder.id, contacts])
    await store.delete_folder(alice.id, folder.id)
    assert await _keys(store) == [contacts]
    async with store.engine.begin() as connection:  # the API deletes no devices
        await connection.execute(text("DELETE FROM devices"))
    assert await _keys(store) == []


async def _keys(store: Store) -> list[str]:
    async with store.engine.connect() as connection:
        return list((await connection.execute(text("SELECT scope FROM write_keys"))).scalars())


async def test_forgetting_keeps_the_named_prefixes(store: Store, alice: User, phone: Device):
    contacts = await _folder(store, alice, FolderType.CONTACTS)
    tasks = await _folder(store, alice, FolderType.TASKS)
    overlong = "{ab}3/" + "c" * 300
    for scope, key in ((contacts, "{ab}1/c1"), (contacts, "{ab}2/c1"), (contacts, "{ab}3/c1"),
                       (contacts, overlong), (contacts, "{a_}1/%"), (tasks, "{ab}1/c1")):
        await store.add_placed_items([Placement(alice.id, scope, contact(key[-2:]))],
                                     once=WriteKey(phone.id, scope, key))
    await store.forget_write_keys(phone.id, contacts, keeping=("{ab}2", "{ab}3"))
    kept = await _stored_keys(store)
    assert sorted(k for s, k in kept if s == contacts and not k.startswith("{ab}3/sha256:")) \
        == ["{ab}2/c1", "{ab}3/c1"]
    assert any(k.startswith("{ab}3/sha256:") for _, k in kept)  # the overlong key, by digest
    assert (tasks, "{ab}1/c1") in kept  # another collection's keys stay
    again = await store.add_placed_items([Placement(alice.id, contacts, contact("x"))],
                                         once=WriteKey(phone.id, contacts, overlong))
    assert not again.first_time


async def _stored_keys(store: Store) -> list[tuple[str, str]]:
    async with store.engine.connect() as connection:
        rows = await connection.execute(text("SELECT scope, key FROM write_keys"))
        return [(scope, key) for scope, key in rows]
