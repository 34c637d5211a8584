"""Store fixtures any test may use (registered by tests/conftest.py):

- ``store``: an empty, migrated store, once on SQLite and once on PostgreSQL;
- ``sqlite_store``: the same on SQLite only;
- ``store_engine``: the engine name of the current ``store`` parameter.

PostgreSQL is ``EASGATE_TEST_PG_URL`` (default postgres@127.0.0.1:5432/test); each test gets
its own schema, dropped afterwards. An unreachable server fails the test, never skips it.
"""
from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from store import Store
from store.testing import ENGINES, scratch_store


@pytest.fixture(params=ENGINES)
def store_engine(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
async def store(store_engine: str, tmp_path: Path) -> AsyncIterator[Store]:
    async with scratch_store(store_engine, tmp_path) as opened:
        yield opened


@pytest.fixture
async def sqlite_store(tmp_path: Path) -> AsyncIterator[Store]:
    async with scratch_store("sqlite", tmp_path) as opened:
        yield opened
