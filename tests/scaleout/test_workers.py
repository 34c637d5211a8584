"""``easgate serve --workers N``: N processes on one port and one PostgreSQL database,
supervised by the parent; SQLite refused with a clear message."""
from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time

import pytest
from cluster import EASGATE, free_port, prepare, scratch_pg_database
from device import Device
from server_fixtures import ADMIN_TOKEN, LiveServer
from sqlalchemy import text

from store.engine import create_engine, parse_url

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(120)]


def test_sqlite_with_several_workers_is_refused_in_one_line(tmp_path):
    result = subprocess.run([EASGATE, "serve", "--workers", "3", "--db",
                             f"sqlite+aiosqlite:///{tmp_path}/x.db", "--https", "off"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert result.stderr.strip().startswith("error: --workers 3 needs PostgreSQL")
    assert "\n" not in result.stderr.strip()


async def test_workers_share_the_port_and_stop_together(tmp_path):
    async with scratch_pg_database() as db_url:
        await prepare(db_url, "manual")
        port = free_port()
        process = await asyncio.create_subprocess_exec(
            EASGATE, "serve", "--workers", "2", "--db", db_url, "--http", f"127.0.0.1:{port}",
            "--https", "off", "--admin-token", ADMIN_TOKEN, "--no-demo", cwd=tmp_path,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL)
        try:
            announced = await asyncio.wait_for(process.stdout.readline(), 60)
            assert announced.strip() == b"easgate is serving"
            workers = await worker_pids(db_url)
            assert len(workers) == 2 and process.pid not in workers

            client = LiveServer(http_url=f"http://127.0.0.1:{port}", https_url="",
                                admin_token=ADMIN_TOKEN, app=None)  # type: ignore[arg-type]
            try:
                devices = [Device("alice@contoso.com", f"WORKERS{n:03d}") for n in range(6)]
                for device in devices:
                    await device.folder_sync(client)
                    await device.sync_until_done([client], lambda nodes: nodes[0])
                assert len({len(d.seen) for d in devices}) == 1
            finally:
                await client.close()
        finally:
            process.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(process.wait(), 30) == 0
        deadline = time.monotonic() + 10
        while any(alive(pid) for pid in workers):
            assert time.monotonic() < deadline, "workers outlived their parent"
            await asyncio.sleep(0.1)


async def worker_pids(db_url: str) -> set[int]:
    """The gateway processes connected to the database (their bridge connections)."""
    engine = create_engine(parse_url(db_url))
    try:
        async with engine.connect() as conn:
            names = (await conn.scalars(text(
                "SELECT application_name FROM pg_stat_activity "
                "WHERE application_name LIKE 'easgate bridge pid=%'"))).all()
    finally:
        await engine.dispose()
    return {int(name.rsplit("=", 1)[1]) for name in names}


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
