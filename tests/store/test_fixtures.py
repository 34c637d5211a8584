"""The demo tenant (SPEC §8) and the device profile catalogue (SPEC §3)."""
from __future__ import annotations

import email
from email import policy

from fixtures import load_device_profiles
from store import FolderType, Store
from store.fixtures import MailboxBuilder, load_demo_tenant


async def test_demo_tenant_loads_once(store: Store):
    assert await load_demo_tenant(store) is True
    before = {u.address: await store.folder_position(u.id, "2") for u in await store.list_users()}
    assert await load_demo_tenant(store) is False
    after = {u.address: await store.folder_position(u.id, "2") for u in await store.list_users()}
    assert before == after
    assert sorted(before) == ["alice@contoso.com", "bob@contoso.com", "carol@contoso.com"]
    assert (await store.get_tenant("contoso.com")).mode == "off"
    assert await store.authenticate("CONTOSO\\bob", "demo-pass") is not None


async def test_demo_mailbox_content(sqlite_store: Store):
    store = sqlite_store
    await load_demo_tenant(store)
    alice = await store.get_user("alice@contoso.com")
    inbox = await store.list_items(alice.id, "2")
    assert len(inbox) >= 30
    assert any(i.data["Subject"].startswith("Re: ") for i in inbox)
    assert any(i.body_html for i in inbox) and any(not i.body_html for i in inbox)
    with_files = [i for i in inbox if i.attachments]
    assert with_files and all(1000 < a.size < 20000 for i in with_files for a in i.attachments)
    mail = with_files[0]
    parsed = email.message_from_bytes(mail.mime, policy=policy.default)
    assert parsed["Subject"] == mail.data["Subject"]
    assert [p.get_filename() for p in parsed.iter_attachments()] == [mail.attachments[0].name]
    assert mail.data["DateReceived"].endswith(".000Z") and mail.data["InternetCPID"] == "65001"
    sub = [f for f in await store.list_folders(alice.id) if f.type is FolderType.USER_MAIL]
    assert sub and len(await store.list_items(alice.id, sub[0].id)) > 0
    events = await store.list_items(alice.id, "8")
    assert len(events) == 10
    assert sum("Recurrence" in e.data for e in events) == 1
    assert sum(e.data["AllDayEvent"] == 1 for e in events) == 1
    assert any(e.data.get("Attendees") for e in events)
    contacts = await store.list_items(alice.id, "9")
    assert len(contacts) == 20 and all(c.data["Email1Address"] for c in contacts)


def test_same_seed_same_mailbox():
    from fixtures import read_json

    spec = read_json("demo_tenant.json")
    owner = spec["users"][0]

    def build(seed: int) -> list:
        builder = MailboxBuilder(spec, owner, "contoso.com", seed)
        return [(i.data, i.body_text, i.mime) for i in builder.mails(10, 2) + builder.events()]

    assert build(1) == build(1)
    assert build(1) != build(2)


def test_device_profiles_cover_spec_table():
    profiles = load_device_profiles()
    assert set(profiles) == {"outlook-ios", "outlook-android", "iphone-mail", "ipad-mail",
                             "android-gmail", "samsung-email", "windows-mail", "legacy-12"}
    assert profiles["samsung-email"].device_type == "SAMSUNGSMS911B"
    assert profiles["legacy-12"].version == "12.1"
    assert {p.app for p in profiles.values() if p.device_type == "Outlook"} == {"outlook"}
