"""Ping fan-out: how many devices one gateway process holds in Ping, and what each costs.

The gateway runs in a subprocess of its own (over a fresh SQLite database with the demo
tenant and generated users), the load generator (`easgate load`) in another, each pinned to
its own core when there are two. Once every device holds its Ping, the load generator says
so; during the quiet time that follows this process reads the gateway's memory and CPU from
/proc; then 100 mails are delivered to random users through the admin API and the load
generator times each push (delivery to Ping answer). The devices share the users five to a
mailbox (`DEVICES_PER_USER`), more than most people carry: a mail wakes every device of its
recipient at once, so the share sets how many answers and follow-up Syncs one push queues
behind each other (at 50 a mailbox the p99 is about 0.7-1.1x the target, at 3 about 0.2x).
Baselines, measured in the same run:
the same process idle before any device connected. The gateway's memory is read, idle and
held alike, once it has given its free heap back to the system (every `TRIM_EVERY_S`,
gateway/gcpolicy.py): what set-up traffic freed is not memory the Pings hold.

Targets (issue 8): RSS growth per held Ping <= 25 KiB; p99 push latency <= 100 ms; CPU of
the idle-held gateway about that of the idle process (no per-connection timers).

    python -m benchmarks.bench_ping_fanout [--json] [--devices N] [--users M] [--mails K]
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

from benchmarks.procstat import cpu_seconds, rss_kib
from emulator.load import generated_address, pings_held_in
from gateway.gcpolicy import TRIM_EVERY_S

TOKEN = "bench-token"
TENANT = "contoso.com"
PASSWORD = "bench-pass"
HEARTBEAT = 3000  # seconds: no Ping expires during the run
DEVICES_PER_USER = 5
RSS_TARGET_KIB = 25.0
PUSH_TARGET_MS = 100.0


# --- the gateway, in its own process -----------------------------------------------------
def serve_gateway(port: int, directory: Path) -> None:
    from aiohttp import web

    from gateway.app import create_app
    from gateway.config import Address, Config
    from gateway.limits import runner_options

    config = Config(db_url=f"sqlite+aiosqlite:///{directory / 'bench.db'}",
                    http=Address("127.0.0.1", port), https=None, var_dir=directory / "var",
                    admin_token=TOKEN, clock_mode="manual", load_demo=True,
                    log_level="WARNING")
    web.run_app(create_app(config), host="127.0.0.1", port=port, print=None,
                access_log=None, backlog=4096, **runner_options(config))  # as easgate serve


@contextlib.contextmanager
def gateway_process(port: int, directory: str, core: int | None):  # type: ignore[no-untyped-def]
    command = [sys.executable, "-m", "benchmarks.bench_ping_fanout", "--serve",
               "--port", str(port), "--dir", directory]
    if core is not None:
        command += ["--core", str(core)]
    process = subprocess.Popen(command)
    try:
        yield process
    finally:
        process.terminate()  # held Pings would delay a graceful stop: kill after a while
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


async def wait_until_healthy(base: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            with contextlib.suppress(aiohttp.ClientError, OSError):
                async with http.get(f"{base}/healthz") as answer:
                    if answer.status == 200:
                        return
            await asyncio.sleep(0.2)
    raise RuntimeError("the gateway did not become healthy")


# --- what /proc says about a process (benchmarks/procstat.py) -------------------------------
def cpu_share(pid: int, seconds: float) -> float:
    """The share of one core the process used over the next ``seconds``."""
    before, started = cpu_seconds(pid), time.monotonic()
    time.sleep(seconds)
    return (cpu_seconds(pid) - before) / (time.monotonic() - started)


# --- the run --------------------------------------------------------------------------------------
async def create_users(base: str, count: int) -> None:
    """The users the devices spread over (password hashing is slow by design: 8 at a time)."""
    gate = asyncio.Semaphore(8)
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {TOKEN}"}) as http:
        async def create(n: int) -> None:
            address = generated_address(n, TENANT)
            async with gate, http.post(f"{base}/admin/api/v1/users", json={
                    "address": address, "password": PASSWORD, "display_name": address}) as answer:
                if answer.status not in (200, 201, 409):
                    raise RuntimeError(f"creating {address}: HTTP {answer.status}")

        await asyncio.gather(*(create(n) for n in range(count)))


def load_command(base: str, args: argparse.Namespace, summary_file: Path) -> list[str]:
    return [sys.executable, "-m", "gateway.cli", "load", "--url", base,
            "--devices", str(args.devices), "--duration", str(args.timeout),
            "--users", str(args.users), "--reuse-users", "--password", PASSWORD,
            "--token", TOKEN, "--active-fraction", "0", "--send-rate", "0",
            "--deliver-rate", "0", "--heartbeat", str(HEARTBEAT), "--ramp", str(args.ramp),
            "--push-probe", str(args.mails), "--settle", "600",
            "--events", "-", "--quiet", "--json", str(summary_file)]


def warm_up(base: str) -> None:
    """A few devices of the demo users for a few seconds first, so that what the first
    requests of a process cost once (imports, statement caches, pools) is in the idle
    baseline, not in the Pings. Their Pings may stay held on the server after they hang
    up; the baseline counts them."""
    command = [sys.executable, "-m", "gateway.cli", "load", "--url", base, "--devices", "20",
               "--duration", "8", "--ramp", "1", "--token", TOKEN, "--deliver-rate", "1",
               "--heartbeat", str(HEARTBEAT), "--quiet", "--seed", "2"]
    subprocess.run(command, stdout=subprocess.DEVNULL, check=False, timeout=120)


def server_pings_held(base: str) -> int:
    """The gateway's own count of held requests (its /metrics gauge)."""
    async def scrape() -> str:
        async with aiohttp.ClientSession() as http, http.get(f"{base}/metrics") as answer:
            return await answer.text()

    held = pings_held_in(asyncio.run(scrape()))
    if held is None:
        raise RuntimeError("the gateway's /metrics has no easgate_pings_held")
    return held


