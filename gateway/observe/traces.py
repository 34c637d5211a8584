"""Decoded protocol traces: per device, the last N exchanges as people read them.

Each exchange becomes a `TraceEntry` at once (request line, redacted headers, both documents
as indented XML, status, duration), so that nothing of the live request — least of all its
credentials — is held afterwards. `TraceBook` keeps a bounded ring per device and forgets the
devices not heard from for longest when there are too many, so memory stays bounded under a
load test of thousands of devices. `TraceRecorder` is the observer the dispatcher calls.
"""
from __future__ import annotations

import time
from collections import OrderedDict, deque
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from lxml import etree

from gateway.observe.redact import (
    basic_password,
    redact_document,
    redact_headers,
    redact_query,
    scrub,
)
from protocol.xml import local_name, to_pretty_xml

if TYPE_CHECKING:
    from gateway.exchange import Exchange
    from gateway.observe.tracefile import TraceFileWriter

# A document larger than this (as indented XML) is cut: a trace is for reading, and a Sync
# answer carrying a whole mailbox of MIME would otherwise pin megabytes per device.
MAX_XML_CHARS = 200_000


@dataclass(frozen=True)
class TraceEntry:
    """One request and its answer, safe to show and to serialise."""

    at: str  # ISO 8601, wall time of the request's arrival
    device_pk: int | None
    user: str
    command: str
    request_line: str
    request_headers: list[tuple[str, str]]
    request_xml: str | None
    response_status: int
    eas_status: str | None  # the answer's top-level Status, when it has one
    response_headers: list[tuple[str, str]]
    response_xml: str | None
    duration_ms: float
    notes: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["request_headers"] = [list(pair) for pair in self.request_headers]
        data["response_headers"] = [list(pair) for pair in self.response_headers]
        return data


def entry_from_exchange(exchange: Exchange) -> TraceEntry:
    """The readable, credential-free record of one exchange."""
    password = basic_password(exchange.request_headers)
    query = redact_query(exchange.query or "", password)
    target = f"{exchange.path}?{query}" if query else exchange.path
    return TraceEntry(
        at=_iso(exchange.started_at),
        device_pk=exchange.device_pk,
        user=exchange.user or "",
        command=exchange.command or "",
        request_line=f"{exchange.method} {target} HTTP/1.1",
        request_headers=redact_headers(exchange.request_headers, password),
        request_xml=_readable(exchange.request_document, password),
        response_status=exchange.response_status,
        eas_status=top_level_status(exchange.response_document),
        response_headers=redact_headers(exchange.response_headers, password),
        response_xml=_readable(exchange.response_document, password),
        duration_ms=round(exchange.duration_s * 1000, 3),
        notes={k: scrub(str(v), password) for k, v in (exchange.notes or {}).items()},
    )


def top_level_status(document: etree._Element | None) -> str | None:
    """The ``Status`` child of the answer's root element (Sync, Ping, FolderSync …)."""
    if document is None:
        return None
    for element in document:
        if isinstance(element.tag, str) and local_name(element) == "Status":
            return (element.text or "").strip()
    return None


def _readable(document: etree._Element | None, password: str | None) -> str | None:
    if document is None:
        return None
    xml = scrub(to_pretty_xml(redact_document(document)), password)
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
    (least recently heard from forgotten first)."""

    def __init__(self, depth: int = 50, max_devices: int = 10_000) -> None:
        if depth < 1 or max_devices < 1:
            raise ValueError("trace depth and device count must be positive")
        self.depth = depth
        self.max_devices = max_devices
        self._rings: OrderedDict[int, deque[TraceEntry]] = OrderedDict()

    def record(self, entry: TraceEntry) -> None:
        if entry.device_pk is None:
            return  # refused before a device was known (bad credentials …): nothing to file
        ring = self._rings.get(entry.device_pk)
        if ring is None:
            ring = self._rings[entry.device_pk] = deque(maxlen=self.depth)
            while len(self._rings) > self.max_devices:
                self._rings.popitem(last=False)
        else:
            self._rings.move_to_end(entry.device_pk)
        ring.append(entry)

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
