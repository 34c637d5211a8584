"""/metrics and the trace route on the live server: real sockets, real store, real traffic."""
import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from protocol.xml import E


def folder_sync() -> E:
    return E("FolderHierarchy:FolderSync", E("FolderHierarchy:SyncKey", "0"))


async def scrape(live_server) -> dict[tuple[str, tuple], float]:
    async with aiohttp.ClientSession() as session, \
            session.get(f"{live_server.http_url}/metrics") as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain")
        text = await response.text()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def requests_of(samples, command: str) -> float:
    return sum(value for (name, labels), value in samples.items()
               if name == "easgate_requests_total" and ("command", command) in labels)


async def test_metrics_parse_and_move_with_the_traffic(live_server):
    before = await scrape(live_server)
    assert requests_of(before, "FolderSync") == 0
    await live_server.services.access.set_mode("contoso.com", "recommend-all")
    answer = await live_server.eas("FolderSync", folder_sync())
    assert answer.eas_status == 1
    await live_server.eas("FolderSync", folder_sync(), device_id="OUTLOOK1",
                          device_type="Outlook", user_agent="Outlook-iOS/2.0")
    after = await scrape(live_server)
    ok = ("easgate_requests_total", (("command", "FolderSync"), ("eas_status", "1"),
                                     ("status", "200")))
    assert after[ok] == 2
    assert requests_of(after, "Provision") == 4  # two round trips per device
    assert after[("easgate_request_duration_seconds_count", (("command", "FolderSync"),))] == 2
    assert after[("easgate_devices", (("state", "quarantined"),))] == 1
    assert after[("easgate_devices", (("state", "allowed"),))] == 1
    assert after[("easgate_notices_sent_total", ())] == 1
    assert after[("easgate_pings_held", ())] == 0


async def test_choices_and_timeouts_are_counted(live_server):
    access = live_server.services.access
    await access.set_mode("contoso.com", "recommend-all")
    await live_server.eas("FolderSync", folder_sync(), device_id="KEEPER")
    await live_server.eas("FolderSync", folder_sync(), device_id="WAITER", user="bob@contoso.com")
    [keeper] = [d for d in await live_server.store.list_devices() if d.device_id == "KEEPER"]
    await access.choose(keeper.id, "keep")
    await live_server.clock.advance(24 * 3600 + 1)
    samples = await scrape(live_server)
    assert samples[("easgate_choices_total", (("kind", "keep"),))] == 1
    assert samples[("easgate_quarantine_timeouts_total", ())] == 1
    assert samples[("easgate_devices", (("state", "allowed"),))] == 2


async def test_the_trace_route_needs_the_token_and_hides_the_password(live_server):
    await live_server.eas("FolderSync", folder_sync())
    [device] = await live_server.store.list_devices()
    status, trace = await live_server.admin("GET", f"/devices/{device.id}/trace")
    assert status == 200
    assert [entry["command"] for entry in trace] == ["Provision", "Provision", "FolderSync"]
    last = trace[-1]
    assert last["request_line"].startswith("POST /Microsoft-Server-ActiveSync?Cmd=FolderSync")
    assert "<FolderHierarchy:SyncKey>0</FolderHierarchy:SyncKey>" in last["request_xml"]
    assert last["response_status"] == 200 and last["eas_status"] == "1"
    assert live_server.password not in str(trace)
    status, error = await live_server.admin("GET", "/devices/987654/trace")
    assert status == 404 and error["error"] == "unknown-device"
    async with aiohttp.ClientSession() as session, session.get(
            f"{live_server.http_url}/admin/api/v1/devices/{device.id}/trace") as response:
        assert response.status == 401
