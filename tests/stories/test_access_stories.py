"""The seed's stories end to end (issue 6, Acceptance): real sockets, the live gateway, and
pyactivesync posing as iPhone Mail and as Outlook for iOS."""
from __future__ import annotations

import asyncio
from typing import Any

from pyactivesync import FolderType
from story_world import (
    IPAD,
    IPHONE,
    NOTICE_SUBJECT,
    OUTLOOK,
    advance_hours,
    choice_token,
    click,
    deliver,
    device_json,
    mirror,
    phone,
    set_mode,
    stored_ids,
)

from protocol.xml import E


async def quarantined_iphone(live_server: Any, device_id: str = "IPHONE0001"):
    """recommend-all, then a new iPhone: its first Sync shows only the notice."""
    await set_mode(live_server, "recommend-all")
    iphone = phone(live_server, device_id, IPHONE)
    inbox = await (await mirror(iphone, FolderType.INBOX)).sync()
    assert len(inbox.items) == 1 and inbox.subjects()[0].startswith(NOTICE_SUBJECT)
    return iphone, inbox


async def test_1_new_iphone_keep(live_server: Any) -> None:
    iphone, inbox = await quarantined_iphone(live_server)
    calendar = await (await mirror(iphone, FolderType.CALENDAR)).sync()
    contacts = await (await mirror(iphone, FolderType.CONTACTS)).sync()
    assert calendar.items == {} and contacts.items == {}
    await advance_hours(live_server, 23)
    await deliver(live_server, "Arrives during the quarantine")
    assert (await inbox.sync()).added == [] and len(inbox.items) == 1
    assert (await calendar.sync()).items == {}
    (notice_id,) = inbox.items
    await click(live_server, await choice_token(live_server, inbox, notice_id), "keep")
    key_before = inbox.key
    await inbox.sync()  # the same SyncKey chain: no full resync
    assert inbox.key != key_before
    assert set(inbox.items) == await stored_ids(live_server, inbox.folder_id)
    assert "Arrives during the quarantine" in inbox.subjects()
    assert set((await calendar.sync()).items) == await stored_ids(live_server, calendar.folder_id)
    assert set((await contacts.sync()).items) == await stored_ids(live_server, contacts.folder_id)
    await iphone.close()


async def test_2_choose_outlook(live_server: Any) -> None:
    iphone, inbox = await quarantined_iphone(live_server)
    (notice_id,) = inbox.items
    await click(live_server, await choice_token(live_server, inbox, notice_id), "outlook")
    await advance_hours(live_server, 25)
    await deliver(live_server, "Only Outlook sees this")
    assert (await inbox.sync()).added == [] and list(inbox.items) == [notice_id]
    outlook = phone(live_server, "OUTLOOKIOS01", OUTLOOK)
    outlook_inbox = await (await mirror(outlook, FolderType.INBOX)).sync()
    assert set(outlook_inbox.items) == await stored_ids(live_server, inbox.folder_id)
    assert "Only Outlook sees this" in outlook_inbox.subjects()
    calendar = await (await mirror(outlook, FolderType.CALENDAR)).sync()
    assert calendar.items and set(calendar.items) == await stored_ids(live_server,
                                                                       calendar.folder_id)
    assert (await device_json(live_server, "IPHONE0001"))["reason"] == "chose-outlook"
    await iphone.close()
    await outlook.close()


async def test_3_no_choice_the_notice_goes_and_a_held_ping_wakes(live_server: Any) -> None:
    iphone, inbox = await quarantined_iphone(live_server)
    (notice_id,) = inbox.items
    await advance_hours(live_server, 23)
    ping = asyncio.create_task(iphone.ping(inbox.folder_id, heartbeat=120, timeout=60))
    await asyncio.sleep(0.5)  # the Ping is held by the server now
    assert not ping.done()
    await advance_hours(live_server, 1)  # the 24 h pass: the scheduler acts at once
    woken = await asyncio.wait_for(ping, 20)
    assert woken.status == "2" and inbox.folder_id in woken.changed_folder_ids
    await inbox.sync()
    assert notice_id in inbox.deleted and notice_id not in inbox.items
    assert set(inbox.items) == await stored_ids(live_server, inbox.folder_id)
    assert (await device_json(live_server, "IPHONE0001"))["reason"] == "timeout"
    await iphone.close()


async def test_4_previously_configured_device_gets_its_notice_inside_48_hours(
        live_server: Any) -> None:
    iphone = phone(live_server, "IPHONEOLD01", IPHONE)
    inbox = await (await mirror(iphone, FolderType.INBOX)).sync()
    assert set(inbox.items) == await stored_ids(live_server, inbox.folder_id)
    setting = await set_mode(live_server, "recommend-all")
    device = await device_json(live_server, "IPHONEOLD01")
    assert device["state"] == "pending"
    assert setting["enabled_at"] <= device["notice_at"]
    await deliver(live_server, "Still syncing while pending")
    assert "Still syncing while pending" in (await inbox.sync()).subjects()
    status, _ = await live_server.admin("PUT", "/clock", {"now": device["notice_at"]})
    assert status == 200
    device = await device_json(live_server, "IPHONEOLD01")
    assert device["state"] == "quarantined" and device["quarantine_until"]
    await deliver(live_server, "Held back by the quarantine")
    await inbox.sync()
    assert [s for s in inbox.subjects() if s.startswith(NOTICE_SUBJECT)]
    assert "Held back by the quarantine" not in inbox.subjects()
    await iphone.close()


