"""Decoded protocol traces: per device, the last N exchanges as people read them.

Each exchange becomes a `TraceEntry` at once (request line, redacted headers, status,
duration), so that nothing of the live request — least of all its credentials — is held
afterwards. Its two documents are turned into indented XML when someone first reads them
(most traces are never read, and that rendering cost more than the rest of the entry): a
small document that does not contain the password is kept as it is until then; a large one,
or one the password has to be scrubbed from, is rendered at once. `TraceBook` keeps a bounded ring per device and forgets the
devices not heard from for longest when there are too many, so memory stays bounded under a
load test of thousands of devices. `TraceRecorder` is the observer the dispatcher calls.
"""
from __future__ import annotations

import sys
import time
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from lxml import etree

from gateway.observe.redact import (
    MASK,
    basic_password,
    mask_password_elements,
    redact_headers,
    redact_query,
    scrub,
)
from protocol import wbxml
from protocol.wbxml.xmlview import with_page_prefixes
from protocol.xml import to_pretty_xml

if TYPE_CHECKING:
    from gateway.exchange import Exchange
    from gateway.observe.tracefile import TraceFileWriter

# A document larger than this (as indented XML) is cut: a trace is for reading, and a Sync
# answer carrying a whole mailbox of MIME would otherwise pin megabytes per device.
MAX_XML_CHARS = 200_000
MAX_RAW_BYTES = 16_384  # of a body shown raw (not a WBXML document)
# A document whose WBXML is larger than this is rendered at once rather than kept as a tree.
MAX_LAZY_BYTES = 65_536


# A document of an entry, kept for rendering when first read: the WBXML it came in or went out
# as (a few hundred bytes where the tree costs a few KiB), the tree when there are no such
# bytes, or its readable XML once rendered (then the bytes or tree are dropped); None for none.
# Held in the entry's own field rather than in an object of its own: two such objects for
# each of the entries of each of thousands of devices add up.
Pending = bytes | etree._Element | str | None


def rendered(value: Pending) -> str | None:
    """The readable XML of a pending document."""
    if isinstance(value, bytes):
        value = wbxml.decode(value)
    if value is None or isinstance(value, str):
        return value
    return _readable(value, None)


# Header lines (``Name: value``) of entries, each set kept once: most are the same for
# every device of a kind (``Authorization: Basic ****``, its User-Agent, the Content-Type of
# WBXML; an answer's headers), and a tuple per side of each of the last exchanges of
# thousands of devices adds up. Bounded: past this many different sets, new ones are kept
# by their entries alone.
MAX_SHARED_HEADER_SETS = 20_000
_shared_header_sets: dict[tuple[str, ...], tuple[str, ...]] = {}


def header_lines(pairs: Iterable[tuple[str, str]]) -> tuple[str, ...]:
    """The pairs as interned lines, in a tuple shared with every entry that has the same."""
    lines = tuple(sys.intern(f"{name}: {value}") for name, value in pairs)
    shared = _shared_header_sets.get(lines)
    if shared is not None:
        return shared
    if len(_shared_header_sets) < MAX_SHARED_HEADER_SETS:
        _shared_header_sets[lines] = lines
    return lines


def header_pairs(lines: tuple[str, ...]) -> list[tuple[str, str]]:
    return [(name, value) for name, _, value in (line.partition(": ") for line in lines)]


