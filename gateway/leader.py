"""One access scheduler at a time across gateway processes, and one transition at a time
per device (issue 9).

Every process on a shared PostgreSQL database opens one coordination connection. On it,
a PostgreSQL advisory lock names the scheduler's leader: the process that holds the lock
runs the access scheduler (rollout notices, quarantine ends); the others try to take it
every `RETRY_S`. A session's advisory locks go with its connection, so when the leader
dies — even by SIGKILL — the server releases its lock as soon as the socket closes, and
another process takes over within about `RETRY_S`. A leader that loses its connection
stops its scheduler before it reconnects.

Leadership alone does not make a deadline fire once: a device's own request, a clock moved
forward through any process and an admin's change also settle devices. So each device's
transition runs under a per-device advisory lock (`Leader.device`), and the access service
re-reads the device once it holds it: whoever comes second finds the work done. The locks
are taken with ``pg_try_advisory_lock`` and a short poll, so a waiter never blocks the
shared connection; an asyncio lock per device keeps two requests of this process apart
(advisory locks are re-entrant within one session).

Lock keys are hashed from the schema and a name, so deployments (and test runs) sharing one
database do not elect a common leader.
"""
from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import time
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any

import asyncpg

from gateway.tasks import cancel_and_wait
from store.api import StoreError

if TYPE_CHECKING:
    from gateway.crossprocess import Database

log = logging.getLogger("easgate.leader")

RETRY_S = 1.0  # a follower tries to take the scheduler lock this often
CHECK_S = 2.0  # the leader checks that its connection (and so its lock) is alive
RECONNECT_S = 1.0
DEVICE_POLL_S = 0.01  # a device lock held elsewhere is tried again after this long
DEVICE_WAIT_S = 30.0  # longer than any transition takes: past it something is stuck

_TRY_LOCK = "SELECT pg_try_advisory_lock(hashtextextended($1, 0))"
_UNLOCK = "SELECT pg_advisory_unlock(hashtextextended($1, 0))"
_CONNECTION_ERRORS = (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError)

Callback = Callable[[], Awaitable[None] | None]


class Leader:
    def __init__(self, database: Database, *, on_gain: Callback, on_loss: Callback) -> None:
        self.database = database
        self._on_gain = on_gain
        self._on_loss = on_loss
        self._scheduler_key = database.lock_name("scheduler")
        self._connection: asyncpg.Connection | None = None
        self._use = asyncio.Lock()  # one statement at a time on the shared connection
        self._ready = asyncio.Event()
        self._leading = False
        self._task: asyncio.Task[None] | None = None
        self._device_locks: weakref.WeakValueDictionary[int, asyncio.Lock] = (
            weakref.WeakValueDictionary())

    @property
    def leading(self) -> bool:
        return self._leading

    async def start(self) -> None:
        """Try once now (a lone process leads before it serves), then keep trying."""
        with contextlib.suppress(*_CONNECTION_ERRORS):
            await self._round()
        self._task = asyncio.get_running_loop().create_task(self._run(), name="leader")

    async def stop(self) -> None:
        task, self._task = self._task, None
        await cancel_and_wait(task)
        await self._lose()
        await self._disconnect()

    # --- the scheduler lock -----------------------------------------------------------------
    async def _run(self) -> None:
        while True:
            await asyncio.sleep(CHECK_S if self._leading else RETRY_S)
            try:
                await self._round()
            except _CONNECTION_ERRORS as exc:
                log.warning("coordination connection lost (%s: %s)", type(exc).__name__, exc)
                await self._lose()
                await self._disconnect()
                await asyncio.sleep(RECONNECT_S)

    async def _round(self) -> None:
        """Connect when needed; a follower tries the lock, a leader checks it still has it."""
        if self._connection is None or self._connection.is_closed():
            await self._lose()  # a session's lock never outlives its connection
        connection = await self._connected()
        async with self._use:
            if self._leading:
                await connection.execute("SELECT 1")
                return
            taken = await connection.fetchval(_TRY_LOCK, self._scheduler_key)
        if taken:
            self._leading = True
            log.info("this process now runs the access scheduler")
            await _call(self._on_gain)

    async def _lose(self) -> None:
        if self._leading:
            self._leading = False
            log.warning("this process no longer runs the access scheduler")
            await _call(self._on_loss)

    async def _connected(self) -> asyncpg.Connection:
        if self._connection is None or self._connection.is_closed():
            self._ready.clear()
            self._connection = await self.database.connect("coordination")
            self._ready.set()
        return self._connection

    async def _disconnect(self) -> None:
        connection, self._connection = self._connection, None
        self._ready.clear()
        if connection is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(connection.close(), 2.0)
            if not connection.is_closed():
                connection.terminate()

    # --- per-device locks -----------------------------------------------------------------
    @contextlib.asynccontextmanager
    async def device(self, device_pk: int) -> AsyncIterator[None]:
        """Hold device ``device_pk``'s lock across all processes for the block."""
        local = self._device_locks.get(device_pk)
        if local is None:
            local = self._device_locks[device_pk] = asyncio.Lock()
        async with local:
            name = self.database.lock_name(f"device:{device_pk}")
            connection = await self._take(name, device_pk)
            try:
                yield
            finally:
                await self._give_back(connection, name)

    async def _take(self, name: str, device_pk: int) -> asyncpg.Connection:
        deadline = time.monotonic() + DEVICE_WAIT_S
        while True:
            with contextlib.suppress(*_CONNECTION_ERRORS):
                connection = await self._usable(deadline)
                async with self._use:
                    if await connection.fetchval(_TRY_LOCK, name):
                        return connection
            if time.monotonic() > deadline:
                raise StoreError(f"device {device_pk} stayed locked by another process "
                                 f"for {DEVICE_WAIT_S:.0f} s")
            await asyncio.sleep(DEVICE_POLL_S)

    async def _usable(self, deadline: float) -> asyncpg.Connection:
        """The coordination connection, waiting for a reconnect until ``deadline``."""
        while self._connection is None or self._connection.is_closed():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise StoreError("no coordination connection to the database")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._ready.wait(), min(remaining, RECONNECT_S))
        return self._connection

    async def _give_back(self, connection: asyncpg.Connection, name: str) -> None:
        if connection is not self._connection or connection.is_closed():
            return  # the connection went, and the lock with it
        try:
            async with self._use:
                await connection.fetchval(_UNLOCK, name)
        except _CONNECTION_ERRORS as exc:
            # A lock left behind would stay for the session's life: end the session.
            log.warning("device lock %s not released (%s); resetting the connection", name, exc)
            connection.terminate()


async def _call(callback: Callback) -> None:
    result: Any = callback()
    if inspect.isawaitable(result):
        await result
