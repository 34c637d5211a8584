"""An lxml tree → EAS WBXML bytes, as real clients and Exchange write them: the reference.

The gateway runs the same rules in C (:mod:`protocol.wbxml.fast`); this module is what the
tests hold that to, byte for byte and error for error.

The header is ``03 01 6A 00``: WBXML 1.3, unknown public id, UTF-8, no string table.
Every text is an inline string (``STR_I``); an element marked ``opaque="base64"`` (see
``protocol.xml``) is written as ``OPAQUE`` with the decoded bytes. An element with neither
text nor children is written without the content bit, so it needs no ``END``.

Whitespace-only text between child elements is layout, not content (an indented XML file
read back in), and is left out; other text around child elements is written where it
stands. Comments and processing instructions are skipped, the text after them is not.
Tags must be in a code-page namespace, with or without the trailing colon
(``{AirSync:}Sync`` or ``{AirSync}Sync``); anything else raises :class:`WBXMLEncodeError`,
as do attributes other than the opaque marker (EAS defines none) and entity references.
"""
from __future__ import annotations

import base64
import binascii

from lxml import etree

from protocol.wbxml.codepages import ENCODE_TABLE
from protocol.wbxml.decoder import END, MAX_DEPTH, OPAQUE, STR_I, SWITCH_PAGE
from protocol.wbxml.errors import WBXMLEncodeError
from protocol.xml import OPAQUE_ATTR, OPAQUE_BASE64

HEADER = bytes((0x03, 0x01, 0x6A, 0x00))
_CONTENT = 0x40


def mb_u_int32(value: int) -> bytes:
    """A WBXML multi-byte integer: 7 bits a byte, most significant first."""
    if not 0 <= value <= 0xFFFFFFFF:
        raise ValueError(f"{value} does not fit a WBXML multi-byte integer")
    out = [value & 0x7F]
    value >>= 7
    while value:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    return bytes(reversed(out))


def _path(element: etree._Element) -> str:
    steps = []
    while element is not None:
        qname = etree.QName(element)
        page = (qname.namespace or "").rstrip(":")
        steps.append(f"{page}:{qname.localname}" if page else qname.localname)
        element = element.getparent()
    return "/" + "/".join(reversed(steps))


def _opaque(element: etree._Element) -> bytes:
    try:
        return base64.b64decode(element.text or "", validate=True)
    except (binascii.Error, ValueError):
        raise WBXMLEncodeError(_path(element), "opaque content is not valid base64") from None


def _check_attributes(element: etree._Element) -> bool:
    """True when the element carries opaque data; any other attribute is an error."""
    names = element.keys()
    if not names:
        return False
    if names == [OPAQUE_ATTR] and element.get(OPAQUE_ATTR) == OPAQUE_BASE64:
        return True
    other = next(n for n in names if n != OPAQUE_ATTR or element.get(n) != OPAQUE_BASE64)
    raise WBXMLEncodeError(_path(element), f"attribute {other!r}: EAS documents carry none")


def _unknown_tag(element: etree._Element) -> WBXMLEncodeError:
    qname = etree.QName(element)
    if not qname.namespace:
        return WBXMLEncodeError(_path(element), "tag has no code-page namespace")
    return WBXMLEncodeError(_path(element), "no MS-ASWBXML code page holds this tag")


def _append_tail(out: bytearray, node: etree._Element) -> None:
    tail = node.tail
    if tail and not tail.isspace():
        out.append(STR_I)
        out.extend(tail.encode("utf-8"))
        out.append(0)


def encode(root: etree._Element | etree._ElementTree) -> bytes:
    """Encode a document (its root element) as EAS WBXML."""
    if isinstance(root, etree._ElementTree):
        root = root.getroot()
    out = bytearray(HEADER)
    append = out.append
    extend = out.extend
    table = ENCODE_TABLE
    page = 0
    open_with_content: list[bool] = []

    for event, element in etree.iterwalk(root, events=("start", "end", "comment", "pi")):
        if event in ("comment", "pi"):
            _append_tail(out, element)
        elif event == "start":
            if not isinstance(element.tag, str):  # iterwalk yields entity references too
                raise WBXMLEncodeError(_path(element.getparent()),
                                       f"entity reference &{element.name};: "
                                       "EAS documents carry none")
            found = table.get(element.tag)
            if found is None:
                raise _unknown_tag(element)
            if len(open_with_content) >= MAX_DEPTH:
                raise WBXMLEncodeError(_path(element), f"nested deeper than {MAX_DEPTH}")
            tag_page, token = found
            if tag_page != page:
                append(SWITCH_PAGE)
                append(tag_page)
                page = tag_page
            text = element.text
            has_children = len(element) > 0
            if has_children and text is not None and text.isspace():
                text = None
            if element.attrib and _check_attributes(element):
                append(token | _CONTENT)
                data = _opaque(element)
                append(OPAQUE)
                extend(mb_u_int32(len(data)))
                extend(data)
                open_with_content.append(True)
            elif text or has_children:
                append(token | _CONTENT)
                if text:
                    append(STR_I)
                    extend(text.encode("utf-8"))
                    append(0)
                open_with_content.append(True)
            else:
                append(token)
                open_with_content.append(False)
        else:
            if open_with_content.pop():
                append(END)
            if element is not root:
                _append_tail(out, element)
    return bytes(out)
