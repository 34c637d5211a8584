"""A live gateway (`server_fixtures.running`, so with the connection bounds of `easgate
serve`) over settings chosen per test, small enough that a limit is reached in a fraction
of a second.

A conftest that wants it imports the fixture: ``from served import limited_server``."""
from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from server_fixtures import ADMIN_TOKEN, DB_NAME, LiveServer, running

from gateway.config import Address, Config

LimitedServer = Callable[..., AbstractAsyncContextManager[LiveServer]]


@pytest.fixture
def limited_server(demo_database_template: Path, tmp_path: Path) -> LimitedServer:
    """``async with limited_server(auth_fail_limit_login=3) as server``: the demo tenant
    behind the gateway started as ``easgate serve`` starts it, HTTP only."""

    @asynccontextmanager
    async def start(**settings: Any) -> AsyncIterator[LiveServer]:
        directory = tmp_path / f"limited{len(list(tmp_path.iterdir()))}"
        shutil.copytree(demo_database_template, directory)
        config = Config(db_url=f"sqlite+aiosqlite:///{directory / DB_NAME}",
                        http=Address("127.0.0.1", 0), https=None,
                        var_dir=directory / "var", admin_token=ADMIN_TOKEN,
                        clock_mode="manual", **settings)
        async with running(config) as server:
            server.store_path = directory / DB_NAME  # the SQLite file, for tests that read it raw
            yield server

    return start
