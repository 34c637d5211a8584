"""Live updates: an open page's event stream tells of devices, the clock and the setting."""
import asyncio
import json

import aiohttp

from protocol.xml import E

STREAM_TIMEOUT_S = 10


async def next_event(stream, wanted) -> dict:
    """The data of the next event for which ``wanted(kind, data)`` holds."""
    kind = None
    while True:
        line = (await asyncio.wait_for(stream.readline(), STREAM_TIMEOUT_S)).decode().rstrip("\n")
        if line.startswith("event: "):
            kind = line.removeprefix("event: ")
        elif line.startswith("data: ") and kind:
            data = json.loads(line.removeprefix("data: "))
            if wanted(kind, data):
                return data


async def test_a_device_turns_allowed_on_the_stream_when_the_clock_passes_24h(live_server,
                                                                               admin_browser):
    await live_server.services.access.set_mode("contoso.com", "recommend-all")
    async with admin_browser.session.get(f"{live_server.http_url}/admin/live") as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/event-stream")
        stream = response.content
        clock = await next_event(stream, lambda kind, data: kind == "clock")
        assert clock["mode"] == "manual"
        await live_server.eas("FolderSync", E("FolderHierarchy:FolderSync",
                                              E("FolderHierarchy:SyncKey", "0")))
        device = await next_event(stream, lambda kind, d: kind == "device"
                                  and d["device_id"] == "TESTDEVICE0001"
                                  and d["state"] == "quarantined")
        assert device["quarantine_until"] and device["user"] == "alice@contoso.com"
        status, _, _ = await admin_browser.post("/admin/clock/advance", {"seconds": "86400"})
        assert status == 303
        device = await next_event(stream, lambda kind, d: kind == "device"
                                  and d["device_id"] == "TESTDEVICE0001")
        assert device["state"] == "allowed" and device["reason"] == "timeout"
        await live_server.services.access.set_mode("contoso.com", "off")
        tenant = await next_event(stream, lambda kind, d: kind == "tenant")
        assert tenant == {"domain": "contoso.com", "mode": "off"}


async def test_the_stream_needs_a_session(live_server):
    async with aiohttp.ClientSession() as session, session.get(
            f"{live_server.http_url}/admin/live", allow_redirects=False) as response:
        assert response.status == 303
