"""What crosses the proxy, byte by byte, with a recording stand-in upstream: the request's
query, body and end-to-end headers (credentials included) go on unchanged, hop-by-hop
headers stop; the answer's status, headers and bytes come back unchanged; the trace and
the metrics see the exchange; blocked devices and refused credentials never reach it."""
from __future__ import annotations

import asyncio
import gzip
from typing import Any

import aiohttp
from aiohttp import web
from fake_upstream import REALM, WBXML, status_document
from server_fixtures import basic_auth
from story_world import set_mode
from yarl import URL

from emulator.query import base64_query
from protocol import wbxml
from protocol.request import EASRequest
from protocol.xml import E

FOLDER_SYNC = E("FolderHierarchy:FolderSync", E("FolderHierarchy:SyncKey", "0"))
IPHONE = {"device_id": "PASSTHROUGH01", "device_type": "iPhone",
          "user_agent": "Apple-iPhone14C2/2104.92"}


async def test_request_and_answer_cross_unchanged_but_for_hop_by_hop_headers(
        fake_upstream: Any, start_proxy: Any) -> None:
    async def answer(request: web.Request) -> web.StreamResponse:
        response = web.Response(body=gzip.compress(status_document()), status=200,
                                content_type=WBXML)
        response.headers.update({"Content-Encoding": "gzip", "X-Upstream-Only": "kept",
                                 "Connection": "X-Hop-Answer", "X-Hop-Answer": "dropped"})
        response.headers.add("Set-Cookie", "a=1")
        response.headers.add("Set-Cookie", "b=2")
        return response

    fake_upstream.answer = answer
    async with start_proxy(fake_upstream.url) as proxy:
        body = wbxml.encode(FOLDER_SYNC)
        session = await proxy.session()
        query = "Cmd=FolderSync&User=alice%40contoso.com&DeviceId=PASSTHROUGH01" \
                "&DeviceType=iPhone&Extra=%2Fa%2Bb"
        async with session.post(
                URL(f"{proxy.endpoint}?{query}", encoded=True), data=body, auto_decompress=False,
                headers={"Authorization": basic_auth("alice@contoso.com"),
                         "MS-ASProtocolVersion": "16.1", "X-MS-PolicyKey": "12345",
                         "User-Agent": IPHONE["user_agent"], "Content-Type": WBXML,
                         "Accept-Encoding": "gzip", "Connection": "keep-alive, X-Hop",
                         "X-Hop": "dropped", "X-Client-Only": "kept"}) as response:
            raw = await response.read()
            headers = response.headers
            assert response.status == 200
    (post,) = fake_upstream.posts
    sent = dict(post.headers)
    assert post.query_string == query and post.body == body
    assert sent["Authorization"] == basic_auth("alice@contoso.com")
    assert sent["X-MS-PolicyKey"] == "12345" and sent["MS-ASProtocolVersion"] == "16.1"
    assert sent["User-Agent"] == IPHONE["user_agent"] and sent["X-Client-Only"] == "kept"
    assert sent["Accept-Encoding"] == "gzip" and sent["X-Forwarded-For"] == "127.0.0.1"
    assert "X-Hop" not in sent and "keep-alive" not in sent.get("Connection", "")
    assert raw == gzip.compress(status_document())  # not unpacked on the way
    assert headers["Content-Encoding"] == "gzip" and headers["X-Upstream-Only"] == "kept"
    assert headers.getall("Set-Cookie") == ["a=1", "b=2"]
    assert "X-Hop-Answer" not in headers
    assert headers["MS-Server-ActiveSync"]  # the upstream's, or ours when it sends none


async def test_base64_query_and_options_go_to_the_upstream(fake_upstream: Any,
                                                           start_proxy: Any) -> None:
    async with start_proxy(fake_upstream.url) as proxy:
        query, headers = base64_query(EASRequest(
            command="FolderSync", user="alice@contoso.com", device_id="PASSTHROUGH02",
            device_type="iPhone", protocol_version="14.1", policy_key=None,
            user_agent=IPHONE["user_agent"]))
        answer = await proxy.post(query, wbxml.encode(FOLDER_SYNC),
                                  {**headers, "Content-Type": WBXML})
        assert answer.status == 200 and answer.eas_status == 1
        assert fake_upstream.posts[-1].query_string == query
        session = await proxy.session()
        async with session.options(proxy.endpoint, headers={
                "Authorization": basic_auth("alice@contoso.com")}) as options:
            assert options.headers["MS-ASProtocolVersions"] == "14.1,16.1"
            assert options.headers["MS-ASProtocolCommands"] == "Sync,FolderSync,Ping"


