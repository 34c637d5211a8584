from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from access_world import World, make_world


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    async with make_world(tmp_path) as built:
        yield built
