"""Issue 11's acceptance: pyactivesync as iPhone Mail talks to B (proxy mode, recommend-all)
in front of A (store mode, the demo tenant, setting off). The quarantine, the choice and the
release happen on B as in the store-mode stories; then the phone syncs A's mailbox through
B, and a mail delivered into A wakes a Ping held on B."""
from __future__ import annotations

import asyncio
from typing import Any

import pytest
from pyactivesync import FolderType, StatusError
from server_fixtures import provision_request
from story_world import (
    IPHONE,
    NOTICE_SUBJECT,
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
from store.api import NotFound

FOLDER_SYNC = E("FolderHierarchy:FolderSync", E("FolderHierarchy:SyncKey", "0"))
PING_INBOX = E("Ping:Ping", E("Ping:HeartbeatInterval", "120"), E("Ping:Folders", E(
    "Ping:Folder", E("Ping:Id", "2"), E("Ping:Class", "Email"))))


async def test_quarantine_choice_release_then_the_upstream_mailbox_and_its_push(
        live_server: Any, proxy_server: Any) -> None:
    upstream, proxy = live_server, proxy_server
    await set_mode(proxy, "recommend-all")
    iphone = phone(proxy, "IPHONEPROXY01", IPHONE)

    # Quarantined by B: only the notice, from B's own store; nothing reached A.
    inbox = await (await mirror(iphone, FolderType.INBOX)).sync()
    assert len(inbox.items) == 1 and inbox.subjects()[0].startswith(NOTICE_SUBJECT)
    assert (await device_json(proxy, "IPHONEPROXY01"))["state"] == "quarantined"
    assert not [d for d in await upstream.store.list_devices() if d.device_id == "IPHONEPROXY01"]
    proxied_user = await proxy.store.get_user("alice@contoso.com")
    assert await proxy.store.authenticate("alice@contoso.com", proxy.password) is None
    assert proxied_user.address == "alice@contoso.com"

    await advance_hours(proxy, 2)
    await deliver(upstream, "Arrives upstream during the quarantine")
    assert (await inbox.sync()).added == [] and len(inbox.items) == 1

    (notice_id,) = inbox.items
    await click(proxy, await choice_token(proxy, inbox, notice_id), "keep")
    assert (await device_json(proxy, "IPHONEPROXY01"))["state"] == "allowed"

    # Released: B's SyncKey is answered as invalid, so the phone starts over upstream, where
    # it provisions again (B's policy key is unknown there).
    with pytest.raises(StatusError) as stale:
        await inbox.sync()
    assert (stale.value.command, stale.value.code) == ("Sync", "3")
    with pytest.raises(StatusError) as unprovisioned:
        await iphone.list_folders()
    assert unprovisioned.value.code in ("142", "144")
    await iphone.provision()
    upstream_inbox = await (await mirror(iphone, FolderType.INBOX)).sync()
    assert set(upstream_inbox.items) == await stored_ids(upstream, upstream_inbox.folder_id)
    assert "Arrives upstream during the quarantine" in upstream_inbox.subjects()
    assert not [s for s in upstream_inbox.subjects() if s.startswith(NOTICE_SUBJECT)]
    calendar = await (await mirror(iphone, FolderType.CALENDAR)).sync()
    assert calendar.items and set(calendar.items) == await stored_ids(upstream,
                                                                       calendar.folder_id)

    # A Ping held through B at A wakes when mail arrives in A.
    ping = asyncio.create_task(iphone.ping(upstream_inbox.folder_id, heartbeat=120, timeout=60))
    await _until_held(upstream)
    assert not ping.done()
    await deliver(upstream, "Wakes the Ping through the proxy")
    woken = await asyncio.wait_for(ping, 20)
    assert woken.status == "2" and upstream_inbox.folder_id in woken.changed_folder_ids
    assert "Wakes the Ping through the proxy" in (await upstream_inbox.sync()).subjects()

    # The policy state stayed on B; the upstream only ever saw an allowed phone.
    events = await _events(proxy, "IPHONEPROXY01")
    assert {"notice-delivered", "chose-keep"} <= set(events)
    upstream_device = next(d for d in await upstream.store.list_devices()
                           if d.device_id == "IPHONEPROXY01")
    assert upstream_device.state == "allowed"
    await iphone.close()


async def test_a_device_quarantined_while_its_ping_is_held_upstream_hears_it_at_once(
        live_server: Any, proxy_server: Any) -> None:
    upstream, proxy = live_server, proxy_server
    iphone = phone(proxy, "IPHONEOLD0001", IPHONE)
    inbox = await (await mirror(iphone, FolderType.INBOX)).sync()  # mode off: upstream's
    assert set(inbox.items) == await stored_ids(upstream, inbox.folder_id)

    ping = asyncio.create_task(iphone.ping(inbox.folder_id, heartbeat=300, timeout=60))
    await _until_held(upstream)
    await set_mode(proxy, "recommend-all")  # a previously configured phone: pending
    device = await device_json(proxy, "IPHONEOLD0001")
    assert device["state"] == "pending" and not ping.done()
    status, _ = await proxy.admin("PUT", "/clock", {"now": device["notice_at"]})
    assert status == 200
    woken = await asyncio.wait_for(ping, 10)
    assert woken.status == "7"  # FolderSync first: the phone now gets B's own hierarchy

    # B answers it itself now; the upstream's policy key means nothing here either.
    with pytest.raises(StatusError) as unprovisioned:
        await iphone.list_folders()
    assert unprovisioned.value.code in ("142", "144")
    await iphone.provision()
    local_inbox = await (await mirror(iphone, FolderType.INBOX)).sync()
    assert len(local_inbox.items) == 1
    assert local_inbox.subjects()[0].startswith(NOTICE_SUBJECT)
    await iphone.close()


async def _until_held(upstream: Any, timeout_s: float = 10.0) -> None:
    """Wait until A holds a Ping (its push hub has a watch)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while upstream.services.pushhub.waiting_count() == 0:
        assert loop.time() < deadline, "the Ping never reached the upstream"
        await asyncio.sleep(0.05)


async def _events(server: Any, device_id: str) -> list[str]:
    device = await device_json(server, device_id)
    status, events = await server.admin("GET", f"/devices/{device['id']}/events")
    if status != 200:
        raise NotFound(device_id)
    return [event["kind"] for event in events]


async def test_a_remote_wipe_reaches_a_device_whose_ping_is_held_upstream(
        live_server: Any, proxy_server: Any) -> None:
    upstream, proxy = live_server, proxy_server
    phone_line = {"device_id": "WIPEPROXY01", "device_type": "iPhone",
                  "user_agent": IPHONE["user_agent"]}
    assert (await proxy.eas("FolderSync", FOLDER_SYNC, **phone_line)).eas_status == 1
    ping = asyncio.create_task(proxy.eas("Ping", PING_INBOX, timeout=30, **phone_line))
    await _until_held(upstream)
    device = await device_json(proxy, "WIPEPROXY01")
    status, _ = await proxy.admin("POST", f"/devices/{device['id']}/wipe", {})
    assert status in (200, 202)
    answer = await asyncio.wait_for(ping, 10)
    assert answer.eas_status == 140  # RemoteWipeRequested, from the gateway itself
    provision = await proxy.eas("Provision", provision_request(), provision=False,
                                **phone_line)
    assert provision.document is not None
    assert provision.document.find(".//{Provision:}RemoteWipe") is not None
