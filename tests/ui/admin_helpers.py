"""Helpers of the admin page's tests: a signed-in HTTP client, an iPhone's first sync."""
from __future__ import annotations

import re
from typing import Any

import aiohttp

from protocol.xml import E, qname, text


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


async def sync_inbox(live_server: Any) -> Any:
    """What an iPhone does after first contact: FolderSync, then Sync of the Inbox from
    SyncKey 0 to its first changes. Returns the last Sync answer."""
    hierarchy = await live_server.eas("FolderSync", E("FolderHierarchy:FolderSync",
                                                      E("FolderHierarchy:SyncKey", "0")))
    inbox = next(text(add, "FolderHierarchy:ServerId")
                 for add in hierarchy.document.iter(qname("FolderHierarchy:Add"))
                 if text(add, "FolderHierarchy:Type") == "2")
    key = "0"
    for _ in range(2):
        answer = await live_server.eas("Sync", E("AirSync:Sync", E("AirSync:Collections",
                                       E("AirSync:Collection", E("AirSync:SyncKey", key),
                                         E("AirSync:CollectionId", inbox)))))
        key = text(next(answer.document.iter(qname("AirSync:SyncKey"))))
    return answer
