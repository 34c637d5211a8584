"""The collector policy (gateway/gcpolicy.py): long-lived objects out of the collector's
sight while an app runs, everything back in sight once the last app stops."""
from __future__ import annotations

import contextlib
import gc
import weakref
from collections.abc import AsyncIterator

from aiohttp import web

from gateway import gcpolicy


class Node:
    def __init__(self) -> None:
        self.me = self  # a cycle: only the collector frees it


@contextlib.asynccontextmanager
async def running_app() -> AsyncIterator[None]:
    """The policy in force for one app's life."""
    app = gcpolicy.managed(web.Application())
    await anext(app)
    try:
        yield
    finally:
        await app.aclose()


async def test_the_policy_freezes_while_apps_run_and_unfreezes_after_the_last():
    first, second = gcpolicy.managed(web.Application()), gcpolicy.managed(web.Application())
    await anext(first)
    assert gc.get_freeze_count() > 0
    await anext(second)
    await first.aclose()
    assert gc.get_freeze_count() > 0  # the second app still runs
    await second.aclose()
    assert gc.get_freeze_count() == 0


async def test_a_frozen_cycle_is_reclaimed_by_the_full_collection_only():
    async with running_app():
        node = Node()
        gcpolicy.settle()  # it survived: frozen
        alive = weakref.ref(node)
        del node
        gc.collect()
        assert alive() is not None  # hidden from the ordinary collections
        gcpolicy.collect_everything()
        assert alive() is None


async def test_a_young_cycle_is_reclaimed_as_usual():
    async with running_app():
        node = Node()
        alive = weakref.ref(node)
        del node
        gc.collect()
        assert alive() is None


async def test_the_survivors_of_a_full_collection_are_frozen_as_it_ends():
    async with running_app():
        node = Node()
        assert any(o is node for o in gc.get_objects())
        gc.collect()  # a full collection of the unfrozen objects: the node survives it
        assert not any(o is node for o in gc.get_objects())  # out of the collector's sight
    assert any(o is node for o in gc.get_objects())  # back once the last app stopped


def test_settling_gives_the_free_heap_back(monkeypatch):
    calls = []
    monkeypatch.setattr(gcpolicy, "_MALLOC_TRIM", calls.append)
    gcpolicy.settle()
    assert calls == [0]
