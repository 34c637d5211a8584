"""Two gateways for proxy mode: A in store mode with the demo tenant (``live_server``), and B
in proxy mode in front of it over HTTPS, trusting A's certificate through ``upstream_ca``.

B starts from an empty database: it gets the demo tenant's setting (contoso.com, mode off)
and no mailboxes; its users appear as they first sign in through it."""
from __future__ import annotations

import shutil
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from fake_upstream import FakeUpstream
from server_fixtures import ADMIN_TOKEN, LiveServer, running

from gateway.config import Address, Config
from gateway.tls import CERT_NAME, SELF_SIGNED_DIR

# The store-mode stories' helpers (clients, choice links, the admin API) serve here as well.
sys.path.insert(0, str(Path(__file__).parent.parent / "stories"))

ProxyFactory = Callable[..., AbstractAsyncContextManager[LiveServer]]


@pytest.fixture
def start_proxy(demo_database_template: Path, tmp_path: Path) -> ProxyFactory:
    """``async with start_proxy(upstream_url, **settings) as b``: a gateway in proxy mode
    on free ports (HTTP and HTTPS), its clock manual, in front of ``upstream_url``."""

    @asynccontextmanager
    async def start(upstream: str, **settings: Any) -> AsyncIterator[LiveServer]:
        directory = tmp_path / f"proxy{len(list(tmp_path.glob('proxy*')))}"
        directory.mkdir()
        shutil.copytree(demo_database_template / "var", directory / "var")  # its TLS pair
        config = Config(
            db_url=f"sqlite+aiosqlite:///{directory / 'proxy.db'}",
            http=Address("127.0.0.1", 0), https=Address("127.0.0.1", 0),
            var_dir=directory / "var", admin_token=ADMIN_TOKEN, clock_mode="manual",
            upstream=upstream, **settings)
        async with running(config) as server:
            yield server

    return start


@pytest.fixture
def template_certificate(demo_database_template: Path) -> Path:
    """The self-signed certificate every test gateway serves HTTPS with."""
    return demo_database_template / "var" / SELF_SIGNED_DIR / CERT_NAME


@pytest.fixture
async def proxy_server(live_server: LiveServer, start_proxy: ProxyFactory,
                       template_certificate: Path) -> AsyncIterator[LiveServer]:
    """B, in front of A (``live_server``) over HTTPS."""
    async with start_proxy(f"{live_server.https_url}/Microsoft-Server-ActiveSync",
                           upstream_ca=template_certificate) as server:
        yield server


@pytest.fixture
async def fake_upstream() -> AsyncIterator[FakeUpstream]:
    upstream = await FakeUpstream().start()
    try:
        yield upstream
    finally:
        await upstream.stop()
