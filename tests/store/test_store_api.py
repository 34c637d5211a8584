"""Every Store call on both engines: tenants, users, folders, items, devices, sync state,
audit log and clock."""
from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from store import (
    Attachment,
    ClockRow,
    Conflict,
    Device,
    DeviceRule,
    FolderType,
    NewItem,
    NotFound,
    Store,
    StoreError,
    SyncState,
    Tenant,
    User,
)

T0 = datetime(2026, 11, 20, 9, 15, tzinfo=UTC)


async def test_ping(store: Store):
    assert await store.ping() is True


async def test_tenant_round_trip_and_rule_ids(store: Store):
    tenant = Tenant(domain="Fabrikam.com", mode="recommend-all", enabled_at=T0, rollout_id=3,
                    device_rules=(DeviceRule(0, "DeviceType", "iPhone", "block"),),
                    admin_mail_recipients=("it@fabrikam.com",), user_mail_insert="Call IT.")
    saved = await store.put_tenant(tenant)
    assert saved.domain == "fabrikam.com" and saved.device_rules[0].id > 0
    assert await store.get_tenant("FABRIKAM.com") == saved
    assert saved.enabled_at == T0 and saved.enabled_at.tzinfo is not None
    kept = saved.device_rules[0]
    again = await store.put_tenant(replace(saved, device_rules=(
        kept, DeviceRule(0, "UserAgent", "Android-Mail/1", "quarantine"))))
    assert again.device_rules[0] == kept and len(again.device_rules) == 2
    assert [t.domain for t in await store.list_tenants()] == ["fabrikam.com"]
    with pytest.raises(NotFound):
        await store.get_tenant("nowhere.com")


async def test_users(store: Store, alice: User):
    assert alice.tenant == "contoso.com" and alice.address == "alice@contoso.com"
    assert await store.get_user("Alice@Contoso.com") == alice
    assert await store.get_user_by_id(alice.id) == alice
    with pytest.raises(Conflict):
        await store.create_user("ALICE@contoso.com", "x", "Again")
    with pytest.raises(NotFound):
        await store.create_user("zed@unknown.org", "x", "Zed")
    with pytest.raises(StoreError):
        await store.create_user("not-an-address", "x", "Nobody")
    updated = await store.update_user(alice.id, display_name="Alice W.",
                                      blocked_device_ids=["D9"], oof={"State": 1})
    assert updated.blocked_device_ids == ("D9",) and updated.oof == {"State": 1}
    assert [u.address for u in await store.list_users("contoso.com")] == ["alice@contoso.com"]
    assert await store.list_users("other.com") == []
    with pytest.raises(StoreError):
        await store.update_user(alice.id, shoe_size=42)


async def test_authenticate(store: Store, alice: User):
    assert await store.authenticate("alice@contoso.com", "secret") == alice
    assert await store.authenticate("CONTOSO\\alice", "secret") == alice
    assert await store.authenticate("contoso\\ALICE", "secret") == alice
    assert await store.authenticate("alice@contoso.com", "wrong") is None
    assert await store.authenticate("FABRIKAM\\alice", "secret") is None
    assert await store.authenticate("nobody@contoso.com", "secret") is None
    await store.update_user(alice.id, password="new-secret")
    assert await store.authenticate("alice@contoso.com", "new-secret") == alice
    assert await store.authenticate("alice@contoso.com", "secret") is None


async def test_standard_folders_and_folder_tree(store: Store, alice: User):
    folders = {f.id: f for f in await store.list_folders(alice.id)}
    assert {fid: f.name for fid, f in folders.items()} == {
        "2": "Inbox", "3": "Drafts", "4": "Deleted Items", "5": "Sent Items", "6": "Outbox",
        "7": "Tasks", "8": "Calendar", "9": "Contacts", "10": "Notes"}
    assert all(f.parent_id == "0" for f in folders.values())
    assert folders["8"].item_class == "Calendar" and folders["8"].type is FolderType.CALENDAR
    with pytest.raises(NotFound):
        await store.list_folders(alice.id + 1000)
    assert (await store.find_folder(alice.id, FolderType.SENT_ITEMS)).id == "5"
    assert await store.find_folder(alice.id, FolderType.JOURNAL) is None
    h0 = await store.folder_position(alice.id, "")
    projects = await store.create_folder(alice.id, "2", "Projects", FolderType.USER_MAIL)
    assert projects.id == "11" and projects.item_class == "Email"
    sub = await store.create_folder(alice.id, projects.id, "2026", FolderType.USER_MAIL)
    assert await store.folder_position(alice.id, "") > h0
    with pytest.raises(Conflict):
        await store.create_folder(alice.id, "2", "projects", FolderType.USER_MAIL)
    with pytest.raises(NotFound):
        await store.create_folder(alice.id, "99", "x", FolderType.USER_MAIL)
    renamed = await store.update_folder(alice.id, projects.id, name="Work", parent_id="0")
    assert (renamed.name, renamed.parent_id) == ("Work", "0")
    with pytest.raises(Conflict):
        await store.update_folder(alice.id, projects.id, name="Work", parent_id=sub.id)
    with pytest.raises(Conflict):
        await store.delete_folder(alice.id, "2")
    await store.add_item(alice.id, sub.id, NewItem("Email", {"Subject": "deep"}))
    await store.delete_folder(alice.id, projects.id)
    assert {f.id for f in await store.list_folders(alice.id)} == set(folders)
    with pytest.raises(NotFound):
        await store.get_folder(alice.id, sub.id)


