"""Push across processes: a Ping held by one gateway process answers when a mail arrives
through another (LISTEN/NOTIFY), and the clock moved through one is seen by the other."""
from __future__ import annotations

import asyncio
import time
from datetime import datetime

import pytest
from cluster import cluster
from device import INBOX, Device

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(120)]


async def test_a_ping_held_on_one_process_answers_a_mail_delivered_through_another(tmp_path):
    async with cluster(tmp_path, 2) as running:
        first, second = (node.client for node in running.nodes)
        device = Device("alice@contoso.com", "PUSHDEVICE01")
        await device.folder_sync(first)
        await device.sync_until_done([first], lambda nodes: nodes[0])

        ping = asyncio.create_task(device.ping(first, heartbeat_s=120))
        await asyncio.sleep(1.0)  # the Ping is held by the first process
        assert not ping.done()
        status, payload = await second.admin("POST", "/users/alice@contoso.com/messages",
                                             {"subject": "across processes", "body": "hi"})
        delivered = time.monotonic()
        assert status == 201, payload
        ping_status, folders = await asyncio.wait_for(ping, 5)
        latency = time.monotonic() - delivered

        assert (ping_status, folders) == (2, [INBOX])
        assert latency < 1.0, f"the Ping answered {latency:.3f} s after the delivery"
        answer = await device.sync(second)
        assert answer.adds == [payload["server_id"]]


async def test_a_new_ping_on_another_process_ends_the_one_held_by_the_first(tmp_path):
    async with cluster(tmp_path, 2) as running:
        first, second = (node.client for node in running.nodes)
        device = Device("alice@contoso.com", "PUSHDEVICE02")
        await device.folder_sync(first)
        await device.sync_until_done([first], lambda nodes: nodes[0])

        earlier = asyncio.create_task(device.ping(first, heartbeat_s=120))
        await asyncio.sleep(1.0)
        assert not earlier.done()
        later = asyncio.create_task(device.ping(second, heartbeat_s=120))
        # MS-ASCMD: the earlier Ping of the device answers at once, with nothing changed.
        assert await asyncio.wait_for(earlier, 5) == (1, [])
        assert not later.done()
        later.cancel()


async def test_the_clock_moved_through_one_process_is_the_clock_of_the_others(tmp_path):
    async with cluster(tmp_path, 2) as running:
        first, second = (node.client for node in running.nodes)
        status, before = await first.admin("GET", "/clock")
        assert status == 200 and before["mode"] == "manual"
        status, moved = await second.admin("POST", "/clock/advance", {"seconds": 7200})
        assert status == 200, moved
        await asyncio.sleep(0.2)
        status, seen = await first.admin("GET", "/clock")
        assert seen["now"] == moved["now"]
        elapsed = _instant(seen["now"]) - _instant(before["now"])
        assert elapsed.total_seconds() == 7200


def _instant(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))
