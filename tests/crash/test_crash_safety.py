"""The gateway killed with SIGKILL 20 times under load from emulated clients, on SQLite
(WAL) and on PostgreSQL: nothing a client was told was stored is lost, no SyncKey a client
holds is refused, no access state goes back, no contact and no notice is stored twice
(see harness.py)."""
from __future__ import annotations

import sqlite3

import pytest
from harness import run

KILLS = 20


@pytest.mark.timeout(240)
@pytest.mark.parametrize("engine", ["sqlite", "postgres"])
async def test_twenty_kills_lose_nothing(engine, tmp_path):
    report = await run(engine, tmp_path, kills=KILLS, seed=20261127,
                       outlook_devices=3, third_party_devices=4)
    print(report.summary())
    assert report.kills == KILLS
    assert report.problems == []
    assert report.lost == 0
    assert report.doubled == 0
    # The run did what it claims: clients were told things, and kills cut requests.
    assert report.items_checked >= 20
    assert report.keys_checked >= 10
    assert report.notices_checked >= 3
    assert report.transport_errors >= 1
    if engine == "sqlite":  # the journal mode that makes a commit survive a killed process
        journal = sqlite3.connect(tmp_path / "crash.db").execute("PRAGMA journal_mode")
        assert journal.fetchone()[0] == "wal"
