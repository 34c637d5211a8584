"""`Proxy`: what the EAS endpoint does with a request in proxy mode once the access decision
is made (gateway/http calls `pass_through` after the access check and the fault check).

- a **blocked** device never gets here: the dispatcher has answered it 129 / HTTP 403;
- a **quarantined** device, or one with a remote wipe pending, is answered by the gateway
  itself from its own store (`pass_through` returns None and the dispatcher goes on as in
  store mode): the notice, and nothing of the upstream mailbox;
- an **allowed** (or still pending) device is passed through: the request as it came, the
  answer streamed back (gateway/proxy/relay.py) — unless it shows a SyncKey the gateway
  issued during a quarantine (gateway/proxy/handover.py).

A request the upstream may hold (Ping, a Sync with Wait or HeartbeatInterval) waits for the
upstream's answer and, at the same time, for the device's access state to change: a device
blocked or quarantined while its Ping is held at the upstream hears it at once, as in store
mode — the upstream request is dropped and the gateway answers (Ping 7 or Sync 12 to send a
newly quarantined device to its FolderSync, 129 or HTTP 403 to a blocked one, 140 or HTTP
449 to one whose remote wipe was just asked for).
"""
from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable

import aiohttp
from aiohttp import web
from lxml import etree

from gateway.commands.sync import MAX_HEARTBEAT_S, MAX_WAIT_MIN
from gateway.errors import failure_answer
from gateway.exchange import Exchange
from gateway.proxy import handover, relay
from gateway.proxy.answers import unavailable
from gateway.proxy.credentials import UpstreamAuthenticator
from gateway.proxy.headers import to_upstream
from gateway.proxy.metrics import ProxyMetrics
from gateway.proxy.upstream import Unavailable, Upstream
from gateway.pushhub import Watch
from gateway.services import Services
from protocol import wbxml
from protocol.numbers import whole_number
from protocol.request import EASRequest
from protocol.status import GlobalStatus, PingStatus, SyncStatus
from protocol.xml import E, text, top_status
from store.types import Device, User

# A name no folder has: watched so that `PushHub.wake_user` (an access state changed)
# reaches a request held at the upstream.
ACCESS_WATCH = "\x00access"
# Fault actions that act on the answer on its way out (gateway/faults): the answer is read
# whole first, so the fault can hold it back, cut it, alter it or drop it.
_OUTGOING_FAULTS = frozenset({"delay", "slow", "truncate", "corrupt", "drop-after"})


