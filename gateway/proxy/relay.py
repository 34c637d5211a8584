"""The upstream's answer, passed to the client as it arrives.

Status, reason and end-to-end headers go out as soon as the upstream's headers are in; the
body follows chunk by chunk, so a held Ping costs no buffer and a large attachment streams.
The trace gets a copy of the first ``TRACE_COPY_BYTES`` only, decoded once the client has
the whole answer — never on the way, so tracing delays nothing.

An upstream that breaks off in the middle of a body cannot be answered 503 any more (the
status is on the wire): the client's connection is cut instead, as the upstream cut ours,
and the exchange records why.
"""
from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
from aiohttp import web
from lxml import etree

from gateway.exchange import Exchange
from gateway.proxy.headers import to_client
from protocol import wbxml
from protocol.xml import top_status

WBXML_CONTENT_TYPE = "application/vnd.ms-sync.wbxml"
# Answers up to this size are decoded for the trace (the trace cuts larger XML anyway).
TRACE_COPY_BYTES = 256 * 1024


async def stream(request: web.Request, answer: aiohttp.ClientResponse,
                 exchange: Exchange) -> web.StreamResponse:
    """Send ``answer`` to the client as it comes; fills the exchange's response fields."""
    response = _head(answer)
    copy = bytearray()
    size = 0
    try:
        await response.prepare(request)
        async for chunk in _body(answer, request, exchange):
            size += len(chunk)
            if len(copy) + len(chunk) <= TRACE_COPY_BYTES:
                copy += chunk
            await response.write(chunk)
        await response.write_eof()
    except ConnectionError as gone:  # the client went away: nobody left to tell
        exchange.notes["client_gone"] = _one_line(gone)
    finally:
        answer.release()
    _record(exchange, answer, bytes(copy) if size == len(copy) else None, size)
    return response


async def _body(answer: aiohttp.ClientResponse, request: web.Request,
                exchange: Exchange) -> AsyncIterator[bytes]:
    """The answer's body chunks; when the upstream breaks off, the client's connection is
    cut and the chunks end."""
    chunks = answer.content.iter_any()
    while True:
        try:
            chunk = await anext(chunks)
        except StopAsyncIteration:
            return
        except (TimeoutError, aiohttp.ClientError) as broken:
            exchange.notes["upstream_broke_off"] = _one_line(broken)
            _cut(request)
            return
        yield chunk


async def buffered(answer: aiohttp.ClientResponse, exchange: Exchange) -> web.Response:
    """The whole answer read first: for a fault rule that alters the answer's bytes."""
    try:
        body = await answer.read()
    finally:
        answer.release()
    response = web.Response(status=answer.status, reason=answer.reason, body=body,
                            headers=to_client(answer.headers))
    _record(exchange, answer, body, len(body))
    return response


def _head(answer: aiohttp.ClientResponse) -> web.StreamResponse:
    response = web.StreamResponse(status=answer.status, reason=answer.reason,
                                  headers=to_client(answer.headers))
    if answer.content_length is not None:
        response.content_length = answer.content_length  # the same framing as upstream
    return response


def _record(exchange: Exchange, answer: aiohttp.ClientResponse, body: bytes | None,
            size: int) -> None:
    exchange.response_body_size = size
    exchange.notes["upstream_status"] = answer.status
    if body is None:
        exchange.notes["trace"] = f"answer of {size} bytes not decoded"
        return
    document = _document(answer, body)
    if document is not None:
        exchange.response_document = document
        exchange.eas_status = top_status(document)


def _document(answer: aiohttp.ClientResponse, body: bytes) -> etree._Element | None:
    if not body or answer.content_type.lower() != WBXML_CONTENT_TYPE:
        return None
    if answer.headers.get("Content-Encoding", "identity").lower() != "identity":
        return None
    try:
        return wbxml.decode(body)
    except wbxml.WBXMLError:
        return None


def _cut(request: web.Request) -> None:
    transport = request.transport
    if transport is not None:
        transport.close()


def _one_line(error: BaseException) -> str:
    return " ".join(f"{type(error).__name__}: {error}".split())[:200]
