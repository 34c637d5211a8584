"""Fault rules are one set for every process: a rule added through one fires on a request
served by another as soon as the news crosses (LISTEN/NOTIFY), not at the next periodic
re-read, and a rule removed through the other stops firing on the first."""
from __future__ import annotations

import asyncio
import time

import pytest
from cluster import cluster

from protocol.xml import E

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(120)]
FOLDER_SYNC = E("FolderHierarchy:FolderSync", E("FolderHierarchy:SyncKey", "0"))


async def folder_sync_status(node) -> int:  # type: ignore[no-untyped-def]
    answer = await node.eas("FolderSync", FOLDER_SYNC, device_id="FAULTSHARED1")
    return answer.status


async def until(condition, seconds: float) -> float:  # type: ignore[no-untyped-def]
    """Seconds it took ``condition`` (an async callable) to hold; fails past ``seconds``."""
    started = time.monotonic()
    while not await condition():
        assert time.monotonic() - started < seconds, "never held"
        await asyncio.sleep(0.02)
    return time.monotonic() - started


async def test_a_rule_added_through_one_process_fires_on_another_within_a_second(tmp_path):
    async with cluster(tmp_path, 2) as running:
        first, second = (node.client for node in running.nodes)
        assert await folder_sync_status(second) == 200  # the second has read its rules
        status, rule = await first.admin("POST", "/faults", {
            "command": "FolderSync", "device_id": "FAULTSHARED1", "action": "http",
            "status": 503})
        assert status == 201, rule
        assert await until(lambda: _is(second, 503), 5) < 1.0
        status, _ = await second.admin("DELETE", f"/faults/{rule['id']}")
        assert status == 200
        assert await until(lambda: _is(first, 200), 5) < 1.0


async def _is(node, wanted: int) -> bool:  # type: ignore[no-untyped-def]
    return await folder_sync_status(node) == wanted
