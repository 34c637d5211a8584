"""Push across gateway processes that share one PostgreSQL database (issue 9).

Each process keeps its own push hub: a held Ping waits on an asyncio event in the process
that holds its connection. What one process commits must still wake the Pings held by all
the others, so every process runs one `Bridge`: a single asyncpg connection that LISTENs on
the deployment's channel and also sends this process's news with NOTIFY.

- a committed change to a folder (the store's change listener): ``c``, user, position, folder;
- a user's access state changed (``PushHub.wake_user``): ``w``, user;
- the clock row changed (SPEC §6: one clock for all processes): ``k``;
- a tenant changed (each process remembers its tenants, store/sql.py): ``t``;
- the fault injection rules changed (each process keeps them indexed, gateway/faults): ``f``.

Payloads are a few bytes of text with the sender's origin tag, so a process skips its own
news (it already delivered it locally). Notifications are sent after the change committed,
so a receiver that reads the store on waking sees it. When the connection drops, the bridge
reconnects with backoff and then wakes every held request of this process and reloads the
clock, since news sent while it was away is lost.

The channel and the advisory lock keys (gateway/leader.py) are named after the database
schema, so that several deployments (or test runs) in one database never hear each other.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import asyncpg
from sqlalchemy import text

from gateway.pushhub import PushHub
from gateway.tasks import cancel_and_wait
from store.api import Store, StoreError

if TYPE_CHECKING:
    from gateway.access import AccessService
    from gateway.clock import Clock
    from gateway.faults.engine import FaultEngine
    from gateway.leader import Leader

log = logging.getLogger("easgate.crossprocess")

CONNECT_TIMEOUT_S = 5.0
RECONNECT_DELAYS_S = (0.1, 0.25, 0.5, 1.0, 2.0, 5.0)  # then 5 s between attempts
KEEPALIVE_S = 10.0  # a quiet connection is checked this often (a dead one is found)
MAX_BATCH = 500  # notifications sent in one round trip


# --- where to connect ----------------------------------------------------------------------
@dataclass(frozen=True)
class Database:
    """The PostgreSQL server and schema a store uses, for connections outside its pool."""

    dsn: str
    schema: str

    @property
    def channel(self) -> str:
        return f"easgate:{self.schema}"[:63]  # NOTIFY channel names are identifiers

    def lock_name(self, name: str) -> str:
        """The text an advisory lock key is hashed from (see gateway/leader.py)."""
        return f"easgate:{self.schema}:{name}"

    async def connect(self, role: str) -> asyncpg.Connection:
        return await asyncpg.connect(
            self.dsn, timeout=CONNECT_TIMEOUT_S,
            server_settings={"application_name": f"easgate {role} pid={os.getpid()}"})


async def database_of(store: Store) -> Database | None:
    """The store's PostgreSQL database, or None when it is not on PostgreSQL (SQLite
    serves one process: nothing to share)."""
    engine = getattr(store, "engine", None)
    if engine is None or engine.dialect.name != "postgresql":
        return None
    async with engine.connect() as conn:
        schema = await conn.scalar(text("SELECT current_schema()"))
    url = engine.url.set(drivername="postgresql").set(query={})
    return Database(dsn=url.render_as_string(hide_password=False), schema=str(schema))


# --- messages ---------------------------------------------------------------------------------
def change_message(origin: str, user_id: int, folder_id: str, position: int) -> str:
    return f"c|{origin}|{user_id}|{position}|{folder_id}"


def wake_message(origin: str, user_id: int) -> str:
    return f"w|{origin}|{user_id}"


def end_held_message(origin: str, user_id: int, holder: int) -> str:
    return f"e|{origin}|{user_id}|{holder}"


def clock_message(origin: str) -> str:
    return f"k|{origin}"


def tenant_message(origin: str) -> str:
    return f"t|{origin}"


def faults_message(origin: str) -> str:
    return f"f|{origin}"


@dataclass(frozen=True)
class Message:
    kind: str  # "c" change, "w" wake a user, "e" end a device's held requests, "k" clock,
    #            "t" a tenant changed, "f" the fault rules changed
    origin: str
    user_id: int = 0
    position: int = 0
    folder_id: str = ""
    holder: int = 0  # the device pk of an "e" message


def parse_message(payload: str) -> Message | None:
    """The message in a payload; None for anything else (a payload we did not send)."""
    parts = payload.split("|", 4)
    try:
        if parts[0] == "c" and len(parts) == 5:
            return Message("c", parts[1], int(parts[2]), int(parts[3]), parts[4])
        if parts[0] == "w" and len(parts) == 3:
            return Message("w", parts[1], int(parts[2]))
        if parts[0] == "e" and len(parts) == 4:
            return Message("e", parts[1], int(parts[2]), holder=int(parts[3]))
        if parts[0] in ("k", "t", "f") and len(parts) == 2:
            return Message(parts[0], parts[1])
    except ValueError:
        return None
    return None


# --- the push hub that also tells the other processes ---------------------------------------
class SharedPushHub(PushHub):
    """A push hub whose news also goes to the other processes through a `Bridge`; news
    from them is delivered with `deliver`, to this process's held requests only."""

    def __init__(self) -> None:
        super().__init__()
        self.bridge: Bridge | None = None

    def on_store_change(self, user_id: int, folder_id: str, position: int) -> None:
        super().on_store_change(user_id, folder_id, position)
        if self.bridge is not None:
            self.bridge.send(change_message(self.bridge.origin, user_id, folder_id, position))

    def wake_user(self, user_id: int) -> None:
        super().wake_user(user_id)
        if self.bridge is not None:
            self.bridge.send(wake_message(self.bridge.origin, user_id))

    def end_held(self, user_id: int, holder: int) -> None:
        """A device's new long-lived request (or a wipe) ends its held ones in every process:
        the device may have reached another worker with its earlier Ping."""
        super().end_held(user_id, holder)
        if self.bridge is not None:
            self.bridge.send(end_held_message(self.bridge.origin, user_id, holder))

    def deliver(self, message: Message) -> None:
        """Another process's news, to the requests held here."""
        if message.kind == "c":
            PushHub.notify(self, message.user_id, message.folder_id)
        elif message.kind == "w":
            PushHub.wake_user(self, message.user_id)
        elif message.kind == "e":
            PushHub.end_held(self, message.user_id, message.holder)

    def wake_everyone(self) -> None:
        """Every held request re-checks (news may have been lost while disconnected)."""
        for user_id in list(self._watches):
            PushHub.wake_user(self, user_id)


