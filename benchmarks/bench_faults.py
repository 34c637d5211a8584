"""Fault rules on the request path: the one-change Sync round trip of bench_sync_roundtrip
with 1,000 fault rules that match none of the requests, against the same gateway with no
rule, in the same run and the same server process.

The rules are the kind a QA team leaves behind: other devices of the same user and command,
other device types, other commands and users. The order is none, rules, none, and the
figure is the rules' requests/s over the mean of the two runs without, so drift over the
run cancels out. Target (issue 13): the rules cost at most 5 % (ratio >= 0.95).

    python -m benchmarks.bench_faults [--json] [--seconds S] [--devices N] [--rules N]
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
from typing import Any

import aiohttp

from benchmarks.bench_sync_roundtrip import drive, free_port, prepare, server_process

TARGET = 0.95
ADMIN = {"Authorization": "Bearer bench-token"}


def idle_rules(count: int) -> list[dict[str, Any]]:
    """``count`` rules that fire on none of the benchmark's requests."""
    shapes = [
        lambda n: {"user": "alice@contoso.com", "command": "Sync", "device_id": f"OTHER{n}"},
        lambda n: {"user": "alice@contoso.com", "device_type": f"Kind{n}"},
        lambda n: {"command": "Ping", "device_id": f"BENCH{n:04d}"},
        lambda n: {"user": "bob@contoso.com", "command": "Sync"},
    ]
    return [{**shapes[n % len(shapes)](n), "action": "http", "status": 503}
            for n in range(count)]


async def load_rules(base: str, count: int) -> None:
    async with aiohttp.ClientSession() as session:
        for rule in idle_rules(count):
            async with session.post(f"{base}/admin/api/v1/faults", json=rule,
                                    headers=ADMIN) as response:
                if response.status != 201:
                    raise RuntimeError(f"rule refused: {await response.text()}")


async def run(seconds: float, devices: int, rules: int) -> dict[str, Any]:
    cores = sorted(os.sched_getaffinity(0))
    server_core = cores[0]
    if len(cores) > 1:
        os.sched_setaffinity(0, set(cores[1:]))  # the client keeps off the server's core
    with tempfile.TemporaryDirectory() as directory:
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        with server_process(["gateway", "--dir", directory], port, server_core):
            prepared = await prepare(base, devices)
            before = await drive(base, prepared, seconds)
            await load_rules(base, rules)
            with_rules = await drive(base, prepared, seconds)
            async with aiohttp.ClientSession() as session, session.delete(
                    f"{base}/admin/api/v1/faults", headers=ADMIN) as response:
                response.raise_for_status()
            after = await drive(base, prepared, seconds)
    baseline = (before["requests_per_s"] + after["requests_per_s"]) / 2
    return {"no_rules_before": before, "with_rules": with_rules, "no_rules_after": after,
            "ratio": with_rules["requests_per_s"] / baseline, "target": TARGET,
            "rules": rules, "devices": devices, "seconds": seconds}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_faults")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--devices", type=int, default=8)
    parser.add_argument("--rules", type=int, default=1000)
    args = parser.parse_args(argv)
    result = asyncio.run(run(args.seconds, args.devices, args.rules))
    if args.json:
        print(json.dumps(result))
        return 0
    for name, label in (("no_rules_before", "Sync, no fault rule"),
                        ("with_rules", f"Sync, {args.rules} idle fault rules"),
                        ("no_rules_after", "Sync, no fault rule again")):
        figures = result[name]
        print(f"{label}: {figures['requests_per_s']:.0f} req/s, p50 {figures['p50_ms']:.2f} ms, "
              f"p99 {figures['p99_ms']:.2f} ms, errors {figures['errors']}")
    print(f"sync with {args.rules} fault rules vs none = {result['ratio']:.3f}x "
          f"(target >= {TARGET:.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
