"""The emulated device in its Ping loop: woken by new mail, and by the end of a quarantine
(SPEC §4 step 6, §7)."""
import asyncio

import pytest

pytestmark = pytest.mark.timeout(90)


async def held(live_server, count=1, timeout=10.0):
    """Until the gateway holds ``count`` requests in its push hub."""
    deadline = asyncio.get_running_loop().time() + timeout
    while live_server.services.pushhub.waiting_count() < count:
        assert asyncio.get_running_loop().time() < deadline, "the Ping was never held"
        await asyncio.sleep(0.05)


async def test_new_mail_wakes_the_ping_and_the_device_fetches_it(live_server, play):
    session = await play("iphone-mail")
    before = len(session.inbox.items)
    ping = asyncio.create_task(session.ping(heartbeat=300))
    await held(live_server)
    status, _ = await live_server.admin("POST", "/users/alice@contoso.com/messages", {
        "from": "dana@fabrikam.com", "subject": "Contract draft", "body": "See attached."})
    assert status in (200, 201)
    changed = await asyncio.wait_for(ping, 20)
    assert session.inbox.folder.server_id in changed
    assert len(session.inbox.items) == before + 1
    assert any(item.title == "Contract draft" for item in session.inbox.items.values())
    pings = [e for e in session.events if e.kind == "exchange" and e.step == "Ping"]
    assert pings[-1].status == 2


async def test_end_of_quarantine_wakes_the_ping_and_the_mailbox_flows(live_server, play):
    status, _ = await live_server.admin(
        "PUT", "/tenants/contoso.com/mobile-access", {"mode": "recommend-all"})
    assert status == 200
    session = await play("samsung-email")
    assert session.outcome == "quarantined"
    ping = asyncio.create_task(session.ping(heartbeat=300))
    await held(live_server)
    status, _ = await live_server.admin("POST", "/clock/advance", {"seconds": 24 * 3600})
    assert status == 200
    await asyncio.wait_for(ping, 20)
    assert session.notice_removed  # the notice went with a Sync Delete
    assert session.outcome == "synced"
    assert len(session.inbox.items) >= 30
    assert session.notice.server_id not in session.inbox.items


async def test_ping_rounds_stop_when_the_device_gets_blocked(live_server, play):
    session = await play("legacy-12")
    status, _ = await live_server.admin(
        "PUT", "/tenants/contoso.com/mobile-access", {"mode": "outlook-only"})
    assert status == 200  # decided at the device's next request (SPEC §2)
    outcome = await asyncio.wait_for(session.ping_rounds(3, heartbeat=300), 20)
    assert outcome == "blocked"
    pings = [e for e in session.events if e.kind == "exchange" and e.step == "Ping"]
    assert len(pings) == 1 and pings[0].http_status == 403  # 12.1 is told with HTTP 403
