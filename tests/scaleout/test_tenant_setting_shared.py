"""Each process remembers its tenants; a change made through one is seen by the others."""
from __future__ import annotations

import asyncio
import time

import pytest
from cluster import cluster

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(120)]


async def test_a_setting_changed_through_one_process_is_seen_by_the_other_within_a_second(tmp_path):
    async with cluster(tmp_path, 2) as running:
        first, second = (node.client for node in running.nodes)
        path = "/tenants/contoso.com/mobile-access"
        status, before = await first.admin("GET", path)  # now remembered by the first
        assert status == 200, before
        wanted = "outlook-only" if before["mode"] != "outlook-only" else "off"
        status, changed = await second.admin("PUT", path, {"mode": wanted})
        assert status == 200 and changed["mode"] == wanted, changed

        deadline = time.monotonic() + 1.0
        while True:
            _, seen = await first.admin("GET", path)
            if seen["mode"] == wanted or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.02)
        assert seen["mode"] == wanted
