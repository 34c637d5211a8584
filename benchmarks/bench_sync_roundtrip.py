"""Sync round trip: requests per second of a one-change Sync through the whole gateway
(auth → access → store → WBXML), against a bare aiohttp handler that returns a fixed body.

Both servers run in their own process pinned to one core, one after the other; the same
client (this process, on another core when there is one) drives each for the same time
with the same concurrency, writing prepared request bytes on keep-alive connections
(benchmarks/wire.py) so that it is not the client that sets the pace. Each simulated device resends its previous SyncKey, so every
answer is the same one-change Sync (MS-ASCMD resend semantics) and costs what a real
incremental Sync costs: a state read, a change-log page, a state write, the encoding.
Target (issue 5): at least 40 % of the bare handler.

A third server shows where that target stands: the floor, an aiohttp handler doing the least
any SQLite-backed Sync must do (decode the request, one transaction that reads the sync state
and the change and writes the new state, render the one item, encode), with none of the
gateway's checks, access decision, change log or traces. What the gateway costs above the
floor is what those cost; what the floor costs above the bare handler, no gateway on this
stack can avoid.

    python -m benchmarks.bench_sync_roundtrip [--json] [--seconds S] [--devices N]
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

from benchmarks import wire
from protocol import wbxml
from protocol.xml import E, child, text

USER, PASSWORD = "alice@contoso.com", "demo-pass"
TARGET = 0.40
CONTENT_TYPE = "application/vnd.ms-sync.wbxml"
AUTHORIZATION = aiohttp.encode_basic_auth(USER, PASSWORD)


# --- the two servers (run as subprocesses) ---------------------------------------------------
def serve_gateway(port: int, directory: Path) -> None:
    from aiohttp import web

    from gateway.app import create_app
    from gateway.config import Address, Config

    config = Config(db_url=f"sqlite+aiosqlite:///{directory / 'bench.db'}",
                    http=Address("127.0.0.1", port), https=None, var_dir=directory / "var",
                    admin_token="bench-token", clock_mode="manual", load_demo=True)
    web.run_app(create_app(config), host="127.0.0.1", port=port, print=None,
                handle_signals=True, access_log=None)


def serve_bare(port: int, body: bytes) -> None:
    from aiohttp import web

    async def fixed(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(body=body, content_type=CONTENT_TYPE)

    app = web.Application()
    app.router.add_post("/Microsoft-Server-ActiveSync", fixed)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


FLOOR_SCHEMA = """
CREATE TABLE item (id INTEGER PRIMARY KEY, folder TEXT, subject TEXT, sender TEXT, body TEXT);
CREATE TABLE state (device TEXT, folder TEXT, sync_key TEXT, position INTEGER,
                    PRIMARY KEY (device, folder));
