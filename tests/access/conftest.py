"""``world``: the access service over a real store, once on SQLite and once on PostgreSQL
(deadline queries and time comparisons are the engines' business)."""
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from access_world import World, make_world


@pytest.fixture
async def world(tmp_path: Path, store_engine: str) -> AsyncIterator[World]:
    async with make_world(tmp_path, store_engine) as built:
        yield built
