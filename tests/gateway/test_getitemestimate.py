"""GetItemEstimate: counts what the next Sync would send, with statuses for bad input."""
from __future__ import annotations

import pytest
from synchelp import Harness

from protocol.xml import E, text
from store.types import FolderType


@pytest.fixture
async def env(sqlite_store):
    return await Harness.create(sqlite_store)


def estimate_request(*collections, options=None):
    elements = []
    for key, collection_id in collections:
        element = E("GetItemEstimate:Collection", E("AirSync:SyncKey", key),
                    E("GetItemEstimate:CollectionId", collection_id))
        if options is not None:
            element.append(options)
        elements.append(element)
    return E("GetItemEstimate:GetItemEstimate", E("GetItemEstimate:Collections", *elements))


def results(root):
    return [(text(r, "GetItemEstimate:Status"),
             text(r.find("{GetItemEstimate:}Collection"), "GetItemEstimate:Estimate"))
            for r in root]


async def test_estimate_is_what_sync_would_send(env):
    alice = await env.client()
    inbox = await env.folder_id("alice@contoso.com", FolderType.INBOX)
    await alice.sync(inbox)
    total = len(await env.store.list_items(alice.user.id, inbox))
    root = await alice.run("GetItemEstimate", estimate_request((alice.keys[inbox], inbox)))
    assert results(root) == [("1", str(total))]
    await alice.sync_all(inbox)
    await env.deliver("alice@contoso.com", "new")
    root = await alice.run("GetItemEstimate", estimate_request((alice.keys[inbox], inbox)))
    assert results(root) == [("1", "1")]


async def test_estimate_follows_the_filter_type(env):
    alice = await env.client()
    inbox = await env.folder_id("alice@contoso.com", FolderType.INBOX)
    await alice.sync(inbox)
    three_days = E("AirSync:Options", E("AirSync:FilterType", "2"))
    root = await alice.run("GetItemEstimate", estimate_request((alice.keys[inbox], inbox),
                                                               options=three_days))
    items = await env.store.list_items(alice.user.id, inbox)
    recent = [i for i in items if i.data["DateReceived"] >= "2026-11-17T09:00"]
    assert results(root) == [("1", str(len(recent)))]


async def test_bad_collections_and_keys(env):
    alice = await env.client()
    inbox = await env.folder_id("alice@contoso.com", FolderType.INBOX)
    root = await alice.run("GetItemEstimate", estimate_request(
        ("0", inbox), ("{0123456789abcdef0123456789abcdef}1", inbox), ("0", "4242")))
    assert [status for status, _ in results(root)] == ["3", "4", "2"]


async def test_too_many_collections_are_refused_before_any_is_counted(env, monkeypatch):
    alice = await env.client()
    inbox = await env.folder_id("alice@contoso.com", FolderType.INBOX)
    await alice.sync(inbox)
    key = alice.keys[inbox]
    root = await alice.run("GetItemEstimate", estimate_request(*[(key, inbox)] * 300))
    assert [status for status, _ in results(root)] == ["1"] * 300

    async def never(*args, **kwargs):
        raise AssertionError("a collection was counted")

    monkeypatch.setattr(env.store, "count_changes_since", never)
    root = await alice.run("GetItemEstimate", estimate_request(*[(key, inbox)] * 301))
    assert text(root, "GetItemEstimate:Status") == "2"
    assert root.find("{GetItemEstimate:}Response") is None
