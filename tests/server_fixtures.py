"""The live gateway for tests (a pytest plugin registered in tests/conftest.py).

``live_server`` starts the real application on real sockets — HTTP and HTTPS on
127.0.0.1, free ports — over a temporary SQLite database holding the demo tenant
(contoso.com: alice, bob, carol, password ``demo-pass``), with the clock in manual mode.
The demo database is built once per test session and copied for each test.

    async def test_something(live_server):
        answer = await live_server.eas("FolderSync", E("FolderHierarchy:FolderSync",
                                                       E("FolderHierarchy:SyncKey", "0")))
        assert answer.eas_status == 1

`eas` provisions the device first (once per user and DeviceId) unless ``provision=False``.

``pyactivesync_client(live_server, ...)`` gives the PyPI client pointed at the HTTPS port
with certificate checks off. It is synchronous (requests); since the server runs in the
test's own event loop, every call goes through a thread: ``await client.list_folders()``.
"""
from __future__ import annotations

import asyncio
import shutil
import socket
import warnings
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from lxml import etree

from gateway.app import create_app
from gateway.config import Address, Config
from gateway.limits import runner_options
from gateway.services import SERVICES, Services
from gateway.tls import SELF_SIGNED_DIR, ensure_self_signed, server_context
from protocol import wbxml
from protocol.xml import E, child, text
from store import open_store
from store.fixtures import load_demo_tenant

DEMO_PASSWORD = "demo-pass"
ADMIN_TOKEN = "test-admin-token"
DB_NAME = "easgate.db"

# A third-party client by default (iPhone Mail, SPEC §3), speaking the newest version.
DEFAULT_DEVICE = {"device_id": "TESTDEVICE0001", "device_type": "iPhone",
                  "user_agent": "Apple-iPhone14C2/2104.92", "version": "16.1"}


@dataclass
class EASAnswer:
    status: int  # HTTP
    headers: dict[str, str]
    body: bytes
    document: etree._Element | None  # the decoded WBXML answer, when it is one

    @property
    def eas_status(self) -> int | None:
        """The top-level Status of the answer document (None when there is none)."""
        if self.document is None:
            return None
        value = text(self.document, _status_tag(self.document))
        return int(value) if value and value.isdigit() else None


def _status_tag(document: etree._Element) -> str:
    page = etree.QName(document).namespace or ""
    return f"{{{page}}}Status"


