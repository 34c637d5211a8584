"""The garbage collector, for a process that holds thousands of requests.

CPython runs a full collection whenever the objects that survived the young generations
since the last one reach a quarter of the old generation, and a full collection looks at
every object the process holds. A gateway holding 10,000 Pings holds a few million; each
push answers some Pings and starts new ones, whose objects survive into the old generation,
so the rule fires every few dozen pushes and stops the event loop for most of a second each
time (0.4–0.7 s measured at 2,000 held Pings) — every answer due then waits, and that pause
was most of the push latency's tail.

So the objects that have lived a while are moved out of the collector's sight
(`gc.freeze`): those of start-up at once, then the survivors of every full collection of
the rest, as it ends. A full collection then only ever looks at what arrived since the last
one and stays short, whatever the process holds. An object frozen while alive is still freed
the moment nothing refers to it; what freezing hides is a *cycle* that becomes garbage after
it was frozen. Those are rare (a request's own cycles die young) and are reclaimed by a
collection of everything every `FULL_EVERY_S`, the one long pause left, on a schedule
rather than under load.

Freed memory goes back to the C library's heap, which keeps the pages of chunks freed
among live ones: the set-up traffic of thousands of devices leaves tens of MB of them in the
process's resident size (82 MB of 260 at 2,000 held Pings). Every `TRIM_EVERY_S` in which
the collector ran (the process allocated: an idle one is left alone), those pages are given
back to the system (glibc's ``malloc_trim``: about 12 ms to give back those 82 MB).

The policy is per process and counted: the first application started applies it, the last
one stopped undoes it (tests run several apps in one process).
"""
from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import gc
import logging
import time
from collections.abc import AsyncIterator, Callable

from aiohttp import web

from gateway.tasks import cancel_and_wait

log = logging.getLogger("easgate.gc")

FULL_EVERY_S = 3600.0
TRIM_EVERY_S = 30.0


class _Policy:
    def __init__(self) -> None:
        self.users = 0
        self.task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.users += 1
        if self.users == 1:
            settle()
            gc.callbacks.append(_freeze_survivors)
            self.task = asyncio.get_running_loop().create_task(_schedule())

    async def stop(self) -> None:
        self.users -= 1
        if self.users == 0 and self.task is not None:
            task, self.task = self.task, None
            await cancel_and_wait(task)
            gc.callbacks.remove(_freeze_survivors)
            gc.unfreeze()  # back in the collector's sight: nothing is hidden once we stop


_POLICY = _Policy()


async def managed(app: web.Application) -> AsyncIterator[None]:
    """An aiohttp ``cleanup_ctx`` entry: the policy for as long as the app runs."""
    _POLICY.start()
    try:
        yield
    finally:
        await _POLICY.stop()


def settle() -> None:
    """Collect what is not frozen, then freeze the survivors."""
    gc.collect()
    gc.freeze()
    give_back_free_memory()


def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's ``malloc_trim``; None with another C library."""
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return None


_MALLOC_TRIM = _malloc_trim()


def give_back_free_memory() -> None:
    """The free pages of the C heap back to the system (nothing to do on other C libraries)."""
    if _MALLOC_TRIM is not None:
        _MALLOC_TRIM(0)


def collect_everything() -> float:
    """A full collection of every object, frozen ones included; the seconds it took."""
    started = time.perf_counter()
    gc.unfreeze()
    settle()
    return time.perf_counter() - started


def _freeze_survivors(phase: str, info: dict[str, int]) -> None:
    """A gc callback: what survived a full collection of the unfrozen objects is long-lived."""
    if phase == "stop" and info["generation"] == 2:
        gc.freeze()


async def _schedule() -> None:
    """The free heap given back every `TRIM_EVERY_S` when the process allocated since,
    everything collected every `FULL_EVERY_S`."""
    since_full, collections = 0.0, _collections()
    while True:
        await asyncio.sleep(TRIM_EVERY_S)
        since_full += TRIM_EVERY_S
        if since_full >= FULL_EVERY_S:
            since_full = 0.0
            took = collect_everything()  # gives back the free heap too (settle)
            log.info("full garbage collection: %.0f ms, %d objects kept",
                     took * 1000, gc.get_freeze_count())
        elif _collections() != collections:
            give_back_free_memory()
        collections = _collections()


def _collections() -> int:
    """How many collections the collector has run: it runs only when objects are made."""
    return sum(generation["collections"] for generation in gc.get_stats())
