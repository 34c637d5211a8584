"""The test servers (``live_server``, ``limited_server``) run the application as ``easgate
serve`` does: with the runner options of gateway.limits, so a test meets the bounds a
deployment has (before, a client could take an hour to send its headers)."""
from __future__ import annotations

import asyncio
import shutil
import time

from server_fixtures import ADMIN_TOKEN, DB_NAME, running

from gateway.config import Address, Config
from gateway.limits import MAX_HEADERS

QUERY = "Cmd=FolderSync&User=alice&DeviceId=LIKESERVE01&DeviceType=iPhone"


async def test_live_server_refuses_more_header_fields_than_serve_allows(live_server):
    session = await live_server.session()
    padding = {f"X-Pad-{n}": "x" for n in range(MAX_HEADERS + 1)}
    async with session.post(f"{live_server.endpoint}?{QUERY}", headers=padding) as answer:
        assert answer.status == 400
    fewer = {f"X-Pad-{n}": "x" for n in range(MAX_HEADERS // 2)}
    async with session.post(f"{live_server.endpoint}?{QUERY}", headers=fewer) as answer:
        assert answer.status == 401  # read in full; refused only for want of credentials


async def test_running_closes_a_connection_whose_headers_do_not_come(demo_database_template,
                                                                     tmp_path):
    shutil.copytree(demo_database_template, tmp_path / "db")
    config = Config(db_url=f"sqlite+aiosqlite:///{tmp_path / 'db' / DB_NAME}",
                    http=Address("127.0.0.1", 0), https=None, var_dir=tmp_path / "var",
                    admin_token=ADMIN_TOKEN, clock_mode="manual", client_header_timeout_s=1.0)
    async with running(config) as server:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.http_port)
        try:
            writer.write(b"POST /Microsoft-Server-ActiveSync HTTP/1.1\r\nHost: x\r\n")
            started = time.monotonic()
            closed = await asyncio.wait_for(reader.read(), 10)  # b"" once the server closes
            assert closed == b""
            assert time.monotonic() - started < 5
        finally:
            writer.close()
