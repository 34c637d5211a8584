"""The benchmarks' lean load client (benchmarks/wire.py) against a real aiohttp server: it
must count answers and their statuses truly, or every ratio built on it is wrong."""
from __future__ import annotations

import asyncio
import os

import pytest
from aiohttp import web

from benchmarks import wire
from benchmarks.procstat import cpu_by_pid, process_tree


async def _serve(handler) -> tuple[web.AppRunner, str]:  # type: ignore[no-untyped-def]
    app = web.Application()
    app.router.add_post("/Microsoft-Server-ActiveSync", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    return runner, f"http://127.0.0.1:{port}"


async def test_drive_counts_answers_and_refusals() -> None:
    seen: list[bytes] = []

    async def handler(request: web.Request) -> web.Response:
        seen.append(await request.read())
        status = 200 if request.query["DeviceId"] == "OK" else 403
        return web.Response(status=status, body=b"\x03\x01\x6a\x00")

    runner, base = await _serve(handler)
    try:
        requests = [wire.Request.post(base, "/Microsoft-Server-ActiveSync",
                                      {"Cmd": "Sync", "DeviceId": device}, {"X-Test": "1"},
                                      b"body-" + device.encode())
                    for device in ("OK", "NO")]
        figures = await wire.drive(base, requests, seconds=0.3, warm_up=0.1)
    finally:
        await runner.cleanup()
    assert figures["requests"] > 10
    assert figures["requests_with_warm_up"] >= figures["requests"]
    assert 0 < figures["errors"] < figures["requests"]  # the refused device, only it
    assert set(seen) == {b"body-OK", b"body-NO"}


async def test_a_chunked_answer_is_refused_not_misread() -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        response.enable_chunked_encoding()
        await response.prepare(request)
        await response.write(b"part")
        await response.write_eof()
        return response

    runner, base = await _serve(handler)
    try:
        request = wire.Request.post(base, "/Microsoft-Server-ActiveSync", {}, {}, b"x")
        with pytest.raises(wire.AnswerError):
            await asyncio.wait_for(wire.drive(base, [request], seconds=0.2, warm_up=0), 5)
    finally:
        await runner.cleanup()


def test_process_tree_and_cpu_accounts_see_this_process() -> None:
    assert os.getpid() in process_tree(os.getppid())
    assert cpu_by_pid([os.getpid()])[os.getpid()] > 0
