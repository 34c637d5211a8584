"""Small helpers to build and read EAS documents as lxml trees.

Tags are written the way MS-ASWBXML names them, prefixed by their code page:
``"AirSync:Sync"`` is the element ``{AirSync:}Sync``. The namespace URI of a code page is
its name followed by a colon, as Debian's libwbxml spells it.
"""
from __future__ import annotations

import base64
from collections.abc import Iterable

from lxml import etree

Element = etree._Element


def qname(tag: str) -> str:
    """``"Email:Subject"`` → ``"{Email:}Subject"``; a tag already in Clark notation is kept."""
    if tag.startswith("{"):
        return tag
    page, _, local = tag.rpartition(":")
    if not page:
        raise ValueError(f"tag {tag!r} names no code page")
    return f"{{{page}:}}{local}"


def local_name(element: Element) -> str:
    return etree.QName(element).localname


def page_name(element: Element) -> str:
    """The code page an element belongs to, without the trailing colon."""
    return (etree.QName(element).namespace or "").rstrip(":")


def E(tag: str, *children: Element | str | int | bytes | None, **_: object) -> Element:
    """Build an element; string or int children become its text, bytes its opaque data
    (as `sub` does), None children are skipped."""
    element = etree.Element(qname(tag))
    for child in children:
        if child is None:
            continue
        if isinstance(child, etree._Element):
            element.append(child)
        elif isinstance(child, bytes | bytearray):
            if element.text and not is_opaque(element):
                raise ValueError(f"{tag}: opaque data cannot follow text")
            set_opaque(element, opaque_bytes(element) + bytes(child))
        else:
            if is_opaque(element):
                raise ValueError(f"{tag}: text cannot follow opaque data")
            element.text = (element.text or "") + str(child)
    return element


def sub(parent: Element, tag: str, text: str | int | bytes | None = None) -> Element:
    """Append a child element, with text (str/int) or opaque data (bytes)."""
    child = etree.SubElement(parent, qname(tag))
    if isinstance(text, bytes):
        set_opaque(child, text)
    elif text is not None:
        child.text = str(text)
    return child


# Opaque WBXML data (the OPAQUE token: MIME, ConversationId, certificates …) may hold bytes
# that XML cannot (control characters, invalid UTF-8), so an element carrying it holds the
# bytes base64-encoded, marked by this attribute. The encoder writes it back as OPAQUE.
OPAQUE_ATTR = "opaque"
OPAQUE_BASE64 = "base64"


def set_opaque(element: Element, data: bytes) -> Element:
    element.text = base64.b64encode(data).decode("ascii")
    element.set(OPAQUE_ATTR, OPAQUE_BASE64)
    return element


def is_opaque(element: Element) -> bool:
    return element.get(OPAQUE_ATTR) == OPAQUE_BASE64


def opaque_bytes(element: Element) -> bytes:
    """The bytes of an element whose content is opaque data (or else its UTF-8 text)."""
    if is_opaque(element):
        return base64.b64decode(element.text or "")
    return (element.text or "").encode("utf-8")


def child(element: Element, tag: str) -> Element | None:
    return element.find(qname(tag))


def children(element: Element, tag: str) -> list[Element]:
    return element.findall(qname(tag))


def text(element: Element | None, tag: str | None = None, default: str | None = None) -> str | None:
    """Text of ``element`` (or of its child ``tag``); ``default`` when absent."""
    if element is None:
        return default
    if tag is not None:
        element = element.find(qname(tag))
        if element is None:
            return default
    return element.text if element.text is not None else ""


def iter_tags(elements: Iterable[Element]) -> list[str]:
    return [f"{page_name(e)}:{local_name(e)}" for e in elements]


def to_pretty_xml(root: Element) -> str:
    """Indented XML for people (traces, `easgate wbxml decode`)."""
    return etree.tostring(root, pretty_print=True, encoding="unicode")