# --- the bridge ---------------------------------------------------------------------------------
class Bridge:
    """One LISTEN/NOTIFY connection per process: sends queued news, hands received news to
    ``on_message``, calls ``on_reconnect`` after a connection was lost and made again."""

    def __init__(self, database: Database, *, on_message: Callable[[Message], None],
                 on_reconnect: Callable[[], Awaitable[None]]) -> None:
        self.database = database
        self.origin = secrets.token_hex(4)
        self._on_message = on_message
        self._on_reconnect = on_reconnect
        self._outbox: list[str] = []
        self._pending = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._connected = asyncio.Event()

    def send(self, payload: str) -> None:
        """Queue a notification (sent in the background, in order)."""
        self._outbox.append(payload)
        self._pending.set()

    async def start(self) -> None:
        """Connect and LISTEN before returning (so no news sent after start-up is missed);
        then keep the connection up in the background."""
        connection = await self._connect()
        self._task = asyncio.get_running_loop().create_task(self._run(connection),
                                                            name="crossprocess-bridge")

    async def stop(self) -> None:
        task, self._task = self._task, None
        await cancel_and_wait(task)

    async def wait_connected(self, timeout: float) -> bool:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._connected.wait(), timeout)
        return self._connected.is_set()

    # --- the connection's life ------------------------------------------------------------
    async def _connect(self) -> asyncpg.Connection:
        connection = await self.database.connect("bridge")
        try:
            await connection.add_listener(self.database.channel, self._heard)
        except BaseException:
            await connection.close()
            raise
        self._connected.set()
        return connection

    async def _run(self, connection: asyncpg.Connection | None) -> None:
        failures = 0
        while True:
            try:
                if connection is None:
                    connection = await self._connect()
                    failures = 0
                    log.info("cross-process connection restored")
                    await self._on_reconnect()
                await self._serve(connection)
            except asyncio.CancelledError:
                if connection is not None:
                    await _close_quietly(connection)
                raise
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as exc:
                self._connected.clear()
                if connection is not None:
                    await _close_quietly(connection)
                    connection = None
                delay = RECONNECT_DELAYS_S[min(failures, len(RECONNECT_DELAYS_S) - 1)]
                failures += 1
                log.warning("cross-process connection lost (%s: %s); retrying in %.1f s",
                            type(exc).__name__, exc, delay)
                await asyncio.sleep(delay)

    async def _serve(self, connection: asyncpg.Connection) -> None:
        """Send what is queued; check a quiet connection now and then."""
        while True:
            if connection.is_closed():
                raise asyncpg.InterfaceError("connection closed")
            if self._outbox:
                await self._flush(connection)
                continue
            self._pending.clear()
            try:
                await asyncio.wait_for(self._pending.wait(), KEEPALIVE_S)
            except TimeoutError:
                await connection.execute("SELECT 1")

    async def _flush(self, connection: asyncpg.Connection) -> None:
        batch = self._outbox[:MAX_BATCH]
        await connection.execute(
            "SELECT pg_notify($1, payload) FROM unnest($2::text[]) AS payload",
            self.database.channel, batch)
        del self._outbox[: len(batch)]  # only once sent: a lost connection resends them

    def _heard(self, _connection: Any, _pid: int, _channel: str, payload: str) -> None:
        message = parse_message(payload)
        if message is None or message.origin == self.origin:
            return
        try:
            self._on_message(message)
        except Exception:  # one bad delivery must not silence the channel
            log.exception("cross-process message %r could not be delivered", payload)