@dataclass(frozen=True, slots=True)
class TraceEntry:
    """One request and its answer, safe to show and to serialise."""

    # The gateway clock's time of the request's arrival, in seconds since the epoch (a float
    # is half a datetime), written as ISO 8601 when read (`at`).
    arrived: float | str
    device_pk: int | None
    user: str
    command: str
    request_line: str
    request_header_lines: tuple[str, ...]  # see header_lines; read as pairs: request_headers
    request_document: Pending = field(repr=False)
    request_body: str | None  # a body that is not a WBXML document: text, or hex when binary
    response_status: int
    eas_status: str | None  # the answer's top-level Status, when it has one
    response_header_lines: tuple[str, ...]
    response_document: Pending = field(repr=False)
    duration_ms: float
    notes: Mapping[str, str] = field(default_factory=dict)

    @property
    def at(self) -> str:
        """ISO 8601, wall time of the request's arrival."""
        return self.arrived if isinstance(self.arrived, str) else _iso(self.arrived)

    @property
    def request_headers(self) -> list[tuple[str, str]]:
        return header_pairs(self.request_header_lines)

    @property
    def response_headers(self) -> list[tuple[str, str]]:
        return header_pairs(self.response_header_lines)

    @property
    def request_xml(self) -> str | None:
        return self._rendered("request_document")

    @property
    def response_xml(self) -> str | None:
        return self._rendered("response_document")

    def _rendered(self, name: str) -> str | None:
        xml = rendered(getattr(self, name))
        object.__setattr__(self, name, xml)  # rendered once: the bytes or tree are dropped
        return xml

    def as_json(self) -> dict[str, Any]:
        """The entry as JSON values; the headers as [name, value] pairs, the documents as
        readable XML."""
        data = {"at": self.at} | {f.name: getattr(self, f.name) for f in fields(self)
                                  if f.name not in _NOT_IN_JSON}
        data["notes"] = dict(self.notes)
        data["request_xml"] = self.request_xml
        data["response_xml"] = self.response_xml
        data["request_headers"] = [list(pair) for pair in self.request_headers]
        data["response_headers"] = [list(pair) for pair in self.response_headers]
        return data


_NOT_IN_JSON = frozenset({"arrived", "request_document", "response_document",
                          "request_header_lines", "response_header_lines"})


def entry_from_exchange(exchange: Exchange) -> TraceEntry:
    """The readable, credential-free record of one exchange."""
    password = basic_password(exchange.request_headers)
    query = redact_query(exchange.query or "", password)
    target = f"{exchange.path}?{query}" if query else exchange.path
    return TraceEntry(
        arrived=(exchange.started_at.timestamp() if isinstance(exchange.started_at, datetime)
                 else _iso(exchange.started_at)),
        device_pk=exchange.device_pk,
        # interned: each request parses its own copies, kept by every entry of the device
        user=sys.intern(exchange.user_address or ""),
        command=sys.intern(exchange.command or ""),
        # interned: a device's Pings (its Syncs of a folder) all have the same one
        request_line=sys.intern(f"{exchange.method} {target} HTTP/1.1"),
        request_header_lines=header_lines(redact_headers(exchange.request_headers, password)),
        request_document=_lazy(exchange.request_document, len(exchange.request_body), password,
                               exchange.request_body),
        request_body=_raw_body(exchange, password),
        response_status=exchange.response_status,
        eas_status=_eas_status(exchange),
        response_header_lines=header_lines(redact_headers(exchange.response_headers,
                                                          password)),
        response_document=_lazy(exchange.response_document, exchange.response_body_size,
                                password, exchange.response_wbxml, encoded_here=True),
        duration_ms=round(exchange.duration_s * 1000, 3),
        notes=_notes(exchange, password),
    )


def _eas_status(exchange: Exchange) -> str | None:
    # interned: a handful of values, kept by every entry
    return None if exchange.eas_status is None else sys.intern(str(exchange.eas_status))


# The notes of the many entries that have none: one shared, read-only mapping rather than an
# empty dict each.
_NO_NOTES: Mapping[str, str] = MappingProxyType({})


def _notes(exchange: Exchange, password: str | None) -> Mapping[str, str]:
    notes = {key: scrub(str(value), password) for key, value in exchange.notes.items()}
    if exchange.error:
        notes["error"] = scrub(exchange.error, password)
    return notes or _NO_NOTES


def _raw_body(exchange: Exchange, password: str | None) -> str | None:
    """A body the dispatcher could not (or need not) decode: MIME of a 12.1 SendMail as text,
    anything else — a malformed WBXML document — as the hex of its first bytes."""
    body = exchange.request_body
    if exchange.request_document is not None or not body:
        return None
    if password:
        body = body.replace(password.encode("utf-8"), MASK.encode())
    head = body[:MAX_RAW_BYTES]
    cut = f"\n… ({len(body) - len(head)} more bytes)" if len(body) > len(head) else ""
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text is not None and all(c.isprintable() or c in "\r\n\t" for c in text):
        return scrub(text, password) + cut
    return " ".join(f"{byte:02x}" for byte in head) + cut


