"""Two FolderSyncs of one device at once (a retried request on another process): the
hierarchy state is written only over the state a request started from, so one answers
Status 1 and the other Status 6, and the resend of the loser is a replay of the winner's
answer — on SQLite and PostgreSQL."""
from __future__ import annotations

import asyncio

import pytest
from synchelp import Harness

from gateway.sync.hierarchy import HIERARCHY
from protocol.xml import E, child, children, text
from store.types import FolderType

pytestmark = pytest.mark.timeout(60)


class BothRead:
    """The store, except that a read of the hierarchy state waits until two requests have
    read it: both start from the same state, whatever the interleaving would have been."""

    def __init__(self, store):
        self._store = store
        self._barrier = asyncio.Barrier(2)

    def __getattr__(self, name):
        return getattr(self._store, name)

    async def get_sync_state(self, device_pk, collection_id):
        state = await self._store.get_sync_state(device_pk, collection_id)
        if collection_id == HIERARCHY:
            await asyncio.wait_for(self._barrier.wait(), 10)
        return state


def folder_sync(key):
    return E("FolderHierarchy:FolderSync", E("FolderHierarchy:SyncKey", key))


def added(root):
    changes = child(root, "FolderHierarchy:Changes")
    return sorted(text(e, "FolderHierarchy:ServerId")
                  for e in children(changes, "FolderHierarchy:Add"))


async def test_of_two_overlapping_foldersyncs_one_answers_6_and_its_resend_replays(store):
    env = await Harness.create(store)
    alice = await env.client()
    key = text(await alice.run("FolderSync", folder_sync("0")), "FolderHierarchy:SyncKey")
    created = await store.create_folder(alice.user.id, "0", "Projects", FolderType.USER_MAIL)

    env.services.store = BothRead(store)
    answers = await asyncio.gather(alice.run("FolderSync", folder_sync(key)),
                                   alice.run("FolderSync", folder_sync(key)))
    env.services.store = store
    statuses = sorted(text(a, "FolderHierarchy:Status") for a in answers)
    assert statuses == ["1", "6"]
    winner = next(a for a in answers if text(a, "FolderHierarchy:Status") == "1")
    new_key = text(winner, "FolderHierarchy:SyncKey")
    assert added(winner) == [created.id]

    # The client of the loser tries again with its key: the winner's answer, same key.
    resent = await alice.run("FolderSync", folder_sync(key))
    assert text(resent, "FolderHierarchy:Status") == "1"
    assert text(resent, "FolderHierarchy:SyncKey") == new_key
    assert added(resent) == [created.id]
    state = await store.get_sync_state(alice.device.id, HIERARCHY)
    assert created.id in state.data["folders"]


async def test_a_folder_command_overlapping_a_foldersync_answers_6(store):
    env = await Harness.create(store)
    alice = await env.client()
    key = text(await alice.run("FolderSync", folder_sync("0")), "FolderHierarchy:SyncKey")
    await store.create_folder(alice.user.id, "0", "Elsewhere", FolderType.USER_MAIL)
    create = E("FolderHierarchy:FolderCreate", E("FolderHierarchy:SyncKey", key),
               E("FolderHierarchy:ParentId", "0"), E("FolderHierarchy:DisplayName", "Mine"),
               E("FolderHierarchy:Type", int(FolderType.USER_MAIL)))
    env.services.store = BothRead(store)
    answers = await asyncio.gather(alice.run("FolderSync", folder_sync(key)),
                                   alice.run("FolderCreate", create))
    env.services.store = store
    statuses = sorted(text(a, "FolderHierarchy:Status") for a in answers)
    assert statuses == ["1", "6"]
