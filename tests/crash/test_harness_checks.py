"""The crash harness's reckoning can fail: a lost item, a contact stored twice, a doubled
notice, a quarantine that went back are each reported (so a clean soak means something)."""
from __future__ import annotations

import datetime as dt

from harness import Ledger, Report, _reckon

from gateway.content.mail import new_email
from store import open_store
from store.fixtures import load_demo_tenant
from store.types import Device, FolderType, NewItem

WHEN = dt.datetime(2026, 11, 20, 9, 0, tzinfo=dt.UTC)


async def test_the_reckoning_reports_what_went_wrong(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'reckon.db'}"
    store = await open_store(url)
    try:
        await load_demo_tenant(store)
        alice = await store.get_user("alice@contoso.com")
        inbox = await store.find_folder(alice.id, FolderType.INBOX)
        for state, token in (("quarantined", "token-twice"), ("allowed", "token-none")):
            await store.create_device(Device(
                id=0, user_id=alice.id, user_address=alice.address, device_id=token.upper(),
                device_type="iPhone", app="third-party", state=state, choice_token=token))
        contacts = await store.find_folder(alice.id, FolderType.CONTACTS)
        for _ in range(3):  # an Add resent twice, each time stored again
            await store.add_item(alice.id, contacts.id, NewItem(
                item_class="Contacts", data={"FileAs": "crash-thrice"}))
        for _ in range(2):
            await store.add_item(alice.id, inbox.id, new_email(
                sender="no-reply@contoso.com", to=alice.address, subject="Action required",
                text="choose: /choice/token-twice?app=keep", date=WHEN))
    finally:
        await store.close()
    ledger = Ledger(contacts=[("alice@contoso.com", "9:999", "crash-never-stored")],
                    mails=[("bob@contoso.com", "alice@contoso.com", "crash-mail-never-sent")])
    report = Report("sqlite")
    await _reckon(url, ledger, report)
    problems = "\n".join(ledger.problems)
    assert report.lost == 3  # the contact, the mail in alice's Inbox and in bob's Sent Items
    assert "crash-never-stored" in problems and "crash-mail-never-sent" in problems
    assert "TOKEN-TWICE has 2 notices" in problems
    assert "TOKEN-NONE is allowed, not quarantined" in problems
    assert report.doubled == 2 and "contact crash-thrice stored 3 times" in problems
