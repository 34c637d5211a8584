"""An EAS client of our own: one device of one user, speaking 12.1 to 16.1 over aiohttp.

It knows the wire (query forms, headers, WBXML, Basic auth, the policy key) and nothing of
any app's habits: `emulator.session` drives it the way a given app does. Every round trip
gives back an `Exchange`, whatever the server answered; only a transport failure (refused,
reset, timed out) or an answer that is not EAS raises `TransportError`.
"""
from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

import aiohttp
from multidict import CIMultiDict

from emulator import documents
from emulator.profiles import Profile
from emulator.query import encode as encode_query
from protocol import wbxml
from protocol.request import EASRequest
from protocol.xml import Element

ENDPOINT = "/Microsoft-Server-ActiveSync"
AUTODISCOVER = "/autodiscover/autodiscover.xml"
WBXML_TYPE = "application/vnd.ms-sync.wbxml"
AUTODISCOVER_REQUEST = (
    '<?xml version="1.0" encoding="utf-8"?>\n'
    '<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/mobilesync/'
    'requestschema/2006"><Request><EMailAddress>{address}</EMailAddress>'
    "<AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/mobilesync/"
    "responseschema/2006</AcceptableResponseSchema></Request></Autodiscover>"
)
DEFAULT_TIMEOUT = 60.0


class TransportError(RuntimeError):
    """The round trip failed below EAS: no answer, a broken connection, or a body that is
    not the WBXML it claims to be."""

    def __init__(self, command: str, reason: str):
        super().__init__(f"{command}: {reason}")
        self.command = command
        self.reason = reason


@dataclass(frozen=True)
class Account:
    address: str  # alice@contoso.com
    password: str


@dataclass
class Exchange:
    """One request and its answer."""

    command: str
    http_status: int
    document: Element | None = None  # the decoded answer, None when the body was empty
    headers: Mapping[str, str] = field(default_factory=CIMultiDict)  # names in any case
    elapsed: float = 0.0  # seconds, request sent to answer read
    body: bytes = b""  # the raw answer when it is not WBXML (OPTIONS, Autodiscover)

    @property
    def status(self) -> int | None:
        """The answer's top-level EAS Status, None when it has none."""
        return documents.top_status(self.document)


def endpoint_url(url: str) -> str:
    """The ActiveSync endpoint of a server URL given with or without the path."""
    parts = urlsplit(url if "://" in url else f"http://{url}")
    path = parts.path.rstrip("/")
    if not path.lower().endswith(ENDPOINT.lower()):
        path = path + ENDPOINT
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def server_root(url: str) -> str:
    """The scheme and host of a server URL: where /autodiscover and /choice live."""
    parts = urlsplit(url if "://" in url else f"http://{url}")
    return urlunsplit((parts.scheme, parts.netloc, "", "", ""))


class EASClient:
    def __init__(
        self,
        http: aiohttp.ClientSession,
        url: str,
        account: Account,
        profile: Profile,
        device_id: str,
        *,
        version: str | None = None,
        query_form: str | None = None,
    ):
        self.http = http
        self.endpoint = endpoint_url(url)
        self.root = server_root(url)
        self.account = account
        self.profile = profile
        self.device_id = device_id
        self.version = version or profile.version
        self.query_form = query_form or profile.query
        self.policy_key: str | None = None
        self._authorization = aiohttp.encode_basic_auth(account.address, account.password)

    # --- the three kinds of request ----------------------------------------------------
    async def options(self) -> Exchange:
        """OPTIONS: which versions and commands the server speaks."""
        return await self._round_trip("OPTIONS", "OPTIONS", self.endpoint, {}, None)

    async def autodiscover(self) -> Exchange:
        """The mobilesync Autodiscover request for this account (plain XML both ways)."""
        body = AUTODISCOVER_REQUEST.format(address=self.account.address).encode("utf-8")
        headers = {"Content-Type": "text/xml; charset=utf-8"}
        return await self._round_trip(
            "Autodiscover", "POST", self.root + AUTODISCOVER, headers, body, wbxml_answer=False)

    async def command(
        self,
        command: str,
        document: Element | None = None,
        *,
        raw_body: bytes | None = None,
        content_type: str = WBXML_TYPE,
        timeout: float = DEFAULT_TIMEOUT,
        save_in_sent: bool = False,
        **parameters: str,
    ) -> Exchange:
        """POST one command. ``document`` is encoded to WBXML; ``raw_body`` is sent as is
        (SendMail on 12.1 posts MIME). ``parameters`` are query parameters by EASRequest
        field name (``collection_id=…``, ``item_id=…``)."""
        request = EASRequest(
            command=command, device_id=self.device_id, device_type=self.profile.device_type,
            protocol_version=self.version, user=self.account.address,
            policy_key=self.policy_key, save_in_sent=save_in_sent, **parameters,
        )
        query, headers = encode_query(request, self.query_form)
        body = wbxml.encode(document) if document is not None else (raw_body or b"")
        if body:
            headers["Content-Type"] = content_type
        return await self._round_trip(
            command, "POST", f"{self.endpoint}?{query}", headers, body, timeout=timeout)

    # --- the wire ----------------------------------------------------------------------
    async def _round_trip(
        self, command: str, method: str, url: str, headers: dict[str, str], body: bytes | None,
        *, wbxml_answer: bool = True, timeout: float = DEFAULT_TIMEOUT,
    ) -> Exchange:
        headers = {"User-Agent": self.profile.user_agent,
                   "Authorization": self._authorization, **headers}
        started = time.perf_counter()
        try:
            async with self.http.request(
                method, url, data=body or None, headers=headers,
                timeout=aiohttp.ClientTimeout(total=timeout), allow_redirects=False,
            ) as answer:
                payload = await answer.read()
                elapsed = time.perf_counter() - started
                exchange = Exchange(command, answer.status,
                                    headers=CIMultiDict(answer.headers), elapsed=elapsed)
        except TimeoutError:
            raise TransportError(command, f"no answer within {timeout:.0f} s") from None
        except aiohttp.ClientError as error:
            raise TransportError(command, f"{type(error).__name__}: {error}") from None
        if wbxml_answer and payload and answer.content_type == WBXML_TYPE:
            try:
                exchange.document = wbxml.decode(payload)
            except wbxml.WBXMLError as error:
                raise TransportError(command, f"the answer is not valid WBXML: {error}") from None
        else:
            exchange.body = payload
        return exchange
