"""Abuse limits on a live gateway: failed logins, header sizes, slow headers and bodies,
and the per-command caps, each answered the way its protocol says."""
from __future__ import annotations

import asyncio
import logging
import time

from server_fixtures import basic_auth

from gateway.commands.sync import MAX_COLLECTIONS
from protocol import wbxml
from protocol.xml import E, text

QUERY = "Cmd=FolderSync&User=alice&DeviceId=ABUSE0001&DeviceType=iPhone"
FOLDER_SYNC = E("FolderHierarchy:FolderSync", E("FolderHierarchy:SyncKey", "0"))


async def options(server, user="alice@contoso.com", password="demo-pass"):
    return await server.post(QUERY, b"", {"MS-ASProtocolVersion": "16.1"}, user=user,
                             password=password)


async def test_failed_logins_are_throttled_per_login_with_429(limited_server, caplog):
    async with limited_server(auth_fail_limit_login=3, auth_fail_limit_address=100) as server:
        assert (await options(server)).status != 401  # alice's phone, before the attack
        with caplog.at_level(logging.INFO):
            answers = [(await options(server, password=f"guess{n}")).status for n in range(5)]
        assert answers == [401, 401, 401, 429, 429]
        refused = await server.post(QUERY, b"", {}, user="alice@contoso.com", password="x")
        assert 1 <= int(refused.headers["Retry-After"]) <= 300
        # A guesser who finds the password meanwhile is still refused...
        other_form = await options(server, user="alice@contoso.com", password="demo-pass\u00e9")
        assert other_form.status == 429
        # ...but the phone whose login was accepted before keeps syncing.
        assert (await server.eas("FolderSync", FOLDER_SYNC, device_id="ABUSE0001")).eas_status == 1
        assert (await options(server, user="bob@contoso.com")).status != 401
        logged = [r.getMessage() for r in caplog.records if r.name == "easgate.throttle"]
        assert logged == ["throttling login alice@contoso.com: 3 failed logins in 300 s"]
        assert not any("guess" in r.getMessage() for r in caplog.records)


async def test_failed_logins_are_throttled_per_address_also_for_autodiscover(limited_server):
    async with limited_server(auth_fail_limit_login=100, auth_fail_limit_address=4) as server:
        for n in range(4):
            assert (await options(server, user=f"nobody{n}@contoso.com")).status == 401
        assert (await options(server, user="carol@contoso.com")).status == 429
        session = await server.session()
        async with session.post(f"{server.http_url}/autodiscover/autodiscover.xml", data=b"<x/>",
                                headers={"Authorization": basic_auth("carol@contoso.com")}) as answer:
            assert answer.status == 429 and answer.headers["Retry-After"]


async def test_oversized_headers_are_400_and_the_server_stays_up(limited_server):
    async with limited_server() as server:
        session = await server.session()
        async with session.post(server.endpoint + "?" + QUERY,
                                headers={"X-Padding": "a" * 20_000}) as answer:
            assert answer.status == 400
        async with session.post(server.endpoint + "?" + QUERY + "&pad=" + "b" * 20_000) as answer:
            assert answer.status in (400, 414)
        many = {f"X-H{n}": "x" for n in range(200)}
        async with session.post(server.endpoint + "?" + QUERY, headers=many) as answer:
            assert answer.status == 400
        assert (await server.eas("FolderSync", FOLDER_SYNC)).eas_status == 1


