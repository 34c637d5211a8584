"""A stand-in upstream EAS server that records what reaches it, for checking the proxy's
wire behaviour byte by byte (headers, query, body) and its answers to a failing upstream.

It accepts ``alice@contoso.com``, ``CONTOSO\\alice``, ``alice`` and ``dave@fabrikam.com``
with ``demo-pass`` (OPTIONS 200; anything else 401 with its own realm). A POST is answered
by ``answer`` (replaceable per test); by default a WBXML FolderSync-shaped document with
Status 1 and a few headers of its own."""
from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiohttp import web
from server_fixtures import basic_auth

from protocol import wbxml
from protocol.xml import E

GOOD_AUTH = {basic_auth(login, "demo-pass")
             for login in ("alice@contoso.com", "CONTOSO\\alice", "alice", "dave@fabrikam.com")}
REALM = 'Basic realm="upstream-realm"'
WBXML = "application/vnd.ms-sync.wbxml"


@dataclass
class Seen:
    method: str
    query_string: str
    headers: list[tuple[str, str]]
    body: bytes


def status_document(status: int = 1) -> bytes:
    return wbxml.encode(E("FolderHierarchy:FolderSync", E("FolderHierarchy:Status", status)))


async def default_answer(request: web.Request) -> web.StreamResponse:
    response = web.Response(body=status_document(), content_type=WBXML)
    response.headers["X-Upstream-Only"] = "kept"
    response.headers["MS-Server-ActiveSync"] = "15.1"
    return response


@dataclass
class FakeUpstream:
    url: str = ""
    seen: list[Seen] = field(default_factory=list)
    answer: Callable[[web.Request], Awaitable[web.StreamResponse]] = default_answer
    runner: web.AppRunner | None = None

    @property
    def posts(self) -> list[Seen]:
        return [s for s in self.seen if s.method == "POST"]

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.seen.append(Seen(request.method, request.rel_url.raw_query_string,
                              list(request.headers.items()), await request.read()))
        if request.headers.get("Authorization") not in GOOD_AUTH:
            return web.Response(status=401, headers={"WWW-Authenticate": REALM})
        if request.method == "OPTIONS":
            return web.Response(headers={"MS-ASProtocolVersions": "14.1,16.1",
                                         "MS-ASProtocolCommands": "Sync,FolderSync,Ping"})
        return await self.answer(request)

    async def start(self) -> FakeUpstream:
        app = web.Application()
        app.router.add_route("*", "/Microsoft-Server-ActiveSync", self.handle)
        self.runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=0.5)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = self.runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}/Microsoft-Server-ActiveSync"
        return self

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()


async def never_answers(request: web.Request) -> web.StreamResponse:
    await asyncio.sleep(3600)
    raise AssertionError("unreachable")
