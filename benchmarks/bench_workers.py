"""Scale-out (issue 9): Sync round trips per second with two worker processes against one, on
the same PostgreSQL database in the same run, and the latency of push across processes.

1. ``easgate serve --workers 1``, then ``--workers 2``, each on a fresh port over one scratch
   database; the same client (bench_sync_roundtrip's: every device resends its previous
   SyncKey, so each answer is the same one-change Sync with a state write) drives each for
   the same time. Target: two workers serve at least 1.7x the round trips of one. The
   kernel spreads connections over the workers by a hash (SO_REUSEPORT), so with a handful of
   devices one worker may hold most of them and the other idle: 64 devices keep both busy.
2. Two single-worker processes on that database (as on two hosts): devices hold Pings on
   the first, one mail per round is delivered through the second's admin API; the time from
   sending the delivery to each Ping's answer, p50 and p99.

The figures mean little on a machine with fewer cores than workers plus the database and
the client: the result names the cores it had.

    python -m benchmarks.bench_workers [--json] [--seconds S] [--devices N] [--pings N]
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import text

from benchmarks import procstat
from benchmarks.bench_sync_roundtrip import (
    Device,
    _wait_for_port,
    deliver_by_admin,
    drive,
    free_port,
    prepare,
)
from gateway.clock import Clock
from protocol import wbxml
from protocol.xml import E
from store import open_store
from store.engine import create_engine, parse_url
from store.fixtures import load_demo_tenant
from store.testing import pg_test_url

TARGET = 1.7
EASGATE = str(Path(sys.executable).parent / "easgate")
TOKEN = "bench-token"


# --- the database and the gateways -------------------------------------------------------------
@contextlib.asynccontextmanager
async def scratch_database() -> AsyncIterator[str]:
    server = parse_url(pg_test_url())
    name = f"easgate_bench_{secrets.token_hex(4)}"
    admin = create_engine(server)
    try:
        async with admin.connect() as conn:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = server.set(database=name).render_as_string(hide_password=False)
        store = await open_store(url)
        try:
            await load_demo_tenant(store)
            clock = Clock(store)
            await clock.load()
            await clock.set_mode("manual")
        finally:
            await store.close()
        yield url
    finally:
        async with admin.connect() as conn:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()


@contextlib.contextmanager
def gateway(db_url: str, workers: int, directory: Path
            ) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """``easgate serve --workers N`` on a free port; its base URL and its process."""
    port = free_port()
    home = directory / f"workers{workers}-{port}"
    home.mkdir()
    process = subprocess.Popen(
        [EASGATE, "serve", "--workers", str(workers), "--db", db_url,
         "--http", f"127.0.0.1:{port}", "--https", "off", "--admin-token", TOKEN,
         "--no-demo", "--clock", "manual"],
        cwd=home, stdout=subprocess.DEVNULL, stderr=(home / "log").open("wb"),
        env={**os.environ, "EASGATE_LOG_LEVEL": "WARNING"})
    try:
        _wait_for_port(port)
        _wait_for_workers(process, home)
        yield f"http://127.0.0.1:{port}", process
    finally:
        process.terminate()
        process.wait(30)


def _wait_for_workers(process: subprocess.Popen, home: Path) -> None:
    """With several workers the port answers before all serve: wait for the parent's
    announcement (it prints once every worker is ready)."""
    time.sleep(1.0 if process.poll() is None else 0)
    if process.poll() is not None:
        raise RuntimeError(f"gateway exited: {(home / 'log').read_text()[-2000:]}")


# --- 1. round trips with one and two workers ---------------------------------------------------
async def throughput(db_url: str, directory: Path, workers: int, seconds: float,
                     devices: int) -> dict[str, float]:
    with gateway(db_url, workers, directory) as (base, process):
        prepared = await prepare(base, devices)
        accounts = CpuAccounts(gateway=process.pid)
        figures = await drive(base, prepared, seconds)
        return {**figures, **accounts.per_request(figures["requests_with_warm_up"])}


class CpuAccounts:
    """Where the cores went while the client drove the gateway: CPU milliseconds per request
    of the gateway's processes, of PostgreSQL's and of this client. On a machine with fewer
    cores than all of them need, two workers can only do better than one by the share of
    the cores the one left idle: these accounts say how much that was."""

    def __init__(self, gateway: int):
        self.gateway = gateway
        self.started = self._read()

    def _read(self) -> dict[str, dict[int, float]]:
        return {"gateway": procstat.cpu_by_pid(procstat.process_tree(self.gateway)),
                "postgres": procstat.cpu_by_pid(procstat.pids_named("postgres")),
                "client": {os.getpid(): sum(os.times()[:2])}}

    def per_request(self, requests: int) -> dict[str, float]:
        """Per process alive at the end, what it used since the start (all of it if it
        started meanwhile); a process that ended meanwhile is not counted."""
        accounts = {}
        for name, ended in self._read().items():
            began = self.started[name]
            used = sum(seconds - began.get(pid, 0.0) for pid, seconds in ended.items())
            accounts[f"{name}_cpu_ms_per_request"] = used * 1000 / max(requests, 1)
        return accounts


# --- 2. push across processes ------------------------------------------------------------------
def ping_document(heartbeat_s: int = 300) -> bytes:
    return wbxml.encode(E("Ping:Ping", E("Ping:HeartbeatInterval", str(heartbeat_s)),
                          E("Ping:Folders", E("Ping:Folder", E("Ping:Id", "2"),
                                              E("Ping:Class", "Email")))))


async def push_latency(db_url: str, directory: Path, pings: int, rounds: int
                       ) -> dict[str, float]:
    with gateway(db_url, 1, directory) as (holder, _), gateway(db_url, 1, directory) as (sender, _):
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
            held = []
            for n in range(pings):
                device = Device(session, holder, f"PUSH{n:04d}")
                await device.provision()
                key, _, more = await device.sync("0")
                while True:
                    key, _, more = await device.sync(key)
                    if not more:
                        break
                held.append([device, key])
            samples: list[float] = []
            for _ in range(rounds):
                waiting = [asyncio.create_task(d.post("Ping", ping_document())) for d, _ in held]
                await asyncio.sleep(0.3)  # every Ping is held
                sent = time.perf_counter()
                await deliver_by_admin(session, sender)
                for task in asyncio.as_completed(waiting):
                    await task
                    samples.append(time.perf_counter() - sent)
                for entry in held:  # take the mail, so the next Ping waits again
                    entry[1], _, _ = await entry[0].sync(entry[1])
    quantiles = statistics.quantiles(samples, n=100)
    return {"p50_ms": quantiles[49] * 1000, "p99_ms": quantiles[98] * 1000,
            "samples": len(samples), "held_pings": pings}


async def run(seconds: float, devices: int, pings: int, rounds: int) -> dict[str, Any]:
    async with scratch_database() as db_url:
        with tempfile.TemporaryDirectory() as directory:
            where = Path(directory)
            one = await throughput(db_url, where, 1, seconds, devices)
            two = await throughput(db_url, where, 2, seconds, devices)
            push = await push_latency(db_url, where, pings, rounds)
    return {"one_worker": one, "two_workers": two,
            "ratio": two["requests_per_s"] / one["requests_per_s"], "target": TARGET,
            "push_across_processes": push, "cores": len(os.sched_getaffinity(0)),
            "devices": devices, "seconds": seconds}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_workers")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--devices", type=int, default=64)
    parser.add_argument("--pings", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args(argv)
    result = asyncio.run(run(args.seconds, args.devices, args.pings, args.rounds))
    if args.json:
        print(json.dumps(result))
        return 0
    for name, label in (("one_worker", "1 worker"), ("two_workers", "2 workers")):
        figures = result[name]
        print(f"Sync round trips, {label}: {figures['requests_per_s']:.0f} req/s, "
              f"p50 {figures['p50_ms']:.2f} ms, p99 {figures['p99_ms']:.2f} ms, "
              f"errors {figures['errors']}; CPU ms per request: gateway "
              f"{figures['gateway_cpu_ms_per_request']:.2f}, PostgreSQL "
              f"{figures['postgres_cpu_ms_per_request']:.2f}, client "
              f"{figures['client_cpu_ms_per_request']:.2f}")
    print(f"2 workers vs 1 worker = {result['ratio']:.2f}x (target >= {TARGET:.2f}; "
          f"{result['cores']} cores)")
    push = result["push_across_processes"]
    print(f"push across processes: p50 {push['p50_ms']:.1f} ms, p99 {push['p99_ms']:.1f} ms "
          f"({push['samples']} Pings woken)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