async def _dribble(port: int, data: bytes, every_s: float, stop_after_s: float) -> tuple[float, bytes]:
    """Send ``data`` a byte at a time; how long until the server closed, and what it said."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    started = time.monotonic()
    answer = b""
    try:
        for byte in data:
            writer.write(bytes([byte]))
            await writer.drain()
            try:
                answer += await asyncio.wait_for(reader.read(4096), every_s)
            except TimeoutError:
                pass
            if reader.at_eof() or time.monotonic() - started > stop_after_s:
                break
        answer += await asyncio.wait_for(reader.read(), 5)
    except (ConnectionResetError, BrokenPipeError):
        pass
    finally:
        writer.close()
    return time.monotonic() - started, answer


async def test_a_client_that_dribbles_its_headers_is_dropped(limited_server):
    async with limited_server(client_header_timeout_s=1.0) as server:
        request = (f"POST /Microsoft-Server-ActiveSync?{QUERY} HTTP/1.1\r\n"
                   "Host: x\r\n" + "X-Slow: " + "y" * 200 + "\r\n\r\n").encode()
        elapsed, answer = await _dribble(server.http_port, request, 0.1, stop_after_s=10)
        assert elapsed < 5, "the connection was kept open"
        assert b"200 OK" not in answer


async def test_a_client_that_dribbles_its_body_gets_408(limited_server):
    async with limited_server(client_body_timeout_s=0.5, client_body_min_rate=1024) as server:
        head = (f"POST /Microsoft-Server-ActiveSync?{QUERY} HTTP/1.1\r\nHost: x\r\n"
                f"Authorization: {basic_auth('alice@contoso.com')}\r\n"
                "MS-ASProtocolVersion: 16.1\r\nContent-Length: 500\r\n\r\n").encode()
        reader, writer = await asyncio.open_connection("127.0.0.1", server.http_port)
        writer.write(head)
        started = time.monotonic()
        answer = b""
        for _ in range(100):
            writer.write(b"\x03")
            try:
                answer += await asyncio.wait_for(reader.read(4096), 0.1)
            except TimeoutError:
                continue
            if answer or reader.at_eof():
                break
        writer.close()
        assert answer.startswith(b"HTTP/1.1 408"), answer[:80]
        assert time.monotonic() - started < 4


async def test_a_slow_but_steady_body_is_read(limited_server):
    # About 24 bytes a second for half a second: longer than the grace, above the pace.
    async with limited_server(client_body_timeout_s=0.3, client_body_min_rate=16) as server:
        body = wbxml.encode(FOLDER_SYNC)
        body_chunks = [body[i:i + 1] for i in range(len(body))]
        policy_key = await server.provision(device_id="ABUSE0001")

        async def paced():
            for chunk in body_chunks:  # a few bytes, spread over about half a second
                await asyncio.sleep(0.5 / len(body_chunks))
                yield chunk

        session = await server.session()
        async with session.post(server.endpoint + "?" + QUERY, data=paced(), headers={
                "Authorization": basic_auth("alice@contoso.com"), "MS-ASProtocolVersion": "16.1",
                "X-MS-PolicyKey": policy_key,
                "Content-Type": "application/vnd.ms-sync.wbxml"}) as answer:
            assert answer.status == 200


async def test_too_many_sync_collections_is_status_15_with_the_limit(limited_server):
    async with limited_server() as server:
        collections = E("AirSync:Collections", *[
            E("AirSync:Collection", E("AirSync:SyncKey", "0"), E("AirSync:CollectionId", str(n)))
            for n in range(MAX_COLLECTIONS + 1)])
        answer = await server.eas("Sync", E("AirSync:Sync", collections))
        assert answer.eas_status == 15
        assert text(answer.document, "AirSync:Limit") == str(MAX_COLLECTIONS)


async def test_too_many_ping_folders_is_status_6_with_the_limit(limited_server):
    async with limited_server(ping_max_folders=5) as server:
        folders = E("Ping:Folders", *[E("Ping:Folder", E("Ping:Id", str(n)), E("Ping:Class", "Email"))
                                      for n in range(6)])
        answer = await server.eas("Ping", E("Ping:Ping", E("Ping:HeartbeatInterval", "300"), folders))
        assert answer.eas_status == 6
        assert text(answer.document, "Ping:MaxFolders") == "5"


async def test_a_device_holds_one_ping_however_many_it_sends(limited_server):
    async with limited_server(ping_min_heartbeat_s=1) as server:
        await server.eas("FolderSync", FOLDER_SYNC)
        ping = E("Ping:Ping", E("Ping:HeartbeatInterval", "30"), E("Ping:Folders", E(
            "Ping:Folder", E("Ping:Id", "2"), E("Ping:Class", "Email"))))
        policy_key = await server.provision()
        held = []
        for _ in range(20):
            held.append(asyncio.create_task(server.eas("Ping", ping, policy_key=policy_key)))
            await asyncio.sleep(0.05)
        # Each newer Ping ends the one before at once; the newest waits out its 30 s.
        deadline = time.monotonic() + 8
        while sum(t.done() for t in held) < 19 and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)  # the newest stays held
        done = [t for t in held if t.done()]
        pending = {t for t in held if not t.done()}
        assert len(done) == 19 and len(pending) == 1, "more than one Ping is held"
        assert all(task.result().eas_status == 1 for task in done)  # ended, nothing changed
        last = pending.pop()
        last.cancel()
        await asyncio.gather(last, return_exceptions=True)
