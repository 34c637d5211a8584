"""The change log: positions, add/change/delete folding, tombstones, echo suppression,
paging and concurrent writers — on both engines."""
from __future__ import annotations

import asyncio

from store import NewItem, Store, User
from store.sql import SqlStore


def mail(subject: str) -> NewItem:
    return NewItem("Email", {"Subject": subject, "From": "bob@contoso.com"})


async def test_positions_grow_per_mailbox_and_server_ids_name_the_folder(store: Store, alice: User):
    first = await store.add_item(alice.id, "2", mail("one"))
    second = await store.add_item(alice.id, "3", mail("two"))
    assert (first.server_id, second.server_id) == ("2:1", "3:1")
    assert second.modseq == first.modseq + 1
    assert await store.folder_position(alice.id, "2") == first.modseq
    assert await store.folder_position(alice.id, "3") == second.modseq


async def test_each_item_once_with_its_newest_state(store: Store, alice: User):
    old = await store.add_item(alice.id, "2", mail("old"))
    after = await store.folder_position(alice.id, "2")
    new = await store.add_item(alice.id, "2", mail("new"))
    await store.update_item(alice.id, old.server_id, read=True)
    await store.update_item(alice.id, new.server_id, flagged=True, data={"Subject": "newer"})
    page = await store.changes_since(alice.id, "2", after, limit=10)
    kinds = [(c.kind, c.server_id) for c in page.changes]
    assert kinds == [("change", old.server_id), ("add", new.server_id)]
    assert page.changes[0].item.read is True
    assert page.changes[1].item.data["Subject"] == "newer" and page.changes[1].item.flagged
    assert page.position == await store.folder_position(alice.id, "2")
    assert not page.more_available


async def test_tombstones_delete_and_move(store: Store, alice: User):
    a = await store.add_item(alice.id, "2", mail("a"))
    b = await store.add_item(alice.id, "2", mail("b"))
    after_inbox = await store.folder_position(alice.id, "2")
    after_drafts = await store.folder_position(alice.id, "3")
    await store.delete_item(alice.id, a.server_id)
    moved = await store.move_item(alice.id, b.server_id, "3")
    assert moved.server_id.startswith("3:") and moved.folder_id == "3"
    inbox = await store.changes_since(alice.id, "2", after_inbox, limit=10)
    assert [(c.kind, c.server_id, c.item) for c in inbox.changes] == [
        ("delete", a.server_id, None), ("delete", b.server_id, None)]
    drafts = await store.changes_since(alice.id, "3", after_drafts, limit=10)
    assert [(c.kind, c.server_id) for c in drafts.changes] == [("add", moved.server_id)]
    assert await store.get_item(alice.id, moved.server_id) == moved


async def test_created_and_deleted_after_the_position_is_invisible(store: Store, alice: User):
    after = await store.folder_position(alice.id, "2")
    doomed = await store.add_item(alice.id, "2", mail("short-lived"))
    await store.delete_item(alice.id, doomed.server_id)
    page = await store.changes_since(alice.id, "2", after, limit=10)
    assert page.changes == []
    assert page.position == await store.folder_position(alice.id, "2") > after
    assert await store.count_changes_since(alice.id, "2", after) == 0


async def test_exclude_origin_hides_own_writes_but_passes_them(store: Store, alice: User):
    theirs = await store.add_item(alice.id, "2", mail("server"))
    mine = await store.add_item(alice.id, "2", mail("client"), origin=7)
    page = await store.changes_since(alice.id, "2", 0, limit=10, exclude_origin=7)
    assert [c.server_id for c in page.changes] == [theirs.server_id]
    assert page.position == mine.modseq
    assert await store.count_changes_since(alice.id, "2", 0, exclude_origin=7) == 1
    # Another device's later write to the same item is no longer "mine".
    await store.update_item(alice.id, mine.server_id, read=True, origin=8)
    page = await store.changes_since(alice.id, "2", 0, limit=10, exclude_origin=7)
    assert [c.server_id for c in page.changes] == [theirs.server_id, mine.server_id]
    await store.delete_item(alice.id, theirs.server_id, origin=7)
    page = await store.changes_since(alice.id, "2", page.position, limit=10, exclude_origin=7)
    assert page.changes == []


