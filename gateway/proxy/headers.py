"""Which headers cross the proxy (RFC 9110 §7.6.1): every end-to-end header is passed on
as it came, in both directions; the hop-by-hop ones — those of this connection only — are
dropped, and so is every header the ``Connection`` header names.

``Authorization`` is end to end: the client's credentials reach the upstream untouched (the
gateway never keeps them). ``Host`` and the body's framing are the new connection's own.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping

from multidict import CIMultiDict

HOP_BY_HOP = frozenset({
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "proxy-connection",
    "te", "trailer", "transfer-encoding", "upgrade",
})
# Rebuilt for the new connection by the HTTP library from the URL and the body; and
# ``Expect: 100-continue``, which the gateway met already by reading the whole body.
FRAMING = frozenset({"host", "content-length", "expect"})

# What aiohttp's client would otherwise add on its own: only what the client sent goes out.
CLIENT_DEFAULTS = ("Accept", "Accept-Encoding", "User-Agent", "Content-Type")


def to_upstream(headers: Mapping[str, str] | Iterable[tuple[str, str]],
                client_address: str | None) -> CIMultiDict[str]:
    """The client's request headers as they go to the upstream, with the client's address
    added to ``X-Forwarded-For`` (where an upstream's logs look for it)."""
    passed = _end_to_end(headers)
    if client_address:
        earlier = passed.popall("X-Forwarded-For", [])
        passed["X-Forwarded-For"] = ", ".join([*earlier, client_address])
    return passed


def to_client(headers: Mapping[str, str] | Iterable[tuple[str, str]]) -> CIMultiDict[str]:
    """The upstream's answer headers as the client gets them."""
    return _end_to_end(headers)


def _end_to_end(headers: Mapping[str, str] | Iterable[tuple[str, str]]) -> CIMultiDict[str]:
    pairs = list(headers.items() if isinstance(headers, Mapping) else headers)
    named = {token.strip().lower() for name, value in pairs if name.lower() == "connection"
             for token in value.split(",")}
    dropped = HOP_BY_HOP | FRAMING | named
    return CIMultiDict((name, value) for name, value in pairs if name.lower() not in dropped)
