"""Fifty devices syncing through three gateway processes, each request to a process picked at
random, while mail arrives through the processes' admin APIs: every device ends with every
item of its Inbox exactly once."""
from __future__ import annotations

import asyncio
import random

import pytest
from cluster import cluster, reader
from device import INBOX, Device

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(240)]

USERS = ("alice@contoso.com", "bob@contoso.com", "carol@contoso.com")
DEVICES = 50
MAILS_PER_USER = 12
ROUNDS = 4  # syncs to the end of the Inbox while mail is still coming


async def test_fifty_devices_through_three_processes_get_every_item_exactly_once(tmp_path):
    chance = random.Random(9)
    async with cluster(tmp_path, 3) as running:
        nodes = [node.client for node in running.nodes]
        devices = [Device(USERS[n % len(USERS)], f"MANYDEVICES{n:03d}") for n in range(DEVICES)]

        def pick(choices):  # type: ignore[no-untyped-def]
            return chance.choice(choices)

        async def one_device(device: Device) -> None:
            await device.folder_sync(pick(nodes))
            for _ in range(ROUNDS):
                await device.sync_until_done(nodes, pick)
                await asyncio.sleep(chance.uniform(0, 0.2))

        async def mail() -> None:
            for n in range(MAILS_PER_USER):
                for user in USERS:
                    status, body = await pick(nodes).admin(
                        "POST", f"/users/{user}/messages", {"subject": f"mail {n}", "body": "x"})
                    assert status == 201, body
                await asyncio.sleep(chance.uniform(0, 0.05))

        await asyncio.gather(mail(), *(one_device(d) for d in devices))
        await asyncio.gather(*(d.sync_until_done(nodes, pick) for d in devices))

        async with reader(running.db_url) as store:
            inboxes = {}
            for user in USERS:
                record = await store.get_user(user)
                inboxes[user] = sorted(i.server_id for i in await store.list_items(record.id, INBOX))
                assert len(inboxes[user]) >= MAILS_PER_USER
        for device in devices:
            twice = sorted({s for s in device.seen if device.seen.count(s) > 1})
            missing = sorted(set(inboxes[device.user]) - set(device.seen))
            assert (twice, missing) == ([], []), (device.device_id, device.seen)
            assert sorted(device.seen) == inboxes[device.user], device.device_id
