"""What an injected fault does to one exchange.

Two moments, both called by the dispatcher (gateway/http.py) after the access check:

- `Injection.before_command`: ``http``, ``status`` and ``drop-before`` take the command's
  place (it never runs: nothing is written); ``reset-state`` forgets the device's sync state
  and lets the command run, so the client meets its invalid-SyncKey status as after a
  server-side restore; the other actions let the command run untouched.
- `Injection.deliver`: alters the answer on its way out — ``delay`` holds it, ``slow``
  trickles it at N bytes/s, ``truncate`` keeps its first N bytes (a complete HTTP answer
  whose body is cut), ``corrupt`` inverts N of its bytes at seeded places, and
  ``drop-before``/``drop-after`` close the connection with no answer at all. After
  ``drop-after`` the command has committed: the client's resend with the same SyncKey gets
  the same answer again (gateway/synckeys.py), so nothing is lost and nothing doubled.

Every injected answer that reaches the client carries ``X-Easgate-Fault: <rule id>``.
"""
from __future__ import annotations

import asyncio
import contextlib
import random
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aiohttp import web
from lxml import etree

from gateway.errors import failure_answer
from gateway.faults.engine import Firing
from gateway.faults.rules import describe
from protocol import wbxml

if TYPE_CHECKING:
    from gateway.exchange import Exchange
    from gateway.services import Services
    from protocol.request import EASRequest
    from store.types import Device

FAULT_HEADER = "X-Easgate-Fault"
WBXML_CONTENT_TYPE = "application/vnd.ms-sync.wbxml"
REPLACING = frozenset({"http", "status", "drop-before"})
DROPPING = frozenset({"drop-before", "drop-after"})
SLOW_WRITES_PER_S = 10  # a slow answer goes out in this many writes per second


@dataclass(frozen=True)
class Replacement:
    """The answer an injected fault gives instead of running the command."""

    response: web.Response
    document: etree._Element | None = None


@dataclass(frozen=True)
class Injection:
    firing: Firing

    @property
    def action(self) -> str:
        return self.firing.rule.action

    @property
    def params(self) -> dict:
        return self.firing.rule.params

    def describe(self) -> str:
        """``rule 3: http 503 (Retry-After 5 s), fault 1`` for traces and audit rows."""
        return f"rule {self.firing.rule.id}: {describe(self.firing.rule)}, fault {self.firing.shot}"

    # --- before the command ------------------------------------------------------------
    async def before_command(self, eas: EASRequest, services: Services,
                             device: Device) -> Replacement | None:
        if self.action == "http":
            return Replacement(self._marked(http_answer(self.params, services.config.realm)))
        if self.action == "status":
            return self._status_answer(eas)
        if self.action == "drop-before":
            return Replacement(web.Response(status=200))  # never sent: `deliver` hangs up
        if self.action == "reset-state":
            await services.store.delete_sync_states(device.id)
        return None

    def _status_answer(self, eas: EASRequest) -> Replacement:
        answer = failure_answer(eas.command, self.params["status"], eas.protocol_version)
        if answer.document is None:  # a 12.1 client hears a global status as HTTP
            return Replacement(self._marked(web.Response(status=answer.http_status)))
        body = wbxml.encode(answer.document)
        response = web.Response(status=answer.http_status, body=body,
                                content_type=WBXML_CONTENT_TYPE)
        return Replacement(self._marked(response), answer.document)

    def _marked(self, response: web.StreamResponse) -> web.StreamResponse:
        response.headers[FAULT_HEADER] = str(self.firing.rule.id)
        return response

    # --- on the way out ----------------------------------------------------------------
    async def deliver(self, request: web.Request, response: web.StreamResponse,
                      exchange: Exchange) -> web.StreamResponse:
        """The answer as the client gets it (the exchange records what was sent)."""
        if self.action in DROPPING:
            hang_up(request)
            exchange.response_status, exchange.response_headers = 0, {}
            return response
        if self.action == "delay":
            await asyncio.sleep(self.params["ms"] / 1000)
            return self._marked(response)
        body = response.body if isinstance(response, web.Response) else None
        if not isinstance(body, bytes):
            return self._marked(response)
        if self.action == "truncate":
            return self._marked(_with_body(response, body[: self.params["bytes"]]))
        if self.action == "corrupt":
            return self._marked(_with_body(response, self._corrupted(body)))
        if self.action == "slow":
            return await self._trickle(request, response, body)
        return self._marked(response)

    def _corrupted(self, body: bytes) -> bytes:
        """``bytes`` of the body inverted at places drawn from (seed, fault number)."""
        rule = self.firing.rule
        places = random.Random(f"{rule.seed}:{self.firing.shot}").sample(
            range(len(body)), min(self.params["bytes"], len(body)))
        flipped = bytearray(body)
        for place in places:
            flipped[place] ^= 0xFF
        return bytes(flipped)

    async def _trickle(self, request: web.Request, response: web.Response,
                       body: bytes) -> web.StreamResponse:
        rate = self.params["bytes_per_s"]
        step = max(1, rate // SLOW_WRITES_PER_S)
        stream = web.StreamResponse(status=response.status, reason=response.reason,
                                    headers=_headers_without_length(response))
        stream.content_length = len(body)
        self._marked(stream)
        with contextlib.suppress(ConnectionError):  # the client may give up on us
            await stream.prepare(request)
            for start in range(0, len(body), step):
                await stream.write(body[start : start + step])
                await asyncio.sleep(len(body[start : start + step]) / rate)
            await stream.write_eof()
        return stream


def http_answer(params: dict, realm: str) -> web.Response:
    """An HTTP status with the headers a real server sends with it (MS-ASHTTP 3.2.5.1)."""
    response = web.Response(status=params["status"])
    if "retry_after" in params:
        response.headers["Retry-After"] = str(params["retry_after"])
    if "throttle" in params:
        response.headers["X-MS-ASThrottle"] = params["throttle"]
    if "location" in params:
        response.headers["X-MS-Location"] = params["location"]
    if params["status"] == 401:
        response.headers["WWW-Authenticate"] = f'Basic realm="{realm}"'
    return response


def hang_up(request: web.Request) -> None:
    """Close the client's connection with nothing sent: the answer aiohttp then tries to
    write meets a closed transport, which it takes as a client gone away."""
    transport = request.transport
    if transport is not None:
        transport.close()


def _with_body(response: web.Response, body: bytes) -> web.Response:
    altered = web.Response(status=response.status, reason=response.reason, body=body,
                           headers=_headers_without_length(response))
    return altered


def _headers_without_length(response: web.StreamResponse) -> dict[str, str]:
    return {name: value for name, value in response.headers.items()
            if name.lower() != "content-length"}
