"""Store growth: does an incremental sync cost the same in a huge folder as in a small one?

For each engine (SQLite in a temporary directory, PostgreSQL in a scratch schema of
EASGATE_TEST_PG_URL): bulk-load 100,000 items into one folder (reporting items/s), 100 into
another, change one item in each, and time `changes_since` for that one change in both.
The small folder is the baseline measured in the same run; the target is a ratio <= 1.2.

    python -m benchmarks.bench_store [--json] [--items N] [--engine sqlite|postgres]
"""
from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from store import FolderType, NewItem, Store, Tenant
from store.testing import ENGINES, scratch_store

SMALL = 100
BATCH = 10_000
ROUNDS = 300
BODY = "Lorem ipsum dolor sit amet, consectetur adipiscing elit. " * 4


def _items(count: int, start: int = 0) -> list[NewItem]:
    return [
        NewItem("Email", {"Subject": f"Message {n}", "From": "dana@fabrikam.com",
                          "DateReceived": "2026-11-20T09:15:00.000Z"}, body_text=BODY)
        for n in range(start, start + count)
    ]


async def _load(store: Store, user_id: int, folder_id: str, count: int) -> float:
    """Bulk-load ``count`` items; returns items per second."""
    started = time.perf_counter()
    for start in range(0, count, BATCH):
        await store.add_items_bulk(user_id, folder_id, _items(min(BATCH, count - start), start))
    return count / (time.perf_counter() - started)


async def _one_change_timer(store: Store, user_id: int, folder_id: str):  # type: ignore[no-untyped-def]
    """Change one item, and return a coroutine function timing the sync that fetches it."""
    before = await store.folder_position(user_id, folder_id)
    await store.update_item(user_id, f"{folder_id}:1", read=True)

    async def once() -> float:
        started = time.perf_counter()
        page = await store.changes_since(user_id, folder_id, before, limit=100)
        elapsed = time.perf_counter() - started
        assert len(page.changes) == 1 and not page.more_available
        return elapsed

    return once


async def bench_engine(engine: str, items: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as directory:
        async with scratch_store(engine, Path(directory)) as store:
            await store.put_tenant(Tenant(domain="bench.example"))
            user = await store.create_user("bench@bench.example", "x", "Bench")
            big = await store.create_folder(user.id, "2", "Big", FolderType.USER_MAIL)
            small = await store.create_folder(user.id, "2", "Small", FolderType.USER_MAIL)
            rate = await _load(store, user.id, big.id, items)
            await _load(store, user.id, small.id, SMALL)
            time_big = await _one_change_timer(store, user.id, big.id)
            time_small = await _one_change_timer(store, user.id, small.id)
            for _ in range(20):  # warm caches and connection pool alike
                await time_big()
                await time_small()
            big_times, small_times = [], []
            for _ in range(ROUNDS):  # interleaved, so drift hits both alike
                big_times.append(await time_big())
                small_times.append(await time_small())
    big_ms = statistics.median(big_times) * 1000
    small_ms = statistics.median(small_times) * 1000
    return {"engine": engine, "items": items, "bulk_items_per_s": round(rate),
            "big_ms": round(big_ms, 3), "small_ms": round(small_ms, 3),
            "ratio": round(big_ms / small_ms, 3)}


def _describe(result: dict[str, Any]) -> str:
    k = result["items"] // 1000
    return (
        f"store changes_since 1 change, {k}k vs {SMALL} items ({result['engine']}): "
        f"{result['big_ms']:.2f} ms vs {result['small_ms']:.2f} ms = {result['ratio']:.2f}x "
        f"(target <= 1.2x)\n"
        f"store bulk load ({result['engine']}): {result['bulk_items_per_s']:,} items/s"
    )


async def main_async(engines: list[str], items: int) -> list[dict[str, Any]]:
    return [await bench_engine(engine, items) for engine in engines]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--items", type=int, default=100_000, help="items in the big folder")
    parser.add_argument("--engine", choices=ENGINES, action="append",
                        help="engine(s) to measure (default: both)")
    args = parser.parse_args()
    results = asyncio.run(main_async(args.engine or list(ENGINES), args.items))
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        for result in results:
            print(_describe(result))


if __name__ == "__main__":
    main()