async def test_paging_with_limit(store: Store, alice: User):
    for n in range(5):
        await store.add_item(alice.id, "2", mail(f"m{n}"))
    seen, after, pages = [], 0, 0
    while True:
        page = await store.changes_since(alice.id, "2", after, limit=2)
        seen += [c.item.data["Subject"] for c in page.changes]
        after, pages = page.position, pages + 1
        if not page.more_available:
            break
    assert seen == [f"m{n}" for n in range(5)] and pages == 3
    again = await store.changes_since(alice.id, "2", after, limit=2)
    assert again.changes == [] and again.position == after


async def test_resending_the_previous_position_gives_the_same_answer(store: Store, alice: User):
    await store.add_item(alice.id, "2", mail("x"))
    first = await store.changes_since(alice.id, "2", 0, limit=10)
    second = await store.changes_since(alice.id, "2", 0, limit=10)
    assert first == second


async def test_concurrent_writers_lose_nothing_and_share_no_position(store: Store, alice: User):
    async def writer(n: int) -> list[int]:
        return [(await store.add_item(alice.id, "2", mail(f"{n}-{i}"))).modseq for i in range(20)]

    results = await asyncio.gather(*(writer(n) for n in range(10)))
    positions = [p for chunk in results for p in chunk]
    assert len(set(positions)) == 200
    assert sorted(positions) == list(range(1, 201))  # gap-free too
    items = await store.list_items(alice.id, "2")
    assert len(items) == 200 and len({i.server_id for i in items}) == 200
    page = await store.changes_since(alice.id, "2", 0, limit=500)
    assert [c.modseq for c in page.changes] == list(range(1, 201))


async def test_concurrent_updates_of_one_item_all_land(store: Store, alice: User):
    item = await store.add_item(alice.id, "2", mail("shared"))

    async def tag(n: int) -> int:
        return (await store.update_item(alice.id, item.server_id, data={f"X{n}": n})).modseq

    positions = await asyncio.gather(*(tag(n) for n in range(20)))
    assert len(set(positions)) == 20
    final = await store.get_item(alice.id, item.server_id)
    assert all(final.data[f"X{n}"] == n for n in range(20))


async def test_prune_keeps_tombstones_a_device_has_not_passed(store: Store, alice: User):
    from store import Device, SyncState

    device = await store.create_device(Device(0, alice.id, alice.address, "D1", "iPhone"))
    a = await store.add_item(alice.id, "2", mail("a"))
    b = await store.add_item(alice.id, "2", mail("b"))
    synced = await store.folder_position(alice.id, "2")
    await store.put_sync_state(SyncState(device.id, "2", sync_key=2, position=synced))
    await store.delete_item(alice.id, a.server_id)
    await store.delete_item(alice.id, b.server_id)
    assert isinstance(store, SqlStore)
    assert await store.prune_tombstones() == 0
    page = await store.changes_since(alice.id, "2", synced, limit=10)
    assert [c.kind for c in page.changes] == ["delete", "delete"]
    await store.put_sync_state(SyncState(device.id, "2", 3, page.position, 2, synced))
    assert await store.prune_tombstones() == 0  # the previous key may still be resent
    await store.put_sync_state(SyncState(device.id, "2", 4, page.position, 3, page.position))
    assert await store.prune_tombstones() == 2


async def test_two_stores_on_one_sqlite_file_serialise_writers(tmp_path):
    """Two engines on one file (as two worker processes would have): BEGIN IMMEDIATE and
    the busy timeout keep their writers from clashing."""
    from store import Tenant, open_store

    url = f"sqlite+aiosqlite:///{tmp_path}/shared.db"
    one, two = await open_store(url), await open_store(url)
    try:
        await one.put_tenant(Tenant(domain="contoso.com"))
        user = await one.create_user("alice@contoso.com", "x", "Alice")

        async def writer(store: Store, n: int) -> list[int]:
            return [(await store.add_item(user.id, "2", mail(f"{n}-{i}"))).modseq
                    for i in range(10)]

        results = await asyncio.gather(*(writer(s, n) for n, s in enumerate([one, two] * 3)))
        assert sorted(p for chunk in results for p in chunk) == list(range(1, 61))
    finally:
        await one.close()
        await two.close()