def _lazy(document: etree._Element | None, size: int, password: str | None,
          wbxml_body: bytes | None = None, *, encoded_here: bool = False) -> Pending:
    """The document kept for rendering later — as ``wbxml_body``, the bytes it was decoded
    from or encoded to, when there are those — unless it is large or holds the password
    (then it is rendered and scrubbed now: the entry never keeps the password)."""
    if document is None:
        return None
    if size > MAX_LAZY_BYTES or (password and _holds(document, password, wbxml_body,
                                                       encoded_here)):
        return _readable(document, password)
    if wbxml_body:
        return wbxml_body
    return document


def _holds(document: etree._Element, password: str, wbxml_body: bytes | None,
           encoded_here: bool) -> bool:
    """Whether the document holds the password. In WBXML this gateway encoded, every string
    is its UTF-8 bytes as they are (no entities, no other charset), so a look for those bytes
    answers what a walk over the tree's texts would, in a fraction of the time; a client's
    WBXML may spell a string otherwise, so its tree is walked."""
    if encoded_here and wbxml_body:
        return password.encode("utf-8") in wbxml_body
    return _mentions(document, password)


def _mentions(document: etree._Element, password: str) -> bool:
    return any(password in text for text in document.itertext()) or any(
        password in value for element in document.iter() for value in element.attrib.values())


def _readable(document: etree._Element | None, password: str | None) -> str | None:
    if document is None:
        return None
    # A copy whose elements carry their code page as prefix (<AirSync:Sync …>), as
    # `easgate wbxml decode` prints them; the password elements are masked on that copy.
    readable = mask_password_elements(with_page_prefixes(document))
    xml = scrub(to_pretty_xml(readable), password)
    if len(xml) > MAX_XML_CHARS:
        xml = xml[:MAX_XML_CHARS] + f"\n… ({len(xml) - MAX_XML_CHARS} more characters cut)\n"
    return xml


def _iso(moment: datetime | float | None) -> str:
    if isinstance(moment, datetime):
        return moment.astimezone(UTC).isoformat()
    seconds = moment if isinstance(moment, float | int) else time.time()
    return datetime.fromtimestamp(seconds, UTC).isoformat()


class TraceBook:
    """Per-device rings of the last ``depth`` entries, for at most ``max_devices`` devices
    (least recently heard from forgotten first). A ring is a list trimmed from the front:
    a deque would allocate room for 64 entries at once (most of a KiB) for each of
    thousands of devices that have only a handful."""

    def __init__(self, depth: int = 50, max_devices: int = 10_000) -> None:
        if depth < 1 or max_devices < 1:
            raise ValueError("trace depth and device count must be positive")
        self.depth = depth
        self.max_devices = max_devices
        self._rings: OrderedDict[int, list[TraceEntry]] = OrderedDict()

    def record(self, entry: TraceEntry) -> None:
        if entry.device_pk is None:
            return  # refused before a device was known (bad credentials …): nothing to file
        ring = self._rings.get(entry.device_pk)
        if ring is None:
            ring = self._rings[entry.device_pk] = []
            while len(self._rings) > self.max_devices:
                self._rings.popitem(last=False)
        else:
            self._rings.move_to_end(entry.device_pk)
        ring.append(entry)
        if len(ring) > self.depth:
            del ring[0]

    def entries(self, device_pk: int) -> list[TraceEntry]:
        """Oldest first, newest last."""
        return list(self._rings.get(device_pk, ()))

    def forget(self, device_pk: int) -> None:
        self._rings.pop(device_pk, None)

    def __len__(self) -> int:
        return len(self._rings)


class TraceRecorder:
    """The observer: every exchange into the book, and into JSON lines when configured."""

    def __init__(self, book: TraceBook, writer: TraceFileWriter | None = None) -> None:
        self.book = book
        self.writer = writer

    async def on_exchange(self, exchange: Exchange) -> None:
        entry = entry_from_exchange(exchange)
        self.book.record(entry)
        if self.writer is not None:
            self.writer.submit(entry)
