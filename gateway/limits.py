"""What one client connection may cost: header sizes, a time to send its headers, and a
pace for its body.

Headers: aiohttp refuses a request line or header field over 8190 bytes and more than 128
header fields with HTTP 400 (`runner_options` states those bounds here, so they are ours).
It has no separate header timeout, but it closes a connection whose request has not
arrived in full ``keepalive_timeout`` seconds after it opened or after its last answer
(aiohttp's ``RequestHandler._process_keepalive`` closes a handler still waiting for its
next message): ``client_header_timeout_s`` is that time. A held Ping is not concerned:
its request arrived, and the handler is running.

Body: `read_body` reads at the pace IIS demands of a request (its ``minBytesPerSecond``):
after a grace of ``client_body_timeout_s`` the bytes received must keep up with
``client_body_min_rate`` per second, else `BodyTooSlow` (HTTP 408). A client that dribbles a
byte now and then is dropped within the grace time plus a second; a phone uploading a large
attachment over a slow link at more than the minimum rate is never cut off.

A client that hangs up: the runner cancels its handler (``handler_cancellation``), so a
Ping held for a phone that lost its connection stops being held at once rather than at the
end of its heartbeat, and costs nothing more (aiohttp learns of it from the socket: no
timer). A handler is cancelled only where it awaits; a unit of work of the store is one
transaction, committed or rolled back whole, and the wake it sends is not awaited.
"""
from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

from aiohttp import web

if TYPE_CHECKING:
    from gateway.config import Config

MAX_LINE_BYTES = 8190  # the request line, and the URL in it
MAX_FIELD_BYTES = 8190  # one header field
MAX_HEADERS = 128


class BodyTooLarge(Exception):
    pass


class BodyTooSlow(Exception):
    pass


def runner_options(config: Config) -> dict[str, Any]:
    """Keyword arguments of `aiohttp.web.AppRunner` that bound one connection and end its
    handler when it closes."""
    return {
        "keepalive_timeout": config.client_header_timeout_s,
        "max_line_size": MAX_LINE_BYTES,
        "max_field_size": MAX_FIELD_BYTES,
        "max_headers": MAX_HEADERS,
        "handler_cancellation": True,
    }


async def read_body(request: web.Request, *, limit: int, grace_s: float, min_rate: int) -> bytes:
    """The whole request body; `BodyTooLarge` over ``limit`` bytes, `BodyTooSlow` when it
    falls behind the pace described above."""
    if request.content_length is not None and request.content_length > limit:
        raise BodyTooLarge
    started = time.monotonic()
    chunks: list[bytes] = []
    received = 0
    while True:
        # The moment by which the next byte must come: received / min_rate after the grace.
        wait = None
        if min_rate:
            wait = max(started + grace_s + received / min_rate - time.monotonic(), 0.001)
        try:
            chunk = await asyncio.wait_for(request.content.readany(), wait)
        except TimeoutError:
            raise BodyTooSlow from None
        except web.HTTPRequestEntityTooLarge:
            raise BodyTooLarge from None
        if not chunk:
            return b"".join(chunks)
        received += len(chunk)
        if received > limit:  # a chunked body announces no length
            raise BodyTooLarge
        chunks.append(chunk)
