"""A client that hangs up, and a database with no connection free: real sockets, real
store. A held Ping stops being held as soon as its client goes (not at the end of its
heartbeat); a request that cannot get a database connection in time is answered HTTP 503
with Retry-After and counted; neither is logged as an unexpected failure."""
from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import time

import pytest
from server_fixtures import ADMIN_TOKEN, DB_NAME, basic_auth, provision_request, running

import store.engine
from gateway.config import Address, Config
from gateway.observe import OBSERVE
from protocol.xml import E
from store.types import FolderType

ALICE = "alice@contoso.com"


def ping(heartbeat: int, folder_id: str):
    return E("Ping:Ping", E("Ping:HeartbeatInterval", str(heartbeat)),
             E("Ping:Folders", E("Ping:Folder", E("Ping:Id", folder_id),
                                 E("Ping:Class", "Email"))))


async def inbox_of(server, address: str) -> str:
    user = await server.store.get_user(address)
    return next(f.id for f in await server.store.list_folders(user.id)
                if f.type == FolderType.INBOX)


async def until(condition, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the condition never came true"
        await asyncio.sleep(0.02)


def last_entry(server, command: str):
    book = server.app[OBSERVE].traces
    return [e for pk in list(book._rings) for e in book.entries(pk) if e.command == command][-1]


async def test_a_held_ping_ends_when_its_client_hangs_up(live_server, caplog):
    inbox = await inbox_of(live_server, ALICE)
    await live_server.provision()
    hub = live_server.services.pushhub
    held = asyncio.create_task(live_server.eas("Ping", ping(900, inbox), timeout=60))
    await until(lambda: hub.waiting_count() == 1)
    held.cancel()  # the client gives up on the request: its connection is closed
    with contextlib.suppress(asyncio.CancelledError):
        await held
    await until(lambda: hub.waiting_count() == 0, timeout=3)  # not after 900 s
    await until(lambda: last_entry(live_server, "Ping") is not None)
    entry = last_entry(live_server, "Ping")
    assert entry.response_status == 499
    assert entry.notes["error"] == "the client closed the connection"
    assert not [r for r in caplog.records if "unexpected" in r.getMessage()]


async def test_a_body_cut_off_by_a_hang_up_is_not_an_unexpected_failure(live_server, caplog):
    key = await live_server.provision()
    reader, writer = await asyncio.open_connection("127.0.0.1", live_server.http_port)
    writer.write(("POST /Microsoft-Server-ActiveSync?Cmd=Sync&User=alice@contoso.com"
                  "&DeviceId=HANGUP1&DeviceType=iPhone HTTP/1.1\r\n"
                  "Host: 127.0.0.1\r\n"
                  f"Authorization: {basic_auth(ALICE)}\r\n"
                  "MS-ASProtocolVersion: 14.1\r\n"
                  f"X-MS-PolicyKey: {key}\r\n"
                  "Content-Type: application/vnd.ms-sync.wbxml\r\n"
                  "Content-Length: 1000\r\n\r\n").encode() + b"\x03\x01\x6a\x00")
    await writer.drain()
    await asyncio.sleep(0.3)  # the handler is reading the body
    writer.close()
    await writer.wait_closed()
    # the device is not known before its body is read: the request log tells of it
    await until(lambda: any("status=499" in r.getMessage() for r in caplog.records))
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, [r.getMessage() for r in errors]


@pytest.fixture
async def one_connection_server(demo_database_template, tmp_path, monkeypatch):
    """A gateway whose database pool has one connection and waits 0.3 s for it."""
    monkeypatch.setattr(store.engine, "_SQLITE_POOL", {"pool_size": 1, "max_overflow": 0})
    monkeypatch.setattr(store.engine, "POOL_TIMEOUT_S", 0.3)
    server_dir = tmp_path / "busy"
    shutil.copytree(demo_database_template, server_dir)
    config = Config(db_url=f"sqlite+aiosqlite:///{server_dir / DB_NAME}",
                    http=Address("127.0.0.1", 0), https=None, var_dir=server_dir / "var",
                    admin_token=ADMIN_TOKEN, clock_mode="manual", load_demo=True)
    async with running(config) as server:
        yield server
        await server.close()


async def test_no_database_connection_free_is_503_with_retry_after(one_connection_server,
                                                                  caplog):
    server = one_connection_server
    await server.provision()
    # A Provision writes the device through the pool (the reads of a Sync or a FolderSync on
    # SQLite run on a connection of their own, store/sqlite_direct.py).
    provision = provision_request()
    taken = await server.store.engine.connect()  # the pool's only connection
    try:
        answer = await server.eas("Provision", provision, provision=False)
    finally:
        await taken.close()
    assert answer.status == 503
    assert answer.headers["Retry-After"] == "5"
    assert not [r for r in caplog.records if "unexpected" in r.getMessage()]
    again = await server.eas("Provision", provision, provision=False)
    assert again.status == 200 and again.eas_status == 1
    metrics = server.app[OBSERVE].metrics
    assert metrics.busy._value.get() == 1
