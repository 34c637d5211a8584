"""One EAS request and its answer, as observers (traces, metrics, logs) see it.

The dispatcher fills an `Exchange` as the request goes through it and hands it to every
``services.observers`` entry once the answer is decided. Fields stay None when the request
did not get that far (a 401 has no device, a malformed body no document).
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from lxml import etree


@dataclass(slots=True)  # one per request in flight, held Pings included: no __dict__
class Exchange:
    method: str
    path: str
    query: str
    # As received, Authorization included: redact it. The request's own headers, not a copy
    # (a held Ping's exchange would keep a second set of them).
    request_headers: Mapping[str, str]
    started_at: datetime  # the gateway clock's time when the request arrived
    command: str | None = None
    protocol_version: str | None = None
    device_id: str | None = None  # the DeviceId of the request line
    device_type: str | None = None
    device_pk: int | None = None  # the device record, once known
    user_address: str | None = None  # once authenticated
    request_body: bytes = b""
    request_document: etree._Element | None = None
    response_status: int = 0  # the HTTP status
    response_headers: dict[str, str] = field(default_factory=dict)
    response_document: etree._Element | None = None
    response_body_size: int = 0
    # The body sent when it is exactly the WBXML of response_document: a trace keeps these
    # few bytes instead of the tree (a few KiB of libxml2 memory per document).
    response_wbxml: bytes | None = None
    eas_status: int | None = None  # the top-level Status of the answer, when it has one
    duration_s: float = 0.0  # real time from arrival to the answer
    error: str | None = None  # one line, when the request failed unexpectedly
    notes: dict[str, Any] = field(default_factory=dict)  # a command's trace_note
    fault: Any = None  # the fault injected into this exchange (gateway.faults.Injection)
