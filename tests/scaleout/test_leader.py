"""One access scheduler across processes: the process holding the scheduler lock dies by
SIGKILL while a device's notice is due, another takes over within seconds, and the notice
is delivered once."""
from __future__ import annotations

import asyncio
import os
import signal
import time
from datetime import UTC, datetime

import pytest
from cluster import Cluster, cluster, reader
from device import INBOX, Device

from gateway.access.rollout import rollout_offset_s

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(120)]

WINDOW_S = 10
OFFSET_S = 4  # the device's notice comes this long after the rollout starts
TAKEOVER_S = 5.0  # RETRY_S in gateway/leader.py is 1 s: this is generous


def device_id_with_offset(user: str, offset_s: int) -> str:
    """A DeviceId whose rollout notice falls ``offset_s`` seconds into the window."""
    for n in range(10_000):
        candidate = f"LEADERTEST{n:04d}"
        if rollout_offset_s("contoso.com", user, candidate, WINDOW_S) == offset_s:
            return candidate
    raise AssertionError("no DeviceId with that offset")


async def test_a_due_notice_fires_once_after_the_scheduler_process_is_killed(tmp_path):
    async with cluster(tmp_path, 2, clock_mode="real") as running:
        leader_pid = await wait_for_scheduler(running)
        leader = next(n for n in running.nodes if n.pid == leader_pid)
        follower = next(n for n in running.nodes if n.pid != leader_pid)
        device = Device("alice@contoso.com", device_id_with_offset("alice@contoso.com", OFFSET_S))
        await device.folder_sync(follower.client)  # known before the rollout: prompted later

        status, body = await follower.client.admin(
            "PUT", "/tenants/contoso.com/mobile-access",
            {"mode": "recommend-all", "rollout_window_s": WINDOW_S})
        assert status == 200, body
        os.kill(leader.pid, signal.SIGSTOP)  # the scheduler's process hangs...
        async with reader(running.db_url) as store:
            record = await store.get_device(await user_id(store), device.device_id)
            assert record is not None and record.state == "pending"
            await asyncio.sleep(max(_seconds_until(record.notice_at) + 0.5, 0))
            assert (await store.get_device_by_pk(record.id)).state == "pending"  # ...it is due

            os.kill(leader.pid, signal.SIGKILL)
            killed = time.monotonic()
            record = await wait_for_state(store, record.id, "quarantined")
            assert time.monotonic() - killed < TAKEOVER_S
            assert await running.scheduler_pid() == follower.pid

            await device.sync_until_done([follower.client], lambda nodes: nodes[0])
            events = [e.kind for e in await store.list_events(record.id)]
            assert events.count("notice-delivered") == 1, events
            notice = await store.get_item(record.user_id, record.notice_server_id)
            subjects = [i.data.get("Subject") for i in await store.list_items(record.user_id, INBOX)]
            assert notice.data["Subject"] and subjects.count(notice.data["Subject"]) == 1
            assert device.seen.count(record.notice_server_id) == 1
            for other in await store.list_devices():
                kinds = [e.kind for e in await store.list_events(other.id)]
                assert kinds.count("notice-delivered") <= 1, (other.device_id, kinds)


async def wait_for_scheduler(running: Cluster) -> int:
    deadline = time.monotonic() + 10
    while (pid := await running.scheduler_pid()) is None:
        assert time.monotonic() < deadline, "no process took the scheduler lock"
        await asyncio.sleep(0.1)
    return pid


async def user_id(store) -> int:  # type: ignore[no-untyped-def]
    return (await store.get_user("alice@contoso.com")).id


async def wait_for_state(store, pk: int, state: str):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + TAKEOVER_S + 5
    while (record := await store.get_device_by_pk(pk)).state != state:
        assert time.monotonic() < deadline, f"device {pk} stayed {record.state}"
        await asyncio.sleep(0.05)
    return record


def _seconds_until(when: datetime) -> float:
    return (when - datetime.now(UTC)).total_seconds()
