"""WBXML 1.x bytes → an lxml tree, in one pass over the body: the reference.

The gateway runs the same rules in C (:mod:`protocol.wbxml.fast`); this module is what the
tests hold that to, tree for tree and error for error (offset and reason).

What is accepted: any WBXML 1.0–1.3 header (a public id given inline or as a string-table
reference, charset UTF-8, US-ASCII, ISO-8859-1 or unknown-meaning-UTF-8), then one root
element built from tag tokens, ``SWITCH_PAGE``, ``END``, inline strings (``STR_I``),
string-table references (``STR_T``), character entities (``ENTITY``) and ``OPAQUE`` data.

What is refused, each with one :class:`WBXMLError` naming the byte offset: tags with
attributes (EAS defines no attribute tokens, so such a body cannot be an EAS document),
``LITERAL`` tags, extension tokens and processing instructions (EAS uses none), tokens and
code pages MS-ASWBXML does not define, multi-byte integers longer than five bytes or above
2**32-1, lengths and string-table offsets that point outside the document, nesting deeper
than :data:`MAX_DEPTH`, text XML cannot carry, and anything after the root element.

Opaque data becomes the element's text in base64 with ``opaque="base64"`` (see
``protocol.xml``). Text after a child element (mixed content, never seen in EAS) becomes
that child's ``tail``, as lxml keeps it.
"""
from __future__ import annotations

import base64

from lxml import etree

from protocol.wbxml.codepages import DECODE_TABLE, PAGE_NAMES
from protocol.wbxml.errors import WBXMLError
from protocol.xml import OPAQUE_ATTR, OPAQUE_BASE64

MAX_DEPTH = 100  # EAS documents nest about 10 deep; this bounds the decoder's stack

SWITCH_PAGE = 0x00
END = 0x01
ENTITY = 0x02
STR_I = 0x03
STR_T = 0x83
OPAQUE = 0xC3

# MIBenum numbers (IANA) of the charsets whose strings end in one NUL byte.
_CHARSETS = {0: "utf-8", 3: "ascii", 4: "latin-1", 106: "utf-8"}

GLOBAL_TOKEN_NAMES = {
    0x04: "LITERAL", 0x40: "EXT_I_0", 0x41: "EXT_I_1", 0x42: "EXT_I_2", 0x43: "PI",
    0x44: "LITERAL_C", 0x80: "EXT_T_0", 0x81: "EXT_T_1", 0x82: "EXT_T_2",
    0x84: "LITERAL_A", 0xC0: "EXT_0", 0xC1: "EXT_1", 0xC2: "EXT_2", 0xC4: "LITERAL_AC",
}


def read_mb_u_int32(data: bytes, pos: int) -> tuple[int, int]:
    """Read a WBXML multi-byte integer at ``pos``; returns (value, position after it)."""
    start = pos
    value = 0
    end = len(data)
    for _ in range(5):
        if pos >= end:
            raise WBXMLError(start, "truncated multi-byte integer")
        byte = data[pos]
        pos += 1
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            if value > 0xFFFFFFFF:
                raise WBXMLError(start, "multi-byte integer above 2**32-1")
            return value, pos
    raise WBXMLError(start, "multi-byte integer longer than 5 bytes")


class _Header:
    __slots__ = ("body_start", "strings", "charset")

    def __init__(self, body_start: int, strings: bytes, charset: str) -> None:
        self.body_start = body_start
        self.strings = strings
        self.charset = charset


def _read_header(data: bytes) -> _Header:
    if not data:
        raise WBXMLError(0, "empty document")
    version = data[0]
    if version > 0x03:
        raise WBXMLError(0, f"unsupported WBXML version byte 0x{version:02X}")
    public_id, pos = read_mb_u_int32(data, 1)
    public_id_index = None
    if public_id == 0:  # the public id is a string in the string table
        public_id_index, pos = read_mb_u_int32(data, pos)
    charset_number, charset_at = 106, pos
    if version > 0x00:  # WBXML 1.0 has no charset field
        charset_number, pos = read_mb_u_int32(data, pos)
    charset = _CHARSETS.get(charset_number)
    if charset is None:
        raise WBXMLError(charset_at, f"unsupported charset (MIBenum {charset_number})")
    length_at = pos
    length, pos = read_mb_u_int32(data, pos)
    if pos + length > len(data):
        raise WBXMLError(length_at, f"string table of {length} bytes runs past the end")
    strings = data[pos:pos + length]
    if public_id_index is not None and public_id_index >= length:
        raise WBXMLError(length_at, "public id index outside the string table")
    return _Header(pos + length, strings, charset)


def _table_string(header: _Header, offset: int, at: int) -> bytes:
    strings = header.strings
    if offset >= len(strings):
        raise WBXMLError(at, f"string table offset {offset} out of range")
    end = strings.find(0, offset)
    if end < 0:
        raise WBXMLError(at, f"string table entry at {offset} has no terminating NUL")
    return strings[offset:end]


def _as_text(raw: bytes, charset: str, at: int) -> str:
    try:
        return raw.decode(charset)
    except UnicodeDecodeError:
        raise WBXMLError(at, f"string is not valid {charset}") from None


def _append_text(parent: etree._Element, last: etree._Element | None, text: str, at: int) -> None:
    """Add text to ``parent``'s content: its text, or the tail of its last child so far."""
    try:
        if last is None:
            old = parent.text
            parent.text = text if old is None else old + text
        else:
            old = last.tail
            last.tail = text if old is None else old + text
    except ValueError:
        raise WBXMLError(at, "string holds a character XML cannot carry") from None


