"""``easgate serve --workers N``: N gateway processes on the same ports and database.

The parent process does what must happen once — migrate the database, load the demo tenant
into an empty one, set the clock mode, make the self-signed certificate — then reserves the
listening ports and starts the workers. Each worker is a whole gateway (gateway/app.py)
listening with ``SO_REUSEPORT``, so the kernel spreads new connections over the workers;
what they must agree on goes through PostgreSQL (gateway/crossprocess.py, gateway/leader.py).
That is also why SQLite is refused: it takes one writer at a time, and nothing would carry
one worker's news to the others.

The parent reserves each port by binding (not listening on) a socket with ``SO_REUSEPORT``
before any worker starts: a port of 0 becomes a real one that every worker then shares, and
no other program can take the port while workers restart. A bound socket that does not
listen receives no connections.

The parent supervises: it announces the listeners once every worker serves, restarts a
worker that dies (a few times a minute at most, then it gives up and stops everything), and
on SIGINT or SIGTERM stops the workers with SIGTERM — SIGKILL for any still running after
`STOP_GRACE_S` — and exits.
"""
from __future__ import annotations

import asyncio
import dataclasses
import logging
import multiprocessing
import queue
import signal
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.process import BaseProcess
from typing import Any

from gateway.app import prepare_store
from gateway.config import Address, Config, ConfigError
from store import open_store
from store.engine import parse_url

log = logging.getLogger("easgate.workers")

START_TIMEOUT_S = 60.0  # every worker serves within this, or the start fails
STOP_GRACE_S = 10.0  # SIGTERM, then SIGKILL for a worker still running after this
RESTART_LIMIT = 5  # restarts within RESTART_WINDOW_S before the parent gives up
RESTART_WINDOW_S = 60.0
POLL_S = 0.2
MAX_WORKERS = 64


def check_shareable(config: Config) -> None:
    """ConfigError unless ``config.workers`` processes can share the database."""
    if not 1 <= config.workers <= MAX_WORKERS:
        raise ConfigError(f"--workers takes 1 to {MAX_WORKERS} processes, not {config.workers}")
    if config.workers > 1 and parse_url(config.db_url).get_backend_name() == "sqlite":
        raise ConfigError(
            f"--workers {config.workers} needs PostgreSQL (--db postgresql+asyncpg://…): "
            "SQLite takes one writer process, and only PostgreSQL carries one worker's "
            "changes to the Pings held by the others")


def run(config: Config, announce: Callable[[Config], None]) -> int:
    """Serve with ``config.workers`` processes until SIGINT or SIGTERM; the exit status."""
    check_shareable(config)
    asyncio.run(prepare_database(config))
    reserved = Reservations.make(config)
    try:
        config = dataclasses.replace(config, http=reserved.http, https=reserved.https,
                                     load_demo=False, clock_mode=None)
        if config.https is not None:
            from gateway.tls import server_context
            server_context(config)  # makes the self-signed pair once, before workers race
        return Supervisor(config, announce).run()
    finally:
        reserved.close()


async def prepare_database(config: Config) -> None:
    """What must happen once before several processes open the database."""
    store = await open_store(config.db_url)  # migrates
    try:
        await prepare_store(store, config)
    finally:
        await store.close()


# --- the shared ports ------------------------------------------------------------------------
@dataclass
class Reservations:
    """Sockets bound with SO_REUSEPORT (not listening) that hold the listeners' ports."""

    http: Address | None
    https: Address | None
    sockets: list[socket.socket] = field(default_factory=list)

    @classmethod
    def make(cls, config: Config) -> Reservations:
        reserved = cls(None, None)
        try:
            reserved.http = reserved._reserve(config.http)
            reserved.https = reserved._reserve(config.https)
        except OSError:
            reserved.close()
            raise
        return reserved

    def _reserve(self, address: Address | None) -> Address | None:
        if address is None:
            return None
        family, kind, proto, _, where = socket.getaddrinfo(
            address.host, address.port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
        sock = socket.socket(family, kind, proto)
        self.sockets.append(sock)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(where)
        return Address(address.host, sock.getsockname()[1])

    def close(self) -> None:
        for sock in self.sockets:
            sock.close()
        self.sockets.clear()


# --- the workers -------------------------------------------------------------------------------
def worker_main(config: Config, number: int, ready: Any) -> None:
    """A worker process: one gateway on the shared ports; tells the parent once it serves."""
    from gateway.cli_serve import serve_worker

    serve_worker(config, number, on_ready=lambda: ready.put(number))


@dataclass
class Slot:
    number: int
    process: BaseProcess
    restarts: list[float] = field(default_factory=list)


class Supervisor:
    def __init__(self, config: Config, announce: Callable[[Config], None]) -> None:
        self.config = config
        self.announce = announce
        self._context = multiprocessing.get_context("spawn")  # no inherited event loop
        self._ready = self._context.Queue()
        self._slots: list[Slot] = []
        self._stopping = False

    def run(self) -> int:
        previous = {s: signal.signal(s, self._on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            self._slots = [Slot(n, self._spawn(n)) for n in range(self.config.workers)]
            if not self._wait_ready():
                return 1
            self.announce(self.config)
            return self._watch()
        finally:
            self._stop_all()
            for signum, handler in previous.items():
                signal.signal(signum, handler)

    def _on_signal(self, signum: int, _frame: Any) -> None:
        self._stopping = True

    def _spawn(self, number: int) -> BaseProcess:
        process = self._context.Process(target=worker_main, name=f"easgate-worker-{number}",
                                        args=(self.config, number, self._ready))
        process.start()
        return process

    def _wait_ready(self) -> bool:
        waiting = {slot.number for slot in self._slots}
        deadline = time.monotonic() + START_TIMEOUT_S
        while waiting and not self._stopping:
            try:
                waiting.discard(self._ready.get(timeout=POLL_S))
            except queue.Empty:
                pass
            dead = [s for s in self._slots if s.number in waiting and not s.process.is_alive()]
            if dead:
                log.error("worker %d exited with status %s while starting",
                          dead[0].number, dead[0].process.exitcode)
                return False
            if time.monotonic() > deadline:
                log.error("workers %s did not start within %.0f s", sorted(waiting),
                          START_TIMEOUT_S)
                return False
        return not self._stopping

    def _watch(self) -> int:
        """Restart workers that die until a signal comes; 1 when they keep dying."""
        while not self._stopping:
            time.sleep(POLL_S)
            for slot in self._slots:
                if self._stopping or slot.process.is_alive():
                    continue
                if not self._restart(slot):
                    return 1
        return 0

    def _restart(self, slot: Slot) -> bool:
        now = time.monotonic()
        slot.restarts = [t for t in slot.restarts if now - t < RESTART_WINDOW_S] + [now]
        log.warning("worker %d exited with status %s", slot.number, slot.process.exitcode)
        if len(slot.restarts) > RESTART_LIMIT:
            log.error("worker %d died %d times within %.0f s; stopping", slot.number,
                      len(slot.restarts), RESTART_WINDOW_S)
            return False
        slot.process = self._spawn(slot.number)
        return True

    def _stop_all(self) -> None:
        running = [s.process for s in self._slots if s.process.is_alive()]
        for process in running:
            process.terminate()  # SIGTERM: the worker closes its connections and exits
        deadline = time.monotonic() + STOP_GRACE_S
        for process in running:
            process.join(max(deadline - time.monotonic(), 0))
            if process.is_alive():
                log.warning("worker %s did not stop in %.0f s: killed", process.name,
                            STOP_GRACE_S)
                process.kill()
                process.join(2)
        self._ready.close()
