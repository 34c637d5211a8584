"""Several real gateway processes over one fresh PostgreSQL database, for the scale-out tests.

`cluster(tmp_path, count)` creates a database of its own on the test server, loads the demo
tenant, starts ``count`` ``easgate serve`` processes on free ports (each a whole gateway, as
on separate hosts) and gives a `Node` per process: its pid, and an EAS/admin client (the
`LiveServer` helpers of tests/server_fixtures.py, pointed at that process). The nodes share
the policy keys they got, since a device provisioned through one process is provisioned for
all. Everything is stopped and the database dropped afterwards.
"""
from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import socket
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
from server_fixtures import ADMIN_TOKEN, LiveServer
from sqlalchemy import text

from gateway.clock import Clock
from gateway.crossprocess import Database
from store import Store, open_store
from store.engine import create_engine, parse_url
from store.fixtures import load_demo_tenant
from store.testing import pg_test_url

START_TIMEOUT_S = 30.0
EASGATE = str(Path(sys.executable).parent / "easgate")


@dataclass
class Node:
    """One gateway process."""

    number: int
    process: asyncio.subprocess.Process
    client: LiveServer
    log_path: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@dataclass
class Cluster:
    db_url: str
    directory: Path
    nodes: list[Node] = field(default_factory=list)
    policy_keys: dict = field(default_factory=dict)

    @property
    def database(self) -> Database:
        return Database(dsn="", schema="public")

    async def start_node(self) -> Node:
        number = len(self.nodes)
        port = free_port()
        home = self.directory / f"node{number}"
        home.mkdir(parents=True, exist_ok=True)
        log_path = home / "easgate.log"
        with log_path.open("wb") as log:
            process = await asyncio.create_subprocess_exec(
                EASGATE, "serve", "--db", self.db_url, "--http", f"127.0.0.1:{port}",
                "--https", "off", "--admin-token", ADMIN_TOKEN, "--no-demo",
                cwd=home, stdout=log, stderr=asyncio.subprocess.STDOUT,
                env={**os.environ, "EASGATE_LOG_LEVEL": "INFO"})
        client = LiveServer(http_url=f"http://127.0.0.1:{port}", https_url="",
                            admin_token=ADMIN_TOKEN, app=None,  # type: ignore[arg-type]
                            _policy_keys=self.policy_keys)
        node = Node(number, process, client, log_path)
        self.nodes.append(node)
        await wait_healthy(node)
        return node

    async def stop(self) -> None:
        for node in self.nodes:
            if node.process.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    node.process.send_signal(signal.SIGTERM)
        for node in self.nodes:
            try:
                await asyncio.wait_for(node.process.wait(), 15)
            except TimeoutError:
                node.process.kill()
                await node.process.wait()
            await node.client.close()

    async def scheduler_pid(self) -> int | None:
        """The OS pid of the process holding the scheduler lock, None when nobody does."""
        key_name = self.database.lock_name("scheduler")
        engine = create_engine(parse_url(self.db_url))
        try:
            async with engine.connect() as conn:
                key = await conn.scalar(text("SELECT hashtextextended(:n, 0)"), {"n": key_name})
                holder = await conn.scalar(text(
                    "SELECT a.application_name FROM pg_locks l "
                    "JOIN pg_stat_activity a ON a.pid = l.pid "
                    "WHERE l.locktype = 'advisory' AND l.granted "
                    "AND l.classid = CAST(:hi AS oid) AND l.objid = CAST(:lo AS oid)"),
                    {"hi": (key >> 32) & 0xFFFFFFFF, "lo": key & 0xFFFFFFFF})
        finally:
            await engine.dispose()
        if holder is None:
            return None
        return int(holder.rsplit("pid=", 1)[1])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def wait_healthy(node: Node) -> None:
    deadline = asyncio.get_running_loop().time() + START_TIMEOUT_S
    async with aiohttp.ClientSession() as session:
        while True:
            if node.process.returncode is not None:
                raise AssertionError(f"gateway {node.number} exited:\n{node.log()}")
            with contextlib.suppress(aiohttp.ClientError):
                async with session.get(f"{node.client.http_url}/healthz") as response:
                    if response.status == 200:
                        return
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"gateway {node.number} did not start:\n{node.log()}")
            await asyncio.sleep(0.1)


@contextlib.asynccontextmanager
async def scratch_pg_database() -> AsyncIterator[str]:
    """The URL of a database of its own on the test server, dropped afterwards."""
    server = parse_url(pg_test_url())
    name = f"easgate_t_{secrets.token_hex(5)}"
    admin = create_engine(server)
    try:
        async with admin.connect() as conn:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        async with admin.connect() as conn:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()


async def prepare(db_url: str, clock_mode: str) -> None:
    store = await open_store(db_url)
    try:
        await load_demo_tenant(store)
        clock = Clock(store)
        await clock.load()
        await clock.set_mode(clock_mode)  # type: ignore[arg-type]
    finally:
        await store.close()


@contextlib.asynccontextmanager
async def cluster(directory: Path, count: int, *, clock_mode: str = "manual"
                  ) -> AsyncIterator[Cluster]:
    async with scratch_pg_database() as db_url:
        await prepare(db_url, clock_mode)
        running = Cluster(db_url, directory)
        try:
            for _ in range(count):
                await running.start_node()
            yield running
        finally:
            await running.stop()


@contextlib.asynccontextmanager
async def reader(db_url: str) -> AsyncIterator[Store]:
    """The test's own view of the shared database."""
    store = await open_store(db_url, create=False)
    try:
        yield store
    finally:
        await store.close()
