"""``easgate serve --upstream …`` as a real process: it says where the mailboxes are, passes
an allowed device's request to the upstream, and refuses unusable options with one line
before opening any port."""
from __future__ import annotations

import asyncio
import signal
import socket
import sys
from pathlib import Path
from typing import Any

import aiohttp
from server_fixtures import basic_auth

from protocol import wbxml
from protocol.xml import E

EASGATE = [sys.executable, "-c", "from gateway.cli import main; main()"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def _run(tmp_path: Path, *options: str) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        *EASGATE, "serve", "--db", f"sqlite+aiosqlite:///{tmp_path / 'proxy.db'}", *options,
        cwd=tmp_path, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    _, error = await asyncio.wait_for(process.communicate(), 60)
    return process.returncode or 0, error.decode()


async def test_serve_in_front_of_an_upstream(fake_upstream: Any, tmp_path: Path) -> None:
    port = _free_port()
    process = await asyncio.create_subprocess_exec(
        *EASGATE, "serve", "--db", f"sqlite+aiosqlite:///{tmp_path / 'proxy.db'}",
        "--http", f"127.0.0.1:{port}", "--https", "off", "--admin-token", "t",
        "--upstream", fake_upstream.url, cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        announced = await asyncio.wait_for(_announcement(process), 60)
        assert f"mailboxes upstream: {fake_upstream.url}" in announced
        document = E("FolderHierarchy:FolderSync", E("FolderHierarchy:SyncKey", "0"))
        async with aiohttp.ClientSession() as session, session.post(
                f"http://127.0.0.1:{port}/Microsoft-Server-ActiveSync",
                params={"Cmd": "FolderSync", "User": "alice@contoso.com",
                        "DeviceId": "CLIPROXY01", "DeviceType": "Outlook"},
                data=wbxml.encode(document),
                headers={"Authorization": basic_auth("alice@contoso.com"),
                         "MS-ASProtocolVersion": "16.1", "User-Agent": "Outlook-iOS/2.0",
                         "Content-Type": "application/vnd.ms-sync.wbxml"}) as answer:
            assert answer.status == 200 and answer.headers["X-Upstream-Only"] == "kept"
        assert len(fake_upstream.posts) == 1
    finally:
        process.send_signal(signal.SIGINT)
        try:
            await asyncio.wait_for(process.wait(), 20)
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()


async def _announcement(process: asyncio.subprocess.Process) -> str:
    assert process.stdout is not None
    lines = []
    while line := (await process.stdout.readline()).decode():
        lines.append(line)
        if "mailboxes upstream" in line:
            return "".join(lines)
    raise AssertionError("no announcement: " + "".join(lines))


async def test_unusable_upstream_options_are_one_line(tmp_path: Path) -> None:
    for options, message in (
        (["--upstream", "ftp://mail.example.com"], "an http:// or https:// URL"),
        (["--upstream", "https://x", "--upstream-insecure", "--upstream-ca", "ca.pem"],
         "exclude each other"),
        (["--upstream-insecure"], "need an upstream URL"),
        (["--upstream", "https://x", "--upstream-ca", "missing.pem"], "cannot load"),
    ):
        code, error = await _run(tmp_path, "--https", "off", "--http",
                                 f"127.0.0.1:{_free_port()}", *options)
        assert code == 1 and error.count("\n") == 1 and message in error, (options, error)