def _append_opaque(parent: etree._Element, data: bytes) -> None:
    if parent.get(OPAQUE_ATTR) == OPAQUE_BASE64:  # a second OPAQUE in one element
        data = base64.b64decode(parent.text or "") + data
    parent.text = base64.b64encode(data).decode("ascii")
    parent.set(OPAQUE_ATTR, OPAQUE_BASE64)


def _global_token_error(byte: int, pos: int) -> WBXMLError:
    name = GLOBAL_TOKEN_NAMES.get(byte, f"0x{byte:02X}")
    if name.startswith("LITERAL"):
        return WBXMLError(pos, f"{name} tag: EAS names every tag by a code page token")
    return WBXMLError(pos, f"{name} token is not used by EAS")


def decode(data: bytes | bytearray | memoryview) -> etree._Element:
    """Decode an EAS WBXML body into its root element; raises only :class:`WBXMLError`."""
    if not isinstance(data, bytes):
        data = bytes(data)
    header = _read_header(data)
    return _decode_body(data, header)


def _decode_body(data: bytes, header: _Header) -> etree._Element:  # noqa: C901 - one loop
    sub_element = etree.SubElement
    charset = header.charset
    utf8 = charset == "utf-8"
    tags = DECODE_TABLE[0]
    page = 0
    pos = header.body_start
    size = len(data)
    root = None
    parent = None           # the element whose content is being read
    stack: list = []        # the ancestors of ``parent``
    last = None             # ``parent``'s latest closed child (text after it is its tail)
    opaque_element = None   # the element that last received OPAQUE data

    while pos < size:
        byte = data[pos]
        token = byte & 0x3F
        if token >= 0x05:  # a tag
            name = tags[token]
            if name is None:
                raise WBXMLError(pos, f"unknown tag token 0x{token:02X} on code page "
                                      f"{page} ({PAGE_NAMES[page]})")
            if byte & 0x80:
                raise WBXMLError(pos, "tag with attributes: EAS defines no attributes")
            if parent is None:
                if root is not None:
                    raise WBXMLError(pos, "data after the end of the root element")
                element = root = etree.Element(name)
            else:
                element = sub_element(parent, name)
            pos += 1
            if byte & 0x40:
                if len(stack) >= MAX_DEPTH:
                    raise WBXMLError(pos - 1, f"elements nested deeper than {MAX_DEPTH}")
                stack.append(parent)
                parent = element
                last = None
            else:
                last = element
        elif byte == STR_I:
            end = data.find(0, pos + 1)
            if end < 0:
                raise WBXMLError(pos, "inline string without terminating NUL")
            if parent is None:
                raise WBXMLError(pos, "text outside the root element")
            if parent is opaque_element:
                raise WBXMLError(pos, "string mixed with opaque data in one element")
            raw = data[pos + 1:end]
            if utf8 and last is None and parent.text is None:
                try:  # the common case: the one string of a leaf element
                    parent.text = raw.decode()
                except (UnicodeDecodeError, ValueError):
                    _append_text(parent, last, _as_text(raw, charset, pos), pos)
            else:
                _append_text(parent, last, _as_text(raw, charset, pos), pos)
            pos = end + 1
        elif byte == END:
            if parent is None:
                raise WBXMLError(pos, "END without an open element")
            last = parent
            parent = stack.pop()
            pos += 1
        elif byte == SWITCH_PAGE:
            if pos + 1 >= size:
                raise WBXMLError(pos, "truncated SWITCH_PAGE")
            page = data[pos + 1]
            tags = DECODE_TABLE[page]
            if tags is None:
                raise WBXMLError(pos + 1, f"unknown code page {page}")
            pos += 2
        elif byte == OPAQUE:
            length, start = read_mb_u_int32(data, pos + 1)
            if start + length > size:
                raise WBXMLError(pos, f"opaque data of {length} bytes runs past the end")
            if parent is None:
                raise WBXMLError(pos, "opaque data outside the root element")
            if last is not None:
                raise WBXMLError(pos, "opaque data after a child element")
            if parent.text is not None and parent is not opaque_element:
                raise WBXMLError(pos, "opaque data mixed with a string in one element")
            _append_opaque(parent, data[start:start + length])
            opaque_element = parent
            pos = start + length
        elif byte == STR_T:
            offset, after = read_mb_u_int32(data, pos + 1)
            if parent is None:
                raise WBXMLError(pos, "text outside the root element")
            if parent is opaque_element:
                raise WBXMLError(pos, "string mixed with opaque data in one element")
            raw = _table_string(header, offset, pos)
            _append_text(parent, last, _as_text(raw, charset, pos), pos)
            pos = after
        elif byte == ENTITY:
            code, after = read_mb_u_int32(data, pos + 1)
            if parent is None:
                raise WBXMLError(pos, "text outside the root element")
            if parent is opaque_element:
                raise WBXMLError(pos, "string mixed with opaque data in one element")
            if code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
                raise WBXMLError(pos, f"character entity {code} is not a character")
            _append_text(parent, last, chr(code), pos)
            pos = after
        else:
            raise _global_token_error(byte, pos)

    if root is None:
        raise WBXMLError(size, "no root element")
    if parent is not None:
        raise WBXMLError(size, f"truncated: {len(stack)} element(s) still open")
    return root
