"""The admin page's tests run against the live server (tests/server_fixtures.py)."""
from __future__ import annotations

import re
from collections.abc import AsyncIterator

import aiohttp
import pytest


class Browser:
    """A signed-in HTTP client of the admin page (cookies kept, redirects not followed)."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        self.csrf = ""

    async def sign_in(self, token: str) -> None:
        async with self.session.post(f"{self.base_url}/admin/login",
                                     data={"token": token, "next": "/admin"},
                                     allow_redirects=False) as response:
            assert response.status == 303, await response.text()
        page = await self.get("/admin")
        self.csrf = re.search(r'name="csrf" value="([^"]+)"', page[1]).group(1)

    async def get(self, path: str) -> tuple[int, str]:
        async with self.session.get(f"{self.base_url}{path}", allow_redirects=False) as r:
            return r.status, await r.text()

    async def post(self, path: str, data: dict[str, str], *, csrf: str | None = None
                   ) -> tuple[int, str, dict[str, str]]:
        form = {"csrf": self.csrf if csrf is None else csrf, **data}
        async with self.session.post(f"{self.base_url}{path}", data=form,
                                     allow_redirects=False) as r:
            return r.status, await r.text(), dict(r.headers)

    async def close(self) -> None:
        await self.session.close()


@pytest.fixture
async def admin_browser(live_server) -> AsyncIterator[Browser]:
    browser = Browser(live_server.http_url)
    await browser.sign_in(live_server.admin_token)
    yield browser
    await browser.close()