async def test_items_and_attachments(store: Store, alice: User):
    new = NewItem("Email", {"Subject": "Report", "From": "bob@contoso.com",
                            "DateReceived": "2026-11-20T09:15:00.000Z"},
                  body_text="see attached", body_html="<p>see attached</p>", mime=b"MIME",
                  categories=("Red",),
                  attachments=((Attachment("", "r.csv", "text/csv", 0), b"a,b\n1,2\n"),))
    item = await store.add_item(alice.id, "2", new)
    assert item.attachments[0].size == 8 and item.categories == ("Red",)
    assert await store.get_item(alice.id, item.server_id) == item
    found, content = await store.get_attachment(alice.id, item.attachments[0].file_reference)
    assert found == item and content == b"a,b\n1,2\n"
    with pytest.raises(NotFound):
        await store.get_attachment(alice.id, "nope")
    changed = await store.update_item(alice.id, item.server_id, read=True,
                                      data={"Subject": "Report v2", "From": None})
    assert changed.data == {"Subject": "Report v2", "DateReceived": "2026-11-20T09:15:00.000Z"}
    assert changed.read and changed.modseq > item.modseq
    assert changed.created_modseq == item.created_modseq
    with pytest.raises(StoreError):
        await store.update_item(alice.id, item.server_id, colour="blue")
    moved = await store.move_item(alice.id, item.server_id, "4")
    _, content = await store.get_attachment(alice.id, moved.attachments[0].file_reference)
    assert content == b"a,b\n1,2\n"
    with pytest.raises(NotFound):
        await store.get_item(alice.id, item.server_id)
    with pytest.raises(Conflict):
        await store.move_item(alice.id, moved.server_id, "4")
    await store.delete_item(alice.id, moved.server_id)
    with pytest.raises(NotFound):
        await store.delete_item(alice.id, moved.server_id)
    with pytest.raises(NotFound):
        await store.add_item(alice.id, "77", new)


async def test_bulk_add_matches_single_adds(store: Store, alice: User):
    items = [NewItem("Email", {"Subject": f"n{n}"},
                     attachments=((Attachment("", "a.txt", "text/plain", 0), b"x" * n),) if n % 2 else ())
             for n in range(5)]
    ids = await store.add_items_bulk(alice.id, "2", items)
    assert ids == [f"2:{n}" for n in range(1, 6)]
    listed = await store.list_items(alice.id, "2")
    assert [i.data["Subject"] for i in listed] == [f"n{n}" for n in range(5)]
    assert [len(i.attachments) for i in listed] == [0, 1, 0, 1, 0]
    assert await store.folder_position(alice.id, "2") == listed[-1].modseq == 5
    assert (await store.add_item(alice.id, "2", items[0])).server_id == "2:6"


async def test_empty_folder(store: Store, alice: User):
    sub = await store.create_folder(alice.id, "4", "Old", FolderType.USER_MAIL)
    for n in range(3):
        await store.add_item(alice.id, "4", NewItem("Email", {"Subject": f"d{n}"}))
    await store.add_item(alice.id, sub.id, NewItem("Email", {"Subject": "nested"}))
    after = await store.folder_position(alice.id, "4")
    assert await store.empty_folder(alice.id, "4", include_subfolders=True) == 4
    assert await store.list_items(alice.id, "4") == []
    page = await store.changes_since(alice.id, "4", after, limit=10)
    assert [c.kind for c in page.changes] == ["delete"] * 3
    assert sub.id not in {f.id for f in await store.list_folders(alice.id)}


async def test_search(store: Store, alice: User):
    for n, (subject, body) in enumerate([("Budget 100%", "numbers"), ("Lunch", "about budget"),
                                          ("Other", "nothing"), ("a_b", "under")]):
        await store.add_item(alice.id, "2", NewItem("Email", {
            "Subject": subject, "From": "dana@fabrikam.com",
            "DateReceived": f"2026-11-2{n}T09:00:00.000Z"}, body_text=body))
    found, total = await store.search_items(alice.id, "BUDGET")
    assert total == 2 and [i.data["Subject"] for i in found] == ["Lunch", "Budget 100%"]
    assert (await store.search_items(alice.id, "100%"))[1] == 1
    assert (await store.search_items(alice.id, "%"))[1] == 1  # % is literal
    assert (await store.search_items(alice.id, "_"))[1] == 1
    assert (await store.search_items(alice.id, "fabrikam"))[1] == 4
    assert (await store.search_items(alice.id, "fabrikam", folder_ids=["3"]))[1] == 0
    assert (await store.search_items(alice.id, "fabrikam", item_class="Contacts"))[1] == 0
    page, total = await store.search_items(alice.id, "fabrikam", offset=1, limit=2)
    assert total == 4 and len(page) == 2