def wait_until_held(base: str, count: int, timeout: float) -> int:
    """Until the gateway itself holds ``count`` requests (the client counts a Ping once it
    is sent; the server may still be working through the last ones)."""
    deadline = time.monotonic() + timeout
    held = server_pings_held(base)
    while held < count and time.monotonic() < deadline:
        time.sleep(0.5)
        held = server_pings_held(base)
    return held


def follow_load(load: subprocess.Popen[str], gateway_pid: int, base: str,
                window: float) -> dict[str, Any]:
    """Read the load generator's events; once every device holds its Ping, measure the
    gateway, then let the load generator start its push probe (SIGUSR1)."""
    held: dict[str, Any] = {}
    assert load.stdout is not None
    for line in load.stdout:
        event = json.loads(line)
        if event["event"] == "ready":
            held["ready_after_s"] = event["t"]
            held["pings_held"] = wait_until_held(base, event["pings_held"], timeout=300)
            time.sleep(TRIM_EVERY_S + 1.0)  # the last answers written, the free heap given back
            held["rss_kib"] = rss_kib(gateway_pid)
            held["cpu_share"] = cpu_share(gateway_pid, window)
            load.send_signal(signal.SIGUSR1)
    held["load_exit"] = load.wait()
    return held


def run(args: argparse.Namespace) -> dict[str, Any]:
    soft = raise_open_files(args.devices + 4096)  # inherited by both subprocesses
    cores = sorted(os.sched_getaffinity(0))
    gateway_core, load_core = (cores[0], cores[1]) if len(cores) > 1 else (None, None)
    with tempfile.TemporaryDirectory() as directory:
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        with gateway_process(port, directory, gateway_core) as gateway:
            asyncio.run(wait_until_healthy(base))
            asyncio.run(create_users(base, args.users))
            warm_up(base)
            time.sleep(TRIM_EVERY_S + 1.0)  # the free heap given back (see the docstring)
            idle = {"rss_kib": rss_kib(gateway.pid), "pings_held": server_pings_held(base),
                    "cpu_share": cpu_share(gateway.pid, args.window)}
            summary_file = Path(directory) / "load.json"
            load = subprocess.Popen(load_command(base, args, summary_file), text=True,
                                    stdout=subprocess.PIPE,
                                    preexec_fn=_pin(load_core) if load_core is not None else None)
            held = follow_load(load, gateway.pid, base, args.window)
            summary = json.loads(summary_file.read_text()) if summary_file.exists() else {}
    return figures(args, soft, idle, held, summary)