"""


def serve_floor(port: int, directory: Path) -> None:
    from aiohttp import web

    web.run_app(floor_app(directory), host="127.0.0.1", port=port, print=None, access_log=None)


def floor_app(directory: Path) -> Any:
    """The floor server's application (see the module's docstring)."""
    import sqlite3

    from aiohttp import web

    from protocol.xml import sub
    from store.engine import SQLITE_PRAGMAS

    database = sqlite3.connect(directory / "floor.db", isolation_level=None)
    for pragma in SQLITE_PRAGMAS:  # the store's own connection settings
        database.execute(pragma)
    database.executescript(FLOOR_SCHEMA)
    database.execute("INSERT INTO item (folder, subject, sender, body) VALUES ('2', ?, ?, ?)",
                     ("Bench", "dave@example.com", "One change."))
    cursor = database.cursor()

    async def floor(request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != AUTHORIZATION:
            raise web.HTTPUnauthorized()
        collection = wbxml.decode(await request.read()).find(".//{AirSync:}Collection")
        key, folder = text(collection, "AirSync:SyncKey"), text(collection, "AirSync:CollectionId")
        device = request.query["DeviceId"]
        cursor.execute("BEGIN IMMEDIATE")
        state = cursor.execute("SELECT position FROM state WHERE device = ? AND folder = ?",
                               (device, folder)).fetchone()
        items = cursor.execute("SELECT id, subject, sender, body FROM item WHERE folder = ? "
                               "AND id > ? ORDER BY id LIMIT 512",
                               (folder, state[0] if state else 0)).fetchall()
        cursor.execute("INSERT INTO state VALUES (?, ?, ?, 0) ON CONFLICT DO UPDATE "
                       "SET sync_key = excluded.sync_key", (device, folder, key))
        cursor.execute("COMMIT")
        answer = E("AirSync:Sync")
        head = sub(sub(answer, "AirSync:Collections"), "AirSync:Collection")
        sub(head, "AirSync:SyncKey", key)
        sub(head, "AirSync:CollectionId", folder)
        sub(head, "AirSync:Status", 1)
        commands = sub(head, "AirSync:Commands")
        for item_id, subject, sender, body in items:
            add = sub(commands, "AirSync:Add")
            sub(add, "AirSync:ServerId", f"{folder}:{item_id}")
            data = sub(add, "AirSync:ApplicationData")
            sub(data, "Email:Subject", subject)
            sub(data, "Email:From", sender)
            rendered = sub(data, "AirSyncBase:Body")
            sub(rendered, "AirSyncBase:Type", 1)
            sub(rendered, "AirSyncBase:EstimatedDataSize", len(body))
            sub(rendered, "AirSyncBase:Data", body)
        return web.Response(body=wbxml.encode(answer), content_type=CONTENT_TYPE)

    app = web.Application()
    app.router.add_post("/Microsoft-Server-ActiveSync", floor)
    return app


@contextlib.contextmanager
def server_process(args: list[str], port: int, core: int | None):
    command = [sys.executable, "-m", "benchmarks.bench_sync_roundtrip", "--serve", *args,
               "--port", str(port)]
    if core is not None:
        command += ["--core", str(core)]
    process = subprocess.Popen(command)
    try:
        _wait_for_port(port)
        yield
    finally:
        process.terminate()
        process.wait(10)


def _wait_for_port(port: int, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.1)
    raise RuntimeError(f"server on port {port} did not start")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- the client -----------------------------------------------------------------------------
def request_line(command: str, device_id: str, policy_key: str
                 ) -> tuple[dict[str, str], dict[str, str]]:
    """The query parameters and headers of a benchmark device's request."""
    params = {"Cmd": command, "User": USER, "DeviceId": device_id, "DeviceType": "iPhone"}
    headers = {"MS-ASProtocolVersion": "16.1", "Content-Type": CONTENT_TYPE,
               "User-Agent": "Apple-iPhone14C2/2104.92", "Authorization": AUTHORIZATION}
    if policy_key:
        headers["X-MS-PolicyKey"] = policy_key
    return params, headers


class Device:
    def __init__(self, session: aiohttp.ClientSession, base: str, device_id: str):
        self.session, self.base, self.device_id = session, base, device_id
        self.policy_key = ""

    async def post(self, command: str, document: Any) -> tuple[bytes, int]:
        params, headers = request_line(command, self.device_id, self.policy_key)
        body = document if isinstance(document, bytes) else wbxml.encode(document)
        async with self.session.post(f"{self.base}/Microsoft-Server-ActiveSync", params=params,
                                     data=body, headers=headers) as response:
            return await response.read(), response.status

    async def provision(self) -> None:
        policy = E("Provision:Policy", E("Provision:PolicyType", "MS-EAS-Provisioning-WBXML"))
        first = wbxml.decode((await self.post("Provision", E("Provision:Provision",
                                                              E("Provision:Policies", policy))))[0])
        temporary = first.findtext(".//{Provision:}PolicyKey")
        ack = E("Provision:Policy", E("Provision:PolicyType", "MS-EAS-Provisioning-WBXML"),
                E("Provision:PolicyKey", temporary), E("Provision:Status", "1"))
        self.policy_key = temporary
        second = wbxml.decode((await self.post("Provision", E("Provision:Provision",
                                                               E("Provision:Policies", ack))))[0])
        self.policy_key = second.findtext(".//{Provision:}PolicyKey")

    async def sync(self, key: str, window: int = 512) -> tuple[str, int, bool]:
        root = wbxml.decode((await self.post("Sync", sync_document(key, window)))[0])
        collection = root.find(".//{AirSync:}Collection")
        commands = child(collection, "AirSync:Commands")
        return (text(collection, "AirSync:SyncKey"), len(commands) if commands is not None else 0,
                child(collection, "AirSync:MoreAvailable") is not None)


def sync_document(key: str, window: int = 512) -> Any:
    return E("AirSync:Sync", E("AirSync:Collections", E(
        "AirSync:Collection", E("AirSync:SyncKey", key), E("AirSync:CollectionId", "2"),
        E("AirSync:WindowSize", str(window)))))


Prepared = list[tuple[str, bytes]]  # per device: its policy key and its Sync body