async def test_wrong_password_gets_the_upstreams_401_and_leaves_no_record(
        fake_upstream: Any, start_proxy: Any) -> None:
    async with start_proxy(fake_upstream.url) as proxy:
        await set_mode(proxy, "recommend-all")
        answer = await proxy.eas("FolderSync", FOLDER_SYNC, password="wrong", provision=False,
                                 **IPHONE)
        assert answer.status == 401 and answer.headers["WWW-Authenticate"] == REALM
        assert fake_upstream.posts == []
        assert await proxy.store.list_users() == []
        assert await proxy.store.list_devices() == []
        # The right password later: a new device, prompted at its first request.
        answer = await proxy.eas("FolderSync", FOLDER_SYNC, provision=False, **IPHONE)
        (device,) = await proxy.store.list_devices()
        assert device.state == "quarantined" and answer.status == 200
        assert fake_upstream.posts == []  # answered by the gateway itself (142: provision)


async def test_a_passed_request_refused_upstream_forgets_the_login(fake_upstream: Any,
                                                                   start_proxy: Any) -> None:
    refusals = 0

    async def expired(request: web.Request) -> web.StreamResponse:
        nonlocal refusals
        refusals += 1
        return web.Response(status=401, headers={"WWW-Authenticate": REALM})

    async with start_proxy(fake_upstream.url) as proxy:
        fake_upstream.answer = expired
        for _ in range(2):
            answer = await proxy.eas("FolderSync", FOLDER_SYNC, provision=False, **IPHONE)
            assert answer.status == 401 and answer.headers["WWW-Authenticate"] == REALM
        probes = [s for s in fake_upstream.seen if s.method == "OPTIONS"]
        assert refusals == 2 and len(probes) == 2  # checked again after the 401


async def test_domain_login_and_first_sight_records(fake_upstream: Any, start_proxy: Any
                                                    ) -> None:
    async with start_proxy(fake_upstream.url) as proxy:
        answer = await proxy.eas("FolderSync", FOLDER_SYNC, provision=False, **IPHONE)
        assert answer.status == 200
        user = await proxy.store.get_user("alice@contoso.com")
        assert await proxy.store.authenticate("alice@contoso.com", "demo-pass") is None
        assert {f.name for f in await proxy.store.list_folders(user.id)} >= {"Inbox"}
        # CONTOSO\\alice names the same user; a bare login names no address: refused.
        session = await proxy.session()
        for login, status in (("CONTOSO\\alice", 200), ("alice", 403)):
            async with session.options(proxy.endpoint,
                                       headers={"Authorization": basic_auth(login)}) as options:
                assert options.status == status, login
        assert [u.address for u in await proxy.store.list_users()] == ["alice@contoso.com"]
        # A user of a domain the gateway never saw: its tenant appears too, setting off.
        async with session.options(proxy.endpoint, headers={
                "Authorization": basic_auth("dave@fabrikam.com")}) as options:
            assert options.status == 200
        assert (await proxy.store.get_tenant("fabrikam.com")).mode == "off"
        await proxy.store.get_user("dave@fabrikam.com")


async def test_blocked_device_never_reaches_the_upstream(fake_upstream: Any,
                                                         start_proxy: Any) -> None:
    async with start_proxy(fake_upstream.url) as proxy:
        await set_mode(proxy, "outlook-only")
        answer = await proxy.eas("FolderSync", FOLDER_SYNC, provision=False, **IPHONE)
        assert (answer.status, answer.eas_status) == (200, 129)
        legacy = await proxy.eas("FolderSync", FOLDER_SYNC, provision=False,
                                 device_id="LEGACY12", device_type="Android",
                                 user_agent="Android/4.4-EAS-2.0", version="12.1")
        assert legacy.status == 403
        assert fake_upstream.posts == []
        outlook = await proxy.eas("FolderSync", FOLDER_SYNC, provision=False,
                                  device_id="OUTLOOK01", device_type="Outlook",
                                  user_agent="Outlook-iOS/2.0")
        assert outlook.status == 200 and len(fake_upstream.posts) == 1


