"""Small helpers to build and read EAS documents as lxml trees.

Tags are written the way MS-ASWBXML names them, prefixed by their code page:
``"AirSync:Sync"`` is the element ``{AirSync:}Sync``. The namespace URI of a code page is
its name followed by a colon, as Debian's libwbxml spells it.
"""
from __future__ import annotations

import base64
from collections.abc import Iterable

from lxml import etree

from protocol.numbers import whole_number

Element = etree._Element


def qname(tag: str) -> str:
    """``"Email:Subject"`` → ``"{Email:}Subject"``; a tag already in Clark notation is kept."""
    name = _qnames.get(tag)
    if name is None:
        name = _clark(tag)
        if len(_qnames) < _QNAMES_KEPT:
            _qnames[tag] = name
    return name


def _clark(tag: str) -> str:
    if tag.startswith("{"):
        return tag
    page, _, local = tag.rpartition(":")
    if not page:
        raise ValueError(f"tag {tag!r} names no code page")
    return f"{{{page}:}}{local}"


# Every answer builds a few dozen elements from the same few hundred tags: each is turned
# into Clark notation once. Bounded, in case tags ever come from outside.
_QNAMES_KEPT = 4096
_qnames: dict[str, str] = {}


def local_name(element: Element) -> str:
    tag = element.tag
    if isinstance(tag, str):  # "{page:}local", or "local" outside any page
        return tag[tag.find("}") + 1:]
    return etree.QName(element).localname  # a comment or processing instruction: as lxml says


def page_name(element: Element) -> str:
    """The code page an element belongs to, without the trailing colon."""
    tag = element.tag
    if isinstance(tag, str):
        return tag[1:tag.find("}")].rstrip(":") if tag.startswith("{") else ""
    return (etree.QName(element).namespace or "").rstrip(":")


def E(tag: str, *children: Element | str | int | bytes | None, **_: object) -> Element:
    """Build an element; string or int children become its text, bytes its opaque data
    (as `sub` does), None children are skipped."""
    element = etree.Element(qname(tag))
    if len(children) == 1:  # the usual case, made short: one text, number or element
        only = children[0]
        kind = type(only)
        if kind is str or kind is int:
            element.text = str(only)
            return element
        if kind is etree._Element:
            element.append(only)
            return element
    text: str | None = None
    opaque: bytes | None = None
    for child in children:
        if child is None:
            continue
        if isinstance(child, etree._Element):
            element.append(child)
        elif isinstance(child, bytes | bytearray):
            if text:
                raise ValueError(f"{tag}: opaque data cannot follow text")
            opaque = (opaque or b"") + bytes(child)
        else:
            if opaque is not None:
                raise ValueError(f"{tag}: text cannot follow opaque data")
            text = (text or "") + str(child)
    if opaque is not None:
        set_opaque(element, opaque)
    elif text is not None:
        element.text = text
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


# Children are looked up by tag with iterchildren: `find` and `findall` would take the tag
# for an ElementPath expression and go through its parser and cache (three times the cost).
def child(element: Element, tag: str) -> Element | None:
    return next(element.iterchildren(qname(tag)), None)


def children(element: Element, tag: str) -> list[Element]:
    return list(element.iterchildren(qname(tag)))


def text(element: Element | None, tag: str | None = None, default: str | None = None) -> str | None:
    """Text of ``element`` (or of its child ``tag``); ``default`` when absent."""
    if element is None:
        return default
    if tag is not None:
        element = next(element.iterchildren(qname(tag)), None)
        if element is None:
            return default
    return element.text if element.text is not None else ""


def iter_tags(elements: Iterable[Element]) -> list[str]:
    return [f"{page_name(e)}:{local_name(e)}" for e in elements]


def to_pretty_xml(root: Element) -> str:
    """Indented XML for people (traces, `easgate wbxml decode`)."""
    return etree.tostring(root, pretty_print=True, encoding="unicode")


def top_status(document: Element | None) -> int | None:
    """A command document's top-level Status (Sync's, Ping's, Provision's …); None when
    there is none or it is no whole number."""
    if document is None:
        return None
    for element in document:
        if isinstance(element.tag, str) and local_name(element) == "Status":
            return whole_number(element.text)
    return None