async def _close_quietly(connection: asyncpg.Connection) -> None:
    with contextlib.suppress(Exception):
        await asyncio.wait_for(connection.close(), 2.0)
    if not connection.is_closed():
        connection.terminate()


# --- everything a process on a shared database runs besides serving -----------------------------
class Coordination:
    """The bridge and the scheduler's leader election of one gateway process."""

    def __init__(self, database: Database, pushhub: SharedPushHub,
                 store: Store | None = None) -> None:
        self.database = database
        self.pushhub = pushhub
        self.store = store
        self.bridge = Bridge(database, on_message=self._on_message,
                             on_reconnect=self._on_reconnect)
        pushhub.bridge = self.bridge
        self.leader: Leader | None = None
        self._clock: Clock | None = None
        self._access: AccessService | None = None
        self._reloads: set[asyncio.Task[None]] = set()
        self._faults: FaultEngine | None = None

    @classmethod
    async def open(cls, store: Store) -> Coordination | None:
        """Coordination for a store on PostgreSQL; None for SQLite (one process only)."""
        database = await database_of(store)
        if database is None:
            return None
        return cls(database, SharedPushHub(), store)

    async def start(self, clock: Clock, access: AccessService) -> None:
        """Listen, publish clock changes, and run the access scheduler only while this
        process holds the scheduler lock (its per-device locks guard every transition)."""
        from gateway.leader import Leader

        self._clock, self._access = clock, access
        clock.on_change(lambda: self.bridge.send(clock_message(self.bridge.origin)))
        if self.store is not None:
            self.store.add_tenant_listener(
                lambda: self.bridge.send(tenant_message(self.bridge.origin)))
        self.leader = Leader(self.database, on_gain=access.start, on_loss=access.stop)
        access.device_guard = self.leader.device
        try:
            await self.bridge.start()
            await self.leader.start()
        except BaseException as exc:
            await self.close()
            if isinstance(exc, (OSError, TimeoutError, asyncpg.PostgresError)):
                raise StoreError(f"cannot open the cross-process connection: {exc}") from None
            raise

    def share_fault_rules(self, engine: FaultEngine) -> None:
        """This process's rule changes are told to the others, and theirs re-read here."""
        self._faults = engine
        engine.on_change = lambda: self.bridge.send(faults_message(self.bridge.origin))

    async def close(self) -> None:
        if self.leader is not None:
            await self.leader.stop()
        await self.bridge.stop()
        for task in list(self._reloads):
            task.cancel()

    def _on_message(self, message: Message) -> None:
        if message.kind == "k":
            self._reload_clock()
            return
        if message.kind == "t":
            self._forget_tenants()
            return
        if message.kind == "f":
            if self._faults is not None:
                self._faults.changed_elsewhere()
            return
        self.pushhub.deliver(message)
        if message.kind == "w" and self._access is not None:
            # A transition in another process may have set a deadline sooner than ours.
            self._access.wake_scheduler()

    def _reload_clock(self) -> None:
        task = asyncio.get_running_loop().create_task(self._clock_changed())
        self._reloads.add(task)
        task.add_done_callback(self._reloads.discard)

    async def _clock_changed(self) -> None:
        if self._clock is None:
            return
        try:
            await self._clock.load()
        except Exception as exc:
            log.warning("clock row not re-read: %s", exc)
        if self._access is not None:
            self._access.wake_scheduler()

    def _forget_tenants(self) -> None:
        if self.store is not None:
            self.store.forget_tenants()

    async def _on_reconnect(self) -> None:
        self._forget_tenants()  # a tenant change may have been told while we were away
        if self._faults is not None:
            self._faults.changed_elsewhere()
        self.pushhub.wake_everyone()
        await self._clock_changed()
