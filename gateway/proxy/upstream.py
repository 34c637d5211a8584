"""The connection to the upstream EAS server: one aiohttp client session for the app's life.

The session is set up to change nothing on the way: no redirects followed (the client is
told, as an EAS client expects), no compression undone (bytes pass as they came), no
cookies kept (they would cross from one user's request to another's), nothing taken from
the environment (proxy variables must not catch this traffic), and no cap on connections
(every held Ping is one open request).

Every failure to get an answer — refused, unresolvable, a bad certificate, silence past the
timeout, the connection cut — becomes `Unavailable` with a short reason, which the caller
answers with HTTP 503 and ``Retry-After``.
"""
from __future__ import annotations

from collections.abc import Mapping

import aiohttp
from multidict import CIMultiDict
from yarl import URL

from gateway.proxy.headers import CLIENT_DEFAULTS
from gateway.proxy.settings import UpstreamSettings

# The reasons `Unavailable` gives, also the label values of the metric that counts them.
CONNECT, TLS, TIMEOUT, DISCONNECTED, ERROR = "connect", "tls", "timeout", "disconnected", "error"


class Unavailable(Exception):
    """The upstream gave no usable answer."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


def unavailable_from(error: BaseException) -> Unavailable:
    """The `Unavailable` that an aiohttp or timeout error stands for."""
    detail = " ".join(str(error).split())[:200] or type(error).__name__
    if isinstance(error, aiohttp.ClientSSLError | aiohttp.ServerFingerprintMismatch):
        return Unavailable(TLS, detail)
    if isinstance(error, aiohttp.ClientConnectorError):
        return Unavailable(CONNECT, detail)
    if isinstance(error, TimeoutError):
        return Unavailable(TIMEOUT, detail)
    if isinstance(error, aiohttp.ServerDisconnectedError | aiohttp.ClientOSError
                  | aiohttp.ClientPayloadError):
        return Unavailable(DISCONNECTED, detail)
    return Unavailable(ERROR, detail)


class Upstream:
    def __init__(self, settings: UpstreamSettings):
        self.settings = settings
        self._session: aiohttp.ClientSession | None = None

    @property
    def url(self) -> URL:
        return self.settings.url

    async def start(self) -> None:
        connector = aiohttp.TCPConnector(ssl=self.settings.ssl, limit=0)
        self._session = aiohttp.ClientSession(
            connector=connector, auto_decompress=False, trust_env=False,
            cookie_jar=aiohttp.DummyCookieJar(), skip_auto_headers=CLIENT_DEFAULTS,
        )

    async def stop(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def send(self, method: str, query_string: str, headers: Mapping[str, str],
                   body: bytes = b"", *, wait_s: float = 0.0) -> aiohttp.ClientResponse:
        """Send one request and return the upstream's answer as soon as its headers are in
        (the body is read by the caller, who must release the answer). ``wait_s`` is how
        long the upstream may rightly hold the request (a Ping's heartbeat)."""
        assert self._session is not None, "Upstream.start() first"
        timeout = aiohttp.ClientTimeout(
            total=None, connect=self.settings.connect_timeout_s,
            sock_read=wait_s + self.settings.idle_timeout_s)
        try:
            return await self._session.request(
                method, self.target(query_string), headers=CIMultiDict(headers),
                data=body if body or method == "POST" else None,
                allow_redirects=False, timeout=timeout)
        except (TimeoutError, aiohttp.ClientError) as error:
            raise unavailable_from(error) from None

    def target(self, query_string: str) -> URL:
        """The upstream endpoint with the client's query exactly as it was sent (the
        base64 form included: it is opaque to the gateway on the way through)."""
        if not query_string:
            return self.url
        return URL(f"{self.url}?{query_string}", encoded=True)
