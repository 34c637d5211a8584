"""An upstream that is down, silent or killed: the client gets HTTP 503 with Retry-After in
bounded time, ``/metrics`` counts it by reason, and the proxy stays up."""
from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from fake_upstream import never_answers
from server_fixtures import DB_NAME

from protocol.xml import E

FOLDER_SYNC = E("FolderHierarchy:FolderSync", E("FolderHierarchy:SyncKey", "0"))
PING_INBOX = E("Ping:Ping", E("Ping:HeartbeatInterval", "120"), E("Ping:Folders", E(
    "Ping:Folder", E("Ping:Id", "2"), E("Ping:Class", "Email"))))
READY_TIMEOUT_S = 60.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
async def upstream_process(demo_database_template: Path, tmp_path: Path
                           ) -> AsyncIterator[tuple[subprocess.Popen, str]]:
    """A store-mode ``easgate serve`` of its own, over a copy of the demo database, so that
    it can be killed for real."""
    directory = tmp_path / "upstream"
    shutil.copytree(demo_database_template, directory)
    port = _free_port()
    log = (directory / "serve.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "gateway.cli", "serve", "--db",
         f"sqlite+aiosqlite:///{directory / DB_NAME}", "--http", f"127.0.0.1:{port}",
         "--https", "off", "--admin-token", "upstream-token", "--clock", "manual"],
        cwd=directory, stdout=log, stderr=subprocess.STDOUT,
        env={**os.environ, "EASGATE_LOG_LEVEL": "WARNING"})
    log.close()
    url = f"http://127.0.0.1:{port}"
    try:
        await _healthy(process, url, directory / "serve.log")
        yield process, f"{url}/Microsoft-Server-ActiveSync"
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()


async def _healthy(process: subprocess.Popen, url: str, log: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            assert process.poll() is None, log.read_text(errors="replace")[-2000:]
            try:
                async with session.get(f"{url}/healthz",
                                       timeout=aiohttp.ClientTimeout(total=2)) as answer:
                    if answer.status == 200:
                        return
            except (aiohttp.ClientError, TimeoutError):
                pass
            await asyncio.sleep(0.05)
    raise AssertionError("the upstream did not start: " + log.read_text(errors="replace"))


async def test_upstream_killed_mid_ping(upstream_process: Any, start_proxy: Any) -> None:
    process, upstream_url = upstream_process
    async with start_proxy(upstream_url) as proxy:
        inbox = await proxy.eas("FolderSync", FOLDER_SYNC)  # provisioned through the proxy
        assert (inbox.status, inbox.eas_status) == (200, 1)
        ping = asyncio.create_task(proxy.eas("Ping", PING_INBOX, timeout=30))
        await _until(lambda: _metric(proxy, "easgate_upstream_held"), 1.0)
        assert not ping.done()

        process.send_signal(signal.SIGKILL)
        started = time.monotonic()
        answer = await asyncio.wait_for(ping, 10)
        assert answer.status == 503 and int(answer.headers["Retry-After"]) > 0
        assert time.monotonic() - started < 5

        again = await proxy.eas("FolderSync", FOLDER_SYNC, timeout=10)  # refused now
        assert again.status == 503 and "Retry-After" in again.headers
        session = await proxy.session()
        async with session.get(f"{proxy.http_url}/healthz") as health:
            assert health.status == 200  # the proxy stays up
        # The Ping's connection was cut ("disconnected"); the FolderSync after it is refused
        # ("connect") or, when the proxy's pool still held an idle connection to the dead
        # upstream that had not yet been seen closing, cut as well.
        disconnected = await _metric(
            proxy, 'easgate_upstream_unavailable_total{reason="disconnected"}') or 0.0
        refused = await _metric(
            proxy, 'easgate_upstream_unavailable_total{reason="connect"}') or 0.0
        assert disconnected >= 1.0 and disconnected + refused == 2.0
        assert await _metric(proxy, "easgate_upstream_held") == 0.0


async def test_nothing_listening_upstream(start_proxy: Any) -> None:
    async with start_proxy(f"http://127.0.0.1:{_free_port()}/Microsoft-Server-ActiveSync") \
            as proxy:
        answer = await proxy.eas("FolderSync", FOLDER_SYNC, provision=False, timeout=10)
        assert answer.status == 503 and answer.headers["Retry-After"] == "30"
        assert "upstream unavailable (connect)" in answer.headers["X-Easgate-Reason"]
        assert await proxy.store.list_users() == []  # nobody confirmed: nothing recorded


async def test_silent_upstream_answers_503_after_its_timeout(fake_upstream: Any,
                                                             start_proxy: Any) -> None:
    async with start_proxy(fake_upstream.url, upstream_timeout_s=0.5) as proxy:
        assert (await proxy.eas("FolderSync", FOLDER_SYNC, provision=False)).status == 200
        fake_upstream.answer = never_answers
        started = time.monotonic()
        answer = await proxy.eas("FolderSync", FOLDER_SYNC, provision=False, timeout=10)
        assert answer.status == 503 and "timeout" in answer.headers["X-Easgate-Reason"]
        assert 0.4 < time.monotonic() - started < 3
        # A Ping may be held as long as its heartbeat says, and not much longer.
        short_ping = E("Ping:Ping", E("Ping:HeartbeatInterval", "1"), E("Ping:Folders", E(
            "Ping:Folder", E("Ping:Id", "2"), E("Ping:Class", "Email"))))
        started = time.monotonic()
        answer = await proxy.eas("Ping", short_ping, provision=False, timeout=10)
        assert answer.status == 503 and 1.4 < time.monotonic() - started < 4
        assert await _metric(proxy, 'easgate_upstream_unavailable_total{reason="timeout"}') \
            == 2.0


async def _metric(server: Any, name: str) -> float | None:
    session = await server.session()
    async with session.get(f"{server.http_url}/metrics") as answer:
        for line in (await answer.text()).splitlines():
            if line.startswith(name + " "):
                return float(line.rsplit(" ", 1)[1])
    return None


async def _until(read: Any, value: float, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while await read() != value:
        assert time.monotonic() < deadline, "never reached"
        await asyncio.sleep(0.05)