async def test_change_listeners_run_after_commit(store: Store, alice: User):
    heard: list[tuple[int, str, int]] = []

    async def listener(user_id: int, folder_id: str, position: int) -> None:
        heard.append((user_id, folder_id, position))
        assert await store.folder_position(user_id, folder_id) >= position  # committed

    store.add_change_listener(listener)
    item = await store.add_item(alice.id, "2", NewItem("Email", {"Subject": "hi"}))
    await store.move_item(alice.id, item.server_id, "3")
    assert [h[1] for h in heard] == ["2", "2", "3"]


def device(user: User, device_id: str = "D1", **fields) -> Device:
    return Device(0, user.id, user.address, device_id, "iPhone", **fields)


async def test_devices(store: Store, alice: User):
    created = await store.create_device(device(alice, user_agent="Apple-iPhone14C2/2104.92",
                                               first_seen=T0, extra={"a": 1}))
    assert created.id > 0 and created.user_address == "alice@contoso.com"
    assert created.first_seen == T0
    assert await store.get_device(alice.id, "D1") == created
    assert await store.get_device(alice.id, "D2") is None
    assert await store.get_device_by_pk(created.id) == created
    with pytest.raises(NotFound):
        await store.get_device_by_pk(999)
    with pytest.raises(Conflict):
        await store.create_device(device(alice))
    updated = await store.update_device(created.id, state="quarantined", choice_token="tok",
                                        quarantine_until=T0 + timedelta(hours=24), extra={"b": 2})
    assert updated.extra == {"a": 1, "b": 2} and updated.state == "quarantined"
    assert await store.get_device_by_token("tok") == updated
    assert await store.get_device_by_token("other") is None
    with pytest.raises(StoreError):
        await store.update_device(created.id, user_id=5)
    pending = await store.create_device(device(alice, "D2", state="pending",
                                               notice_at=T0 + timedelta(hours=3)))
    assert [d.id for d in await store.list_devices(user="ALICE@contoso.com")] == [created.id, pending.id]
    assert [d.id for d in await store.list_devices(state="pending")] == [pending.id]
    assert await store.list_devices(tenant="fabrikam.com") == []
    states = {d.state for d in await store.list_devices()}
    assert await store.count_devices_by_state() == {
        state: len(await store.list_devices(state=state)) for state in states}
    assert (await store.count_devices_by_state())["pending"] == 1
    assert await store.next_deadline() == T0 + timedelta(hours=3)
    assert await store.due_devices(T0) == []
    assert [d.id for d in await store.due_devices(T0 + timedelta(hours=3))] == [pending.id]
    assert {d.id for d in await store.due_devices(T0 + timedelta(days=2))} == {created.id, pending.id}


async def test_sync_state_keeps_previous_key(store: Store, alice: User):
    dev = await store.create_device(device(alice))
    assert await store.get_sync_state(dev.id, "2") is None
    first = SyncState(dev.id, "2", sync_key=1, position=0, data={"held": ["2:1"]})
    await store.put_sync_state(first)
    second = SyncState(dev.id, "2", sync_key=2, position=7, prev_sync_key=1, prev_position=0,
                       data={}, prev_data={"held": ["2:1"]})
    await store.put_sync_state(second)
    assert await store.get_sync_state(dev.id, "2") == second
    await store.put_sync_state(SyncState(dev.id, "", sync_key=1, position=3))
    await store.delete_sync_states(dev.id, "2")
    assert await store.get_sync_state(dev.id, "2") is None
    assert await store.get_sync_state(dev.id, "") is not None
    await store.delete_sync_states(dev.id)
    assert await store.get_sync_state(dev.id, "") is None
    with pytest.raises(NotFound):
        await store.put_sync_state(SyncState(999, "2", 1, 0))


async def test_audit_log(store: Store, alice: User):
    dev = await store.create_device(device(alice))
    a = await store.add_event(dev.id, T0, "first-seen", {"ua": "x"})
    b = await store.add_event(dev.id, T0 + timedelta(seconds=1), "quarantined", {})
    events = await store.list_events(dev.id)
    assert events == [a, b] and events[0].at == T0 and events[0].detail == {"ua": "x"}


async def test_clock(store: Store):
    assert await store.get_clock() == ClockRow(mode="real", offset_s=0, frozen_at=None)
    await store.put_clock(ClockRow(mode="manual", offset_s=0, frozen_at=T0))
    row = await store.get_clock()
    assert row == ClockRow(mode="manual", offset_s=0, frozen_at=T0) and row.frozen_at.tzinfo
    await store.put_clock(ClockRow(mode="real", offset_s=3600.5, frozen_at=None))
    assert (await store.get_clock()).offset_s == 3600.5


async def test_naive_datetimes_are_taken_as_utc(store: Store, alice: User):
    dev = await store.create_device(device(alice, first_seen=datetime(2026, 1, 1, 12)))
    assert dev.first_seen == datetime(2026, 1, 1, 12, tzinfo=UTC)
    again = await store.get_device_by_pk(dev.id)
    assert again.first_seen == datetime(2026, 1, 1, 12, tzinfo=UTC)