async def prepare(base: str, devices: int) -> Prepared:
    """Each device synced up, then one new mail: returns per device the Sync body that
    resends its previous key (answered with that one change every time)."""
    prepared = []
    async with aiohttp.ClientSession() as session:
        ready = []
        for n in range(devices):
            device = Device(session, base, f"BENCH{n:04d}")
            await device.provision()
            key, _, _ = await device.sync("0")
            more = True
            while more:
                key, _, more = await device.sync(key)
            ready.append((device, key))
        await deliver_by_admin(session, base)
        for device, key in ready:
            _, count, _ = await device.sync(key)
            assert count == 1, f"expected one change, got {count}"
            prepared.append((device.policy_key, wbxml.encode(sync_document(key))))
    return prepared


async def deliver_by_admin(session: aiohttp.ClientSession, base: str) -> None:
    async with session.post(f"{base}/admin/api/v1/users/{USER}/messages",
                            json={"from": "dave@example.com", "subject": "Bench",
                                  "body": "One change.", "folder": "Inbox"},
                            headers={"Authorization": "Bearer bench-token"}) as response:
        if response.status >= 300:
            raise RuntimeError(f"admin delivery failed: HTTP {response.status}")


def wire_requests(base: str, prepared: Prepared) -> list[wire.Request]:
    """Each device's resent Sync as the bytes the wire client writes again and again."""
    requests = []
    for n, (policy_key, body) in enumerate(prepared):
        params, headers = request_line("Sync", f"BENCH{n:04d}", policy_key)
        requests.append(wire.Request.post(base, "/Microsoft-Server-ActiveSync", params, headers,
                                          body))
    return requests


async def drive(base: str, prepared: Prepared, seconds: float) -> dict[str, float]:
    """Every device posts its body in a loop; requests/s and latency percentiles."""
    return await wire.drive(base, wire_requests(base, prepared), seconds)


async def run(seconds: float, devices: int) -> dict[str, Any]:
    cores = sorted(os.sched_getaffinity(0))
    server_core = cores[0]
    if len(cores) > 1:
        os.sched_setaffinity(0, set(cores[1:]))  # the client keeps off the server's core
    with tempfile.TemporaryDirectory() as directory:
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        with server_process(["gateway", "--dir", directory], port, server_core):
            prepared = await prepare(base, devices)
            gateway = await drive(base, prepared, seconds)
            async with aiohttp.ClientSession() as session:
                sample = Device(session, base, "BENCH0000")
                sample.policy_key = prepared[0][0]
                fixed_body, _ = await sample.post("Sync", prepared[0][1])
        floor_port = free_port()
        with server_process(["floor", "--dir", directory], floor_port, server_core):
            floor = await drive(f"http://127.0.0.1:{floor_port}", prepared, seconds)
        bare_port = free_port()
        bare_base = f"http://127.0.0.1:{bare_port}"
        body_file = Path(directory) / "answer.wbxml"
        body_file.write_bytes(fixed_body)
        with server_process(["bare", "--body", str(body_file)], bare_port, server_core):
            bare = await drive(bare_base, prepared, seconds)
    return {"sync": gateway, "floor": floor, "bare": bare,
            "ratio": gateway["requests_per_s"] / bare["requests_per_s"], "target": TARGET,
            "floor_ratio": floor["requests_per_s"] / bare["requests_per_s"],
            "devices": devices, "seconds": seconds}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_sync_roundtrip")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--devices", type=int, default=8)
    parser.add_argument("--serve", choices=["gateway", "floor", "bare"])
    parser.add_argument("--port", type=int)
    parser.add_argument("--core", type=int)
    parser.add_argument("--dir")
    parser.add_argument("--body")
    args = parser.parse_args(argv)
    if args.serve:
        if args.core is not None:
            os.sched_setaffinity(0, {args.core})
        if args.serve == "gateway":
            serve_gateway(args.port, Path(args.dir))
        elif args.serve == "floor":
            serve_floor(args.port, Path(args.dir))
        else:
            serve_bare(args.port, Path(args.body).read_bytes())
        return 0
    result = asyncio.run(run(args.seconds, args.devices))
    if args.json:
        print(json.dumps(result))
        return 0
    for name, label in (("sync", "one-change Sync round trip"),
                        ("floor", "floor (one SQLite transaction, no gateway)"),
                        ("bare", "bare aiohttp handler")):
        figures = result[name]
        print(f"{label}: {figures['requests_per_s']:.0f} req/s, p50 {figures['p50_ms']:.2f} ms, "
              f"p99 {figures['p99_ms']:.2f} ms, errors {figures['errors']}")
    print(f"floor vs bare handler = {result['floor_ratio']:.2f}x "
          "(the least a SQLite-backed Sync costs)")
    print(f"sync round trip vs bare handler = {result['ratio']:.2f}x (target >= {TARGET:.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
