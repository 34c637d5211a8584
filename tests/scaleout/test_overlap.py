"""Overlapping requests of one device never corrupt its sync state: the store writes a
state only over the one its writer read, and of two Syncs with the same key on two gateway
processes the slower answers Status 16 (Retry), after which the resend is a replay."""
from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest
from cluster import cluster
from device import INBOX, Device

from store.api import Conflict
from store.types import Device as DeviceRecord
from store.types import SyncState

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(180)]


async def test_only_one_of_two_writers_from_the_same_state_wins(store):
    user = await _user(store)
    device = await store.create_device(DeviceRecord(
        id=0, user_id=user.id, user_address=user.address, device_id="RACE1", device_type="x"))
    first = SyncState(device_pk=device.id, collection_id=INBOX, sync_key=1, position=0,
                      data={"chain": "a" * 32})
    results = await asyncio.gather(
        store.replace_sync_state(first, None),
        store.replace_sync_state(replace(first, data={"chain": "b" * 32}), None),
        return_exceptions=True)
    assert sorted(type(r).__name__ for r in results) == ["Conflict", "NoneType"]
    stored = await store.get_sync_state(device.id, INBOX)

    successors = [replace(stored, sync_key=2, position=p, prev_sync_key=1) for p in (5, 6)]
    results = await asyncio.gather(*(store.replace_sync_state(s, stored) for s in successors),
                                   return_exceptions=True)
    assert sum(isinstance(r, Conflict) for r in results) == 1
    assert (await store.get_sync_state(device.id, INBOX)).position in (5, 6)
    with pytest.raises(Conflict):
        await store.replace_sync_state(successors[0], stored)  # stale: a key step was missed


async def test_the_same_sync_sent_to_two_processes_at_once_loses_nothing(tmp_path):
    async with cluster(tmp_path, 2) as running:
        first, second = (node.client for node in running.nodes)
        device = Device("bob@contoso.com", "OVERLAP0001")
        await device.folder_sync(first)
        await device.sync_until_done([first], lambda nodes: nodes[0])
        statuses = []
        for round_ in range(8):
            for n in range(3):
                status, body = await first.admin("POST", "/users/bob@contoso.com/messages",
                                                 {"subject": f"round {round_} mail {n}"})
                assert status == 201, body
            key = device.keys[INBOX]
            twin = Device(device.user, device.device_id, keys=dict(device.keys))
            # The client gave up on the first request and resent it; it reads the second.
            _, answer = await asyncio.gather(twin.sync(first), device.sync(second))
            statuses.append(answer.status)
            if answer.status == 16:
                assert device.keys[INBOX] == key
            else:
                assert answer.status == 1, answer
        await device.sync_until_done([first, second], lambda nodes: nodes[len(device.seen) % 2])

        record = await running_user_items(running, "bob@contoso.com")
        assert sorted(device.seen) == sorted(record)
        assert len(device.seen) == len(set(device.seen))
        assert set(statuses) <= {1, 16}


async def running_user_items(running, address: str) -> list[str]:  # type: ignore[no-untyped-def]
    from cluster import reader

    async with reader(running.db_url) as store:
        user = await store.get_user(address)
        return [item.server_id for item in await store.list_items(user.id, INBOX)]


async def _user(store):  # type: ignore[no-untyped-def]
    from store.types import Tenant

    await store.put_tenant(Tenant(domain="contoso.com"))
    return await store.create_user("race@contoso.com", "pw", "Race")