@dataclass
class LiveServer:
    http_url: str
    https_url: str
    admin_token: str
    app: web.Application
    password: str = DEMO_PASSWORD
    _session: aiohttp.ClientSession | None = None
    _policy_keys: dict[tuple[str, str], str] = field(default_factory=dict)

    @property
    def services(self) -> Services:
        return self.app[SERVICES]

    @property
    def store(self):  # type: ignore[no-untyped-def]
        return self.services.store

    @property
    def clock(self):  # type: ignore[no-untyped-def]
        return self.services.clock

    @property
    def http_port(self) -> int:
        return int(self.http_url.rsplit(":", 1)[1])

    @property
    def https_port(self) -> int:
        return int(self.https_url.rsplit(":", 1)[1])

    @property
    def endpoint(self) -> str:
        return f"{self.http_url}/Microsoft-Server-ActiveSync"

    async def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession()
        return self._session

    async def eas(
        self,
        command: str,
        document: etree._Element | bytes | None = None,
        *,
        user: str = "alice@contoso.com",
        password: str | None = None,
        device_id: str = DEFAULT_DEVICE["device_id"],
        device_type: str = DEFAULT_DEVICE["device_type"],
        user_agent: str = DEFAULT_DEVICE["user_agent"],
        version: str = DEFAULT_DEVICE["version"],
        policy_key: str | None = None,
        provision: bool = True,
        headers: dict[str, str] | None = None,
        params: dict[str, str] | None = None,
        timeout: float = 30.0,
    ) -> EASAnswer:
        """POST one command in the plain query form; ``document`` is an element (encoded
        here) or raw bytes sent as they are."""
        if policy_key is None and provision and command != "Provision":
            policy_key = await self.provision(user=user, password=password,
                                              device_id=device_id, device_type=device_type,
                                              user_agent=user_agent, version=version)
        query = {"Cmd": command, "User": user, "DeviceId": device_id, "DeviceType": device_type}
        query.update(params or {})
        sent = {"MS-ASProtocolVersion": version, "User-Agent": user_agent,
                "Content-Type": "application/vnd.ms-sync.wbxml"}
        if policy_key:
            sent["X-MS-PolicyKey"] = policy_key
        sent.update(headers or {})
        body = wbxml.encode(document) if isinstance(document, etree._Element) else document
        return await self.post(query, body or b"", sent, user=user, password=password,
                               timeout=timeout)

    async def post(self, query: dict[str, str] | str, body: bytes, headers: dict[str, str], *,
                   user: str | None = "alice@contoso.com", password: str | None = None,
                   timeout: float = 30.0) -> EASAnswer:
        """A raw POST to the endpoint (a query dict, or a ready query string)."""
        session = await self.session()
        if user:
            headers = {"Authorization": basic_auth(user, password or self.password), **headers}
        url = self.endpoint + (f"?{query}" if isinstance(query, str) else "")
        async with session.post(url, params=None if isinstance(query, str) else query,
                                data=body, headers=headers,
                                timeout=aiohttp.ClientTimeout(total=timeout)) as response:
            return await _answer(response)

    async def provision(self, *, user: str = "alice@contoso.com", password: str | None = None,
                        device_id: str = DEFAULT_DEVICE["device_id"],
                        device_type: str = DEFAULT_DEVICE["device_type"],
                        user_agent: str = DEFAULT_DEVICE["user_agent"],
                        version: str = DEFAULT_DEVICE["version"]) -> str:
        """The two Provision round trips (MS-ASPROV 3.1.5.1); returns the final policy key.
        Remembered per (user, DeviceId)."""
        remembered = self._policy_keys.get((user.lower(), device_id))
        if remembered:
            return remembered
        common: dict[str, Any] = {"user": user, "password": password, "device_id": device_id,
                                  "device_type": device_type, "user_agent": user_agent,
                                  "version": version, "provision": False}
        first = await self.eas("Provision", provision_request(), **common)
        temporary = _policy_key_of(first)
        second = await self.eas("Provision", provision_request(temporary), **common,
                                policy_key=temporary)
        final = _policy_key_of(second)
        self._policy_keys[(user.lower(), device_id)] = final
        return final

    async def admin(self, method: str, path: str, json: Any = None) -> tuple[int, Any]:
        """Call the admin API (``path`` after /admin/api/v1) with the bearer token."""
        session = await self.session()
        async with session.request(
            method, f"{self.http_url}/admin/api/v1{path}", json=json,
            headers={"Authorization": f"Bearer {self.admin_token}"},
        ) as response:
            payload = await response.json(content_type=None) if response.content_length else None
            return response.status, payload

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()


def basic_auth(user: str, password: str = DEMO_PASSWORD) -> str:
    """The value of an ``Authorization: Basic`` header."""
    return aiohttp.encode_basic_auth(user, password)


def provision_request(policy_key: str | None = None) -> etree._Element:
    """An initial (no key) or acknowledging Provision document."""
    policy = E("Provision:Policy", E("Provision:PolicyType", "MS-EAS-Provisioning-WBXML"))
    if policy_key is not None:
        policy.append(E("Provision:PolicyKey", policy_key))
        policy.append(E("Provision:Status", "1"))
    return E("Provision:Provision", E("Provision:Policies", policy))


def _policy_key_of(answer: EASAnswer) -> str:
    if answer.document is None:
        raise AssertionError(f"Provision answered HTTP {answer.status} without a document")
    policies = child(answer.document, "Provision:Policies")
    policy = child(policies, "Provision:Policy") if policies is not None else None
    key = text(policy, "Provision:PolicyKey") if policy is not None else None
    if not key:
        raise AssertionError(f"Provision gave no PolicyKey (status {answer.eas_status})")
    return key


async def _answer(response: aiohttp.ClientResponse) -> EASAnswer:
    body = await response.read()
    document = None
    if body and response.content_type == "application/vnd.ms-sync.wbxml":
        document = wbxml.decode(body)
    return EASAnswer(response.status, dict(response.headers), body, document)