class Proxy:
    def __init__(self, services: Services, upstream: Upstream, metrics: ProxyMetrics,
                 authenticator: UpstreamAuthenticator):
        self.services = services
        self.upstream = upstream
        self.metrics = metrics
        self.authenticator = authenticator

    # --- the EAS endpoint's hook ------------------------------------------------------
    async def pass_through(self, request: web.Request, exchange: Exchange, *, eas: EASRequest,
                           body: bytes, document: etree._Element | None, user: User,
                           device: Device) -> web.StreamResponse | None:
        """The answer for an allowed device; None when the gateway answers it itself."""
        store = self.services.store
        if _may_not_pass(device):  # blocked devices were answered before: 129
            await handover.mark_served_locally(store, device)
            exchange.notes["proxy"] = "answered by the gateway: " + (
                "quarantined" if device.state == "quarantined" else "remote wipe pending")
            return None
        stale = await handover.answer_gateway_keys(store, device, eas.command, document)
        if stale is not None:
            assert stale.document is not None
            exchange.notes.update(stale.trace_note)
            exchange.response_document = stale.document
            exchange.eas_status = top_status(stale.document)
            return web.Response(body=wbxml.encode(stale.document),
                                content_type=relay.WBXML_CONTENT_TYPE)
        exchange.notes["proxy"] = "passed to the upstream"
        wait_s = held_seconds(eas.command, document,
                              float(self.services.config.ping_max_heartbeat_s))
        sending = self._send(request, body, wait_s)
        if wait_s:
            return await self._held(request, exchange, sending, eas, user, device, wait_s)
        return await self._answer(request, exchange, sending, eas.command)

    async def options(self, request: web.Request, exchange: Exchange) -> web.StreamResponse:
        """OPTIONS goes to the upstream: the client is to learn the versions and commands
        of the server that holds its mail."""
        exchange.notes["proxy"] = "passed to the upstream"
        return await self._answer(request, exchange, self._send(request, b"", 0.0), "OPTIONS")

    # --- passing through --------------------------------------------------------------
    def _send(self, request: web.Request, body: bytes, wait_s: float
              ) -> Awaitable[aiohttp.ClientResponse]:
        headers = to_upstream(request.headers, request.remote)
        # The query as it came, percent-escapes and all (``query_string`` is decoded).
        return self.upstream.send(request.method, request.rel_url.raw_query_string, headers,
                                  body, wait_s=wait_s)

    async def _answer(self, request: web.Request, exchange: Exchange,
                      sending: Awaitable[aiohttp.ClientResponse], command: str
                      ) -> web.StreamResponse:
        started = time.perf_counter()
        self.metrics.held.inc()
        try:
            answer = await sending
        except Unavailable as missing:
            return self._unavailable(exchange, missing)
        finally:
            self.metrics.held.dec()
        return await self._relay(request, exchange, answer, command, started)

    async def _held(self, request: web.Request, exchange: Exchange,
                    sending: Awaitable[aiohttp.ClientResponse], eas: EASRequest, user: User,
                    device: Device, wait_s: float) -> web.StreamResponse:
        """Wait for the upstream's answer, or for the device to lose its access first."""
        started = time.perf_counter()
        self.metrics.held.inc()
        try:
            upstream = asyncio.ensure_future(sending)
            # As the device's held request: a newer one of the same device, or a remote
            # wipe, ends this watch (gateway/pushhub.py).
            hub = self.services.pushhub
            with hub.watch(user.id, {ACCESS_WATCH}, holder=device.id) as watch:
                lost = await self._access_lost(watch, upstream, device, wait_s)
            if lost is not None:
                exchange.notes["proxy"] = f"held at the upstream until the device was {lost.state}"
                return self._lost_access_answer(exchange, eas, lost)
            answer = upstream.result()
        except Unavailable as missing:
            return self._unavailable(exchange, missing)
        finally:
            self.metrics.held.dec()
        return await self._relay(request, exchange, answer, eas.command, started)

    async def _access_lost(self, watch: Watch, upstream: asyncio.Future, device: Device,
                           wait_s: float) -> Device | None:
        """None once the upstream has answered; the device as it is now when it may no
        longer reach the upstream (the upstream request is then dropped)."""
        deadline = time.monotonic() + wait_s + self.upstream.settings.idle_timeout_s
        woken: asyncio.Future[set[str]] | None = None
        try:
            while True:
                woken = asyncio.ensure_future(watch.wait(max(deadline - time.monotonic(), 0)))
                done, _ = await asyncio.wait({upstream, woken},
                                             return_when=asyncio.FIRST_COMPLETED)
                if upstream in done:
                    woken.cancel()
                    return None
                if woken.result() or watch.ended:  # an access state (or a wipe) changed
                    current = await self.services.store.get_device_by_pk(device.id)
                    if _may_not_pass(current):
                        return current
                if watch.ended or not woken.result():
                    # A newer request of the device took over (the upstream answers this
                    # one), or the wait is over (the upstream's own timeout decides).
                    await asyncio.wait({upstream})
                    return None
        finally:
            if woken is not None:
                woken.cancel()  # the client hung up (the handler is cancelled): stop waiting too
            if not upstream.done():
                upstream.cancel()  # closes the upstream connection

    async def _relay(self, request: web.Request, exchange: Exchange,
                     answer: aiohttp.ClientResponse, command: str, started: float
                     ) -> web.StreamResponse:
        self.metrics.latency.labels(command).observe(time.perf_counter() - started)
        self.metrics.answers.labels(str(answer.status)).inc()
        if answer.status == 401:  # the password changed upstream: check it again next time
            self.authenticator.forget(request.headers.get("Authorization"))
        if exchange.fault is not None and exchange.fault.action in _OUTGOING_FAULTS:
            return await relay.buffered(answer, exchange)
        return await relay.stream(request, answer, exchange)

    def _unavailable(self, exchange: Exchange, missing: Unavailable) -> web.Response:
        self.metrics.unavailable.labels(missing.reason).inc()
        exchange.notes["upstream_unavailable"] = str(missing)
        return unavailable(missing.reason)

    # --- what the gateway says itself -------------------------------------------------
    def _lost_access_answer(self, exchange: Exchange, eas: EASRequest,
                            device: Device) -> web.Response:
        if device.state == "blocked" or device.wipe != "none":
            status = (GlobalStatus.DEVICE_IS_BLOCKED_FOR_THIS_USER if device.state == "blocked"
                      else GlobalStatus.REMOTE_WIPE_REQUESTED)
            answer = failure_answer(eas.command, status, eas.protocol_version)
            if answer.document is None:
                exchange.notes["proxy"] += " (HTTP 403)"
                return web.Response(status=answer.http_status)
            document = answer.document
        elif eas.command == "Ping":
            document = E("Ping:Ping", E("Ping:Status", int(PingStatus.FOLDER_SYNC_REQUIRED)))
        else:
            document = E("AirSync:Sync",
                         E("AirSync:Status", int(SyncStatus.FOLDER_HIERARCHY_CHANGED)))
        exchange.response_document = document
        exchange.eas_status = top_status(document)
        return web.Response(body=wbxml.encode(document), content_type=relay.WBXML_CONTENT_TYPE)


def _may_not_pass(device: Device) -> bool:
    return device.state in ("blocked", "quarantined") or device.wipe != "none"


def held_seconds(command: str, document: etree._Element | None, longest_ping_s: float
                 ) -> float:
    """How long the upstream may rightly hold this request before answering: a Ping's
    heartbeat (``longest_ping_s`` when it states none), a Sync's Wait or HeartbeatInterval,
    each within MS-ASCMD's bounds, else nothing. What is not a whole number counts as
    absent: a client's "inf" or "nan" must not leave the upstream read without a deadline."""
    if command == "Ping":
        if document is None:
            return longest_ping_s  # repeats the last Ping, whose heartbeat we did not see
        heartbeat = whole_number(text(document, "Ping:HeartbeatInterval"), 0)
        return float(min(heartbeat, MAX_HEARTBEAT_S) or longest_ping_s)
    if command == "Sync":
        if document is None:
            return longest_ping_s  # an empty Sync may repeat a waiting one
        wait = whole_number(text(document, "AirSync:Wait"), 0)
        if wait:
            return float(min(wait, MAX_WAIT_MIN) * 60)
        heartbeat = whole_number(text(document, "AirSync:HeartbeatInterval"), 0)
        return float(min(heartbeat, MAX_HEARTBEAT_S))
    return 0.0
