"""`easgate load` against the live server, in its own process as an operator runs it."""
import asyncio
import json
import os
import sys

import pytest

pytestmark = pytest.mark.timeout(180)


async def run_load(live_server, *args, timeout=150.0):
    env = {**os.environ, "EASGATE_ADMIN_TOKEN": live_server.admin_token}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "gateway.cli", "load", "--url", live_server.http_url, *args,
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        out, err = await asyncio.wait_for(process.communicate(), timeout)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    return process.returncode, out.decode(), err.decode()


async def test_200_devices_for_20_seconds_finish_with_zero_errors(live_server, tmp_path):
    report = tmp_path / "load.json"
    code, out, err = await run_load(
        live_server, "--devices", "200", "--duration", "20", "--json", str(report))
    assert code == 0, out + err
    summary = json.loads(report.read_text())
    assert summary["error_count"] == 0, summary["errors"]
    # how far 200 devices get in 20 s depends on the machine; that they all start, that
    # those set up hold Pings and that nothing fails does not
    assert summary["devices"]["started"] == 200
    assert summary["commands"]["Provision"]["requests"] >= 2 * summary["devices"]["ready"]
    assert summary["pings"]["sent"] >= summary["devices"]["ready"] * 0.8
    assert summary["requests"] > 0 and summary["duration_s"] >= 20
    assert "requests" in out and "push latency" in out and "errors: 0" in out


async def test_remote_servers_need_allow_remote(live_server):
    code, out, err = await run_load(live_server, "--devices", "1", "--duration", "1",
                                    "--url", "http://192.0.2.10:8080")
    assert code == 2 and "--allow-remote" in err


async def test_bounds_are_enforced(live_server):
    code, _, err = await run_load(live_server, "--devices", "1000000", "--duration", "5")
    assert code == 2 and "--devices" in err