# --- the fixtures ---------------------------------------------------------------------------
@pytest.fixture(scope="session")
def demo_database_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite database with the demo tenant, and a TLS certificate, made once."""
    directory = tmp_path_factory.mktemp("easgate-template")
    asyncio.run(_build_template(directory / DB_NAME))
    ensure_self_signed(directory / "var" / SELF_SIGNED_DIR, ["localhost", "127.0.0.1"])
    return directory


async def _build_template(path: Path) -> None:
    store = await open_store(f"sqlite+aiosqlite:///{path}")
    try:
        await load_demo_tenant(store)
    finally:
        await store.close()


@pytest.fixture
async def live_server(demo_database_template: Path, tmp_path: Path) -> AsyncIterator[LiveServer]:
    server_dir = tmp_path / "live"
    shutil.copytree(demo_database_template, server_dir)
    config = Config(
        db_url=f"sqlite+aiosqlite:///{server_dir / DB_NAME}",
        http=Address("127.0.0.1", 0),
        https=Address("127.0.0.1", 0),
        var_dir=server_dir / "var",
        admin_token=ADMIN_TOKEN,
        clock_mode="manual",
        load_demo=True,
    )
    async with running(config) as server:
        yield server


class running:
    """``async with running(config) as server``: the app on real sockets until the block
    ends (free ports when the configured port is 0), with the runner options ``easgate
    serve`` uses (gateway.limits: header sizes, the time to send headers; no access log)."""

    def __init__(self, config: Config):
        self.config = config
        self.runner: web.AppRunner | None = None
        self.server: LiveServer | None = None

    async def __aenter__(self) -> LiveServer:
        # Bind first, so that the links the gateway writes (notices, autodiscover) carry the
        # ports actually listened on.
        http_sock = _bound_socket(self.config.http)
        https_sock = _bound_socket(self.config.https)
        http_url = f"http://127.0.0.1:{_port(http_sock)}"
        if self.config.public_url is None and http_sock is not None:
            self.config = self.config.replace(public_url=http_url)
        app = create_app(self.config)
        # Held Pings must not keep a finished test waiting for its server to stop.
        self.runner = web.AppRunner(app, handle_signals=False, access_log=None,
                                    shutdown_timeout=1.0, **runner_options(self.config))
        await self.runner.setup()
        if http_sock is not None:
            await web.SockSite(self.runner, http_sock).start()
        if https_sock is not None:
            await web.SockSite(self.runner, https_sock,
                               ssl_context=server_context(self.config)).start()
        self.server = LiveServer(
            http_url=http_url,
            https_url=f"https://127.0.0.1:{_port(https_sock)}",
            admin_token=self.config.admin_token or "",
            app=app,
        )
        return self.server

    async def __aexit__(self, *exc: object) -> None:
        if self.server is not None:
            await self.server.close()
        if self.runner is not None:
            await self.runner.cleanup()


def _bound_socket(address: Address | None) -> socket.socket | None:
    if address is None:
        return None
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((address.host, address.port))
    return sock


def _port(sock: socket.socket | None) -> int:
    return sock.getsockname()[1] if sock is not None else 0


# --- pyactivesync -------------------------------------------------------------------------
class ThreadedClient:
    """A pyactivesync Client whose every method is awaited through a thread (the server
    lives in this thread's event loop). ``.sync`` is the Client itself."""

    def __init__(self, client: Any):
        self.sync = client

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self.sync, name)
        if not callable(attribute):
            return attribute

        async def call(*args: Any, **kwargs: Any) -> Any:
            return await asyncio.to_thread(attribute, *args, **kwargs)

        return call


def pyactivesync_client(
    live_server: LiveServer,
    *,
    user: str = "alice@contoso.com",
    password: str = DEMO_PASSWORD,
    device_id: str = "PYACTIVESYNC0001",
    device_type: str = "iPhone",
    user_agent: str = "Apple-iPhone14C2/2104.92",
    timeout: float = 30.0,
) -> ThreadedClient:
    """pyactivesync 0.17.0 against the live server's HTTPS port. Its Transport always uses
    ``https://{server}/Microsoft-Server-ActiveSync`` and sends EAS 16.1: we give it
    127.0.0.1:<port>, turn certificate checks off and set the User-Agent on its session
    (test-side settings only; the server treats it as any client)."""
    import urllib3
    from pyactivesync import Client

    warnings.filterwarnings("ignore", category=urllib3.exceptions.InsecureRequestWarning)
    client = Client(f"127.0.0.1:{live_server.https_port}", user, password,
                    device_id=device_id, device_type=device_type, verify_ssl=False,
                    timeout=timeout)
    session = client._transport.session
    session.headers["User-Agent"] = user_agent
    # requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE override ``verify=False``, and proxy
    # variables must not catch loopback traffic: this session ignores the environment.
    session.trust_env = False
    return ThreadedClient(client)
