"""The admin page's tests run against the live server (tests/server_fixtures.py)."""
from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from admin_helpers import Browser


@pytest.fixture
async def admin_browser(live_server) -> AsyncIterator[Browser]:
    browser = Browser(live_server.http_url)
    await browser.sign_in(live_server.admin_token)
    yield browser
    await browser.close()