async def test_5_prompt_new_once(live_server: Any) -> None:
    old = phone(live_server, "IPHONEOLD01", IPHONE)
    old_inbox = await (await mirror(old, FolderType.INBOX)).sync()
    await set_mode(live_server, "prompt-new-once")
    await deliver(live_server, "For everyone")
    assert "For everyone" in (await old_inbox.sync()).subjects()  # untouched
    ipad = phone(live_server, "IPADNEW001", IPAD)
    ipad_inbox = await (await mirror(ipad, FolderType.INBOX)).sync()
    assert len(ipad_inbox.items) == 1 and ipad_inbox.subjects()[0].startswith(NOTICE_SUBJECT)
    await advance_hours(live_server, 24)
    await ipad.close()
    repaired = phone(live_server, "IPADNEW001", IPAD)  # the same DeviceId pairs again
    again = await (await mirror(repaired, FolderType.INBOX)).sync()
    assert set(again.items) == await stored_ids(live_server, again.folder_id)
    assert not [s for s in again.subjects() if s.startswith(NOTICE_SUBJECT)]
    status, events = await live_server.admin(
        "GET", f"/devices/{(await device_json(live_server, 'IPADNEW001'))['id']}/events")
    assert [e["kind"] for e in events].count("notice-delivered") == 1
    await old.close()
    await repaired.close()


FOLDER_SYNC = E("FolderHierarchy:FolderSync", E("FolderHierarchy:SyncKey", "0"))


def sync_inbox() -> Any:
    return E("AirSync:Sync", E("AirSync:Collections", E("AirSync:Collection",
             E("AirSync:SyncKey", "0"), E("AirSync:CollectionId", "2"))))


def ping_inbox() -> Any:
    return E("Ping:Ping", E("Ping:HeartbeatInterval", "60"), E("Ping:Folders", E(
        "Ping:Folder", E("Ping:Id", "2"), E("Ping:Class", "Email"))))


def provision() -> Any:
    return E("Provision:Provision", E("Provision:Policies", E("Provision:Policy", E(
        "Provision:PolicyType", "MS-EAS-Provisioning-WBXML"))))


async def test_6_outlook_only(live_server: Any) -> None:
    await set_mode(live_server, "outlook-only")
    iphone = dict(device_id="IPHONEBLK01", **IPHONE, provision=False)
    for command, document in (("Provision", provision()), ("FolderSync", FOLDER_SYNC),
                              ("Sync", sync_inbox()), ("Ping", ping_inbox())):
        answer = await live_server.eas(command, document, **iphone)
        assert (answer.status, answer.eas_status) == (200, 129), command
    outlook = phone(live_server, "OUTLOOKIOS01", OUTLOOK)
    inbox = await (await mirror(outlook, FolderType.INBOX)).sync()
    assert set(inbox.items) == await stored_ids(live_server, inbox.folder_id)
    legacy = await live_server.eas("FolderSync", FOLDER_SYNC, device_id="LEGACY12",
                                   device_type="Android", user_agent="Android/4.4-EAS-2.0",
                                   version="12.1", provision=False)
    assert legacy.status == 403
    assert (await device_json(live_server, "IPHONEBLK01"))["state"] == "blocked"
    await outlook.close()


async def test_7_unavailable_setting_and_eac_quarantine_waiting_for_an_admin(
        live_server: Any) -> None:
    status, _ = await live_server.admin("PUT", "/tenants/contoso.com/device-access",
                                        {"mdm_authority": "intune"})
    status, body = await live_server.admin("PUT", "/tenants/contoso.com/mobile-access",
                                           {"mode": "recommend-all"})
    assert status == 409 and "Intune" in body["detail"]
    await live_server.admin("PUT", "/tenants/contoso.com/device-access", {
        "mdm_authority": None,
        "rules": [{"field": "DeviceType", "value": "iPhone", "access": "quarantine"}]})
    status, body = await live_server.admin("PUT", "/tenants/contoso.com/mobile-access",
                                           {"mode": "recommend-all"})
    assert status == 409 and body["error"] == "setting-unavailable"
    iphone = phone(live_server, "IPHONEEAC01", IPHONE)
    inbox = await (await mirror(iphone, FolderType.INBOX)).sync()
    assert len(inbox.items) == 1 and "temporarily" in inbox.subjects()[0]
    await advance_hours(live_server, 72)  # no 24 h end under EAC
    assert (await inbox.sync()).added == []
    device = await device_json(live_server, "IPHONEEAC01")
    assert (device["state"], device["reason"]) == ("quarantined", "device-rule")
    status, allowed = await live_server.admin("POST", f"/devices/{device['id']}/access",
                                              {"access": "allow"})
    assert allowed["state"] == "allowed"
    await inbox.sync()
    assert set(inbox.items) == await stored_ids(live_server, inbox.folder_id)
    await iphone.close()