def figures(args: argparse.Namespace, open_files: int, idle: dict[str, Any],
            held: dict[str, Any], summary: dict[str, Any]) -> dict[str, Any]:
    pings = held.get("pings_held", 0) - idle["pings_held"]  # the warm-up's may linger
    growth = (held["rss_kib"] - idle["rss_kib"]) / pings if pings > 0 else None
    push = summary.get("push_latency", {})
    return {
        "devices": args.devices, "users": args.users, "mails": args.mails,
        "open_files_limit": open_files, "pings_held": pings,
        "ready_after_s": held.get("ready_after_s"),
        "rss_idle_kib": idle["rss_kib"], "rss_held_kib": held.get("rss_kib"),
        "rss_per_ping_kib": round(growth, 2) if growth is not None else None,
        "cpu_idle_share": round(idle["cpu_share"], 4),
        "cpu_held_share": round(held["cpu_share"], 4) if "cpu_share" in held else None,
        "push_p50_ms": push.get("p50_ms"), "push_p99_ms": push.get("p99_ms"),
        "push_max_ms": push.get("max_ms"), "pushes": push.get("count", 0),
        "load_exit": held.get("load_exit"),
        "load_errors": summary.get("error_count"), "load_error_kinds": summary.get("errors"),
        "requests_per_s": summary.get("requests_per_s"),
    }


def describe(result: dict[str, Any]) -> str:
    if result["rss_per_ping_kib"] is None:
        return (f"ping fan-out: the devices never all held their Ping (load generator exit "
                f"{result['load_exit']}, errors: {result['load_error_kinds']})")
    per_ping, held = result["rss_per_ping_kib"], result["pings_held"]
    lines = [
        f"ping fan-out RSS per held Ping ({held:,} held): {per_ping:.1f} KiB "
        f"({result['rss_idle_kib'] / 1024:.0f} MiB idle -> {result['rss_held_kib'] / 1024:.0f} MiB)"
        f" vs target {RSS_TARGET_KIB:.0f} KiB = {per_ping / RSS_TARGET_KIB:.2f}x (target <= 1.0x)",
    ]
    if result["push_p99_ms"] is not None and result["pushes"]:
        lines.append(
            f"ping fan-out push latency p99 ({result['mails']} mails, {result['pushes']} pushes): "
            f"{result['push_p99_ms']:.1f} ms (p50 {result['push_p50_ms']:.1f} ms) vs target "
            f"{PUSH_TARGET_MS:.0f} ms = {result['push_p99_ms'] / PUSH_TARGET_MS:.2f}x "
            f"(target <= 1.0x)")
    idle, busy = result["cpu_idle_share"], result["cpu_held_share"]
    ratio = f"{busy / idle:.2f}x" if idle else "n/a (idle process at 0)"
    lines.append(
        f"ping fan-out gateway CPU idle-held: {busy * 100:.2f} % of a core vs idle process "
        f"{idle * 100:.2f} % = {ratio} ({busy * 1e6 / held:.2f} us of CPU per held Ping per s)")
    lines.append(f"ping fan-out set-up: {held:,} devices holding after "
                 f"{result['ready_after_s']:.0f} s, load errors {result['load_errors']}")
    return "\n".join(lines)


# --- helpers ---------------------------------------------------------------------------------------
def raise_open_files(wanted: int) -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if target > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = target
    return soft


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _pin(core: int):  # type: ignore[no-untyped-def]
    return lambda: os.sched_setaffinity(0, {core})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_ping_fanout")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--devices", type=int, default=10_000)
    parser.add_argument("--users", type=int,
                        help=f"users the devices spread over (devices / {DEVICES_PER_USER})")
    parser.add_argument("--mails", type=int, default=100, help="mails of the push probe")
    parser.add_argument("--ramp", type=float, default=60.0, help="seconds to start all devices")
    parser.add_argument("--window", type=float, default=10.0,
                        help="seconds of CPU measured once all hold their Ping")
    parser.add_argument("--timeout", type=float, default=1200.0, help="bound on the whole run")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--dir", help=argparse.SUPPRESS)
    parser.add_argument("--core", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.users = args.users or max(1, args.devices // DEVICES_PER_USER)
    if args.serve:
        if args.core is not None:
            os.sched_setaffinity(0, {args.core})
        serve_gateway(args.port, Path(args.dir))
        return 0
    result = run(args)
    print(json.dumps(result, indent=2) if args.json else describe(result))
    failed = result["rss_per_ping_kib"] is None or result["load_errors"] or result["load_exit"]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
