"""AirSyncBase:Body — which body type a client gets, truncated how (MS-ASAIRS 2.2.2.9).

A client states its wishes in ``Options`` (Sync, ItemOperations, Search): one or more
``BodyPreference`` (Type, TruncationSize, AllOrNone, Preview) and ``MIMESupport``. The server
answers one body per item:

- Type 1 plain text and 2 HTML are always available: an HTML body is made from plain
  text, and plain text from HTML.
- Type 3 (RTF) is not supported (our decision): a client asking only for RTF gets the
  item's native type, as Exchange does for items it holds no RTF of.
- Type 4 (MIME) needs a MIME source and, in Sync, ``MIMESupport`` 2 (or 1 for S/MIME
  messages); it travels as a string (7-bit MIME text).
- ``Preview`` (the first characters of plain text, at most 255) only on 14.0 and later.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from html import escape

from lxml import etree

from gateway.content.mime import html_to_text, to_7bit_text
from protocol.numbers import integer
from protocol.versions import at_least
from protocol.xml import E, child, children, sub, text
from store.types import Item

PLAIN, HTML, RTF, MIME = 1, 2, 3, 4
PREVIEW_MAX = 255
# AirSync:MIMETruncation codes (MS-ASCMD 2.2.3.108) → bytes kept; 8 means "do not truncate".
MIME_TRUNCATION_SIZES = {0: 0, 1: 4096, 2: 5120, 3: 7168, 4: 10240, 5: 20480, 6: 51200,
                         7: 102400, 8: None}


@dataclass(frozen=True)
class BodyPreference:
    type: int
    truncation_size: int | None = None  # bytes; None = whole body
    all_or_none: bool = False  # a body longer than truncation_size is sent without data
    preview: int | None = None  # characters of plain-text preview (14.0+)


@dataclass(frozen=True)
class BodyOptions:
    """What a client asked for in one ``Options`` element."""

    preferences: tuple[BodyPreference, ...] = ()
    mime_support: int = 0  # 0 never MIME, 1 MIME for S/MIME only, 2 always when asked
    mime_truncation: int | None = None  # bytes of MIME kept; None = whole message

    @classmethod
    def from_sync_options(cls, options: etree._Element | None, version: str) -> BodyOptions:
        """Read an ``Options`` element of Sync, ItemOperations or Search (None → defaults).
        Values that are not numbers are ignored rather than failing the whole request."""
        if options is None:
            return cls()
        preferences = tuple(
            _preference(element, version)
            for element in children(options, "AirSyncBase:BodyPreference")
        )
        mime_support = integer(text(options, "AirSync:MIMESupport")) or 0
        truncation_code = integer(text(options, "AirSync:MIMETruncation"))
        mime_truncation = (MIME_TRUNCATION_SIZES.get(truncation_code)
                           if truncation_code is not None else None)
        return cls(tuple(p for p in preferences if p.type), mime_support, mime_truncation)

    def choose(self, item: Item) -> BodyPreference:
        """The preference that decides this item's body type (see the module docstring)."""
        usable = [p for p in self.preferences
                  if p.type in (PLAIN, HTML) or (p.type == MIME and self._mime_allowed(item))]
        if not usable:
            # Nothing asked, or only what we cannot give (RTF, MIME without MIMESupport):
            # the native type, keeping the client's truncation.
            if not self.preferences:
                return BodyPreference(PLAIN)
            return replace(self.preferences[0], type=_native(item))
        native = _native(item)
        for wanted_type in (MIME, native):
            for preference in usable:
                if preference.type == wanted_type:
                    return preference
        return max(usable, key=lambda p: p.type)

    def _mime_allowed(self, item: Item) -> bool:
        if item.mime is None:
            return False
        if self.mime_support == 2:
            return True
        if self.mime_support == 1:
            return str(item.data.get("MessageClass", "")).startswith("IPM.Note.SMIME")
        # A client that asks for nothing but MIME (ItemOperations often omits MIMESupport).
        return all(p.type == MIME for p in self.preferences)


def _preference(element: etree._Element, version: str) -> BodyPreference:
    preview = integer(text(element, "AirSyncBase:Preview")) if at_least(version, "14.0") else None
    return BodyPreference(
        type=integer(text(element, "AirSyncBase:Type")) or 0,
        truncation_size=integer(text(element, "AirSyncBase:TruncationSize")),
        all_or_none=text(element, "AirSyncBase:AllOrNone") == "1",
        preview=min(preview, PREVIEW_MAX) if preview else None,
    )


def _native(item: Item) -> int:
    declared = item.data.get("NativeBodyType")
    if declared in (PLAIN, HTML, RTF):
        return HTML if declared == RTF else int(declared)
    return HTML if item.body_html else PLAIN


def native_body_type(item: Item) -> int:
    """AirSyncBase:NativeBodyType: how the item was written."""
    return _native(item)


def body_content(item: Item, body_type: int) -> str:
    """The whole body of ``item`` in ``body_type`` (1, 2 or 4), as text."""
    if body_type == MIME:
        return to_7bit_text(item.mime) if item.mime else _plain(item)
    if body_type == HTML:
        if item.body_html:
            return item.body_html
        paragraphs = "<br>\r\n".join(escape(line) for line in _plain(item).splitlines())
        return f"<html><body>{paragraphs}</body></html>"
    return _plain(item)


def _plain(item: Item) -> str:
    if item.body_text:
        return item.body_text
    return html_to_text(item.body_html) if item.body_html else ""


def render_body(item: Item, options: BodyOptions, version: str) -> etree._Element:
    """The ``AirSyncBase:Body`` element for ``item`` under ``options``."""
    preference = options.choose(item)
    content = body_content(item, preference.type)
    encoded = content.encode("utf-8")
    limit = preference.truncation_size
    if preference.type == MIME and options.mime_truncation is not None:
        limit = options.mime_truncation if limit is None else min(limit, options.mime_truncation)
    truncated = limit is not None and len(encoded) > limit
    body = E("AirSyncBase:Body")
    sub(body, "AirSyncBase:Type", preference.type)
    sub(body, "AirSyncBase:EstimatedDataSize", len(encoded))
    if truncated:
        sub(body, "AirSyncBase:Truncated", 1)
    if not (truncated and preference.all_or_none):
        sub(body, "AirSyncBase:Data", _cut(encoded, limit) if truncated else content)
    if preference.preview and at_least(version, "14.0"):
        sub(body, "AirSyncBase:Preview", preview_text(item, preference.preview))
    return body


def _cut(encoded: bytes, limit: int | None) -> str:
    """The first ``limit`` bytes, never splitting a UTF-8 sequence."""
    return encoded[: limit or 0].decode("utf-8", errors="ignore")


def preview_text(item: Item, length: int = PREVIEW_MAX) -> str:
    words = " ".join(_plain(item).split())
    return words[: min(length, PREVIEW_MAX)]


def parse_body(app_data: etree._Element) -> dict[str, object]:
    """Store fields from an uploaded ``AirSyncBase:Body`` (none when absent)."""
    body = child(app_data, "AirSyncBase:Body")
    if body is None:
        return {}
    body_type = integer(text(body, "AirSyncBase:Type")) or PLAIN
    data = text(body, "AirSyncBase:Data", "") or ""
    if body_type == HTML:
        return {"body_html": data, "body_text": html_to_text(data)}
    if body_type == MIME:
        return {"mime": data.encode("utf-8")}
    return {"body_text": data, "body_html": None}