async def test_trace_and_metrics_see_the_proxied_exchange(fake_upstream: Any,
                                                          start_proxy: Any) -> None:
    async with start_proxy(fake_upstream.url) as proxy:
        answer = await proxy.eas("FolderSync", FOLDER_SYNC, provision=False, **IPHONE)
        assert answer.status == 200
        (device,) = await proxy.store.list_devices()
        status, trace = await proxy.admin("GET", f"/devices/{device.id}/trace")
        assert status == 200
        entry = trace[-1]
        assert entry["command"] == "FolderSync" and entry["eas_status"] in ("1", 1)
        assert "FolderHierarchy:Status" in entry["response_xml"]
        assert entry["notes"]["proxy"] == "passed to the upstream"
        assert str(entry["notes"]["upstream_status"]) == "200"
        session = await proxy.session()
        async with session.get(f"{proxy.http_url}/metrics") as metrics:
            text = await metrics.text()
        assert 'easgate_upstream_answers_total{status="200"}' in text
        assert 'easgate_upstream_credential_checks_total{outcome="accepted"} 1.0' in text


async def test_the_answer_streams_before_the_upstream_has_finished(fake_upstream: Any,
                                                                   start_proxy: Any) -> None:
    first_seen = asyncio.Event()
    tail = b"x" * (2 * 1024 * 1024)

    async def slow_tail(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/octet-stream"})
        await response.prepare(request)
        await response.write(b"first")
        await asyncio.wait_for(first_seen.wait(), 10)  # only once the client has it
        await response.write(tail)
        await response.write_eof()
        return response

    fake_upstream.answer = slow_tail
    async with start_proxy(fake_upstream.url) as proxy:
        session = await proxy.session()
        async with session.post(proxy.endpoint, params={
                "Cmd": "GetAttachment", "User": "alice@contoso.com", "DeviceId": "STREAM01",
                "DeviceType": "iPhone", "AttachmentName": "1:1:0"},
                headers={"Authorization": basic_auth("alice@contoso.com"),
                         "MS-ASProtocolVersion": "14.1", "User-Agent": IPHONE["user_agent"]},
                timeout=aiohttp.ClientTimeout(total=20)) as response:
            assert await response.content.readexactly(5) == b"first"
            first_seen.set()
            assert await response.read() == tail
        (device,) = await proxy.store.list_devices()
        status, trace = await proxy.admin("GET", f"/devices/{device.id}/trace")
        assert trace[-1]["notes"]["trace"] == f"answer of {5 + len(tail)} bytes not decoded"


AUTODISCOVER = (b'<?xml version="1.0" encoding="utf-8"?>'
                b'<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/'
                b'mobilesync/requestschema/2006"><Request><EMailAddress>alice@contoso.com'
                b'</EMailAddress><AcceptableResponseSchema>http://schemas.microsoft.com/'
                b'exchange/autodiscover/mobilesync/responseschema/2006'
                b'</AcceptableResponseSchema></Request></Autodiscover>')


async def test_autodiscover_points_at_the_proxy_once_the_upstream_accepts(
        fake_upstream: Any, start_proxy: Any) -> None:
    async with start_proxy(fake_upstream.url) as proxy:
        session = await proxy.session()
        url = f"{proxy.http_url}/autodiscover/autodiscover.xml"
        for password, status in (("wrong", 401), ("demo-pass", 200)):
            async with session.post(url, data=AUTODISCOVER, headers={
                    "Content-Type": "text/xml",
                    "Authorization": basic_auth("alice@contoso.com", password)}) as answer:
                assert answer.status == status
                assert answer.headers.get("WWW-Authenticate") == (REALM if status == 401
                                                                  else None)
                body = await answer.text()
        assert f"<Url>{proxy.http_url}/Microsoft-Server-ActiveSync</Url>" in body


async def test_a_tenant_set_up_before_its_first_login_is_enforced_at_once(
        fake_upstream: Any, start_proxy: Any) -> None:
    """The operator adds fabrikam.com as outlook-only before any of its users signed in:
    the first iPhone of its first user is blocked and never reaches the upstream."""
    async with start_proxy(fake_upstream.url) as proxy:
        status, tenant = await proxy.admin("POST", "/tenants", {"domain": "fabrikam.com",
                                                                "mode": "outlook-only"})
        assert (status, tenant["mode"]) == (201, "outlook-only")
        answer = await proxy.eas("FolderSync", FOLDER_SYNC, provision=False,
                                 user="dave@fabrikam.com", **IPHONE)
        assert (answer.status, answer.eas_status) == (200, 129)
        assert fake_upstream.posts == []
        assert (await proxy.store.get_tenant("fabrikam.com")).mode == "outlook-only"
