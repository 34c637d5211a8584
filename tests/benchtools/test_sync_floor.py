"""The Sync round-trip benchmark's floor server (benchmarks/bench_sync_roundtrip.py): the
reference the gateway's figure is read against must do the work it claims — check the
credentials, read and write the sync state in SQLite, answer the one item in WBXML."""
from __future__ import annotations

import sqlite3
from pathlib import Path

from aiohttp.test_utils import TestClient, TestServer

from benchmarks import bench_sync_roundtrip as bench
from protocol import wbxml
from protocol.xml import text


async def _post(client: TestClient, key: str, authorization: str = bench.AUTHORIZATION):
    params, headers = bench.request_line("Sync", "FLOOR1", "")
    headers["Authorization"] = authorization
    return await client.post("/Microsoft-Server-ActiveSync", params=params, headers=headers,
                             data=wbxml.encode(bench.sync_document(key)))


async def test_the_floor_answers_the_change_and_writes_the_state(tmp_path: Path) -> None:
    async with TestClient(TestServer(bench.floor_app(tmp_path))) as client:
        response = await _post(client, "3")
        assert response.status == 200
        answer = wbxml.decode(await response.read())
        refused = await _post(client, "3", authorization="Basic bm9ib2R5Om5vcGU=")
        assert refused.status == 401
    collection = answer.find(".//{AirSync:}Collection")
    assert text(collection, "AirSync:SyncKey") == "3"
    assert text(collection, "AirSync:Status") == "1"
    assert answer.findtext(".//{AirSync:}Add/{AirSync:}ServerId") == "2:1"
    assert answer.findtext(".//{Email:}Subject") == "Bench"
    with sqlite3.connect(tmp_path / "floor.db") as database:
        states = database.execute("SELECT device, folder, sync_key FROM state").fetchall()
    assert states == [("FLOOR1", "2", "3")]
