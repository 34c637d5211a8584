"""A live gateway with the connection bounds of `easgate serve` (gateway.limits) and
settings chosen per test, small enough that a limit is reached in a fraction of a second.

A conftest that wants it imports the fixture: ``from served import limited_server``."""
from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from server_fixtures import ADMIN_TOKEN, DB_NAME, LiveServer

from gateway.app import create_app
from gateway.config import Config
from gateway.limits import runner_options

LimitedServer = Callable[..., AbstractAsyncContextManager[LiveServer]]


@pytest.fixture
def limited_server(demo_database_template: Path, tmp_path: Path) -> LimitedServer:
    """``async with limited_server(auth_fail_limit_login=3) as server``: the demo tenant
    behind the gateway started as ``easgate serve`` starts it, HTTP only."""

    @asynccontextmanager
    async def start(**settings: Any) -> AsyncIterator[LiveServer]:
        directory = tmp_path / f"limited{len(list(tmp_path.iterdir()))}"
        shutil.copytree(demo_database_template, directory)
        config = Config(db_url=f"sqlite+aiosqlite:///{directory / DB_NAME}", https=None,
                        var_dir=directory / "var", admin_token=ADMIN_TOKEN,
                        clock_mode="manual", **settings)
        app = create_app(config)
        runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=1.0,
                               **runner_options(config))
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        server = LiveServer(http_url=f"http://127.0.0.1:{port}", https_url="",
                            admin_token=ADMIN_TOKEN, app=app)
        server.store_path = directory / DB_NAME  # the SQLite file, for tests that read it raw
        try:
            yield server
        finally:
            await server.close()
            await runner.cleanup()

    return start
