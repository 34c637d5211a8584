"""EAS documents as XML text, for people and files: code-page prefixes out, any spelling in.

``to_xml`` writes each element with its code page as the prefix and declares the pages on
the root (``<AirSync:Sync xmlns:AirSync="AirSync:" xmlns:Email="Email:">``), which is
valid XML that ``from_xml`` — and Debian's ``xml2wbxml`` — read back. ``from_xml`` takes
prefixed or default-namespace XML alike and drops the indentation ``to_xml`` adds.
"""
from __future__ import annotations

import base64

from lxml import etree

from protocol.wbxml.errors import WBXMLEncodeError
from protocol.xml import OPAQUE_ATTR, OPAQUE_BASE64

_PARSER = etree.XMLParser(
    remove_blank_text=True, resolve_entities=False, no_network=True, huge_tree=True,
    load_dtd=False,
)


def _page_prefixes(root: etree._Element) -> dict[str, str]:
    """prefix → namespace URI for every code page used, in order of first use."""
    prefixes: dict[str, str] = {}
    for element in root.iter(tag=etree.Element):
        uri = etree.QName(element).namespace
        if uri and uri not in prefixes.values():
            prefixes[uri.rstrip(":") or "ns"] = uri
    return prefixes


def with_page_prefixes(root: etree._Element) -> etree._Element:
    """A copy of the document whose namespaces carry their code-page names as prefixes."""
    copy = etree.Element(root.tag, attrib=dict(root.attrib), nsmap=_page_prefixes(root))
    copy.text = root.text
    pending = [(root, copy)]
    while pending:
        source, target = pending.pop()
        for child in source.iterchildren(tag=etree.Element):
            twin = etree.SubElement(target, child.tag, attrib=dict(child.attrib))
            twin.text, twin.tail = child.text, child.tail
            pending.append((child, twin))
    return copy


def to_xml(root: etree._Element) -> str:
    """Indented XML of a document, code pages as prefixes, with an XML declaration."""
    text = etree.tostring(with_page_prefixes(root), pretty_print=True, encoding="unicode")
    return '<?xml version="1.0" encoding="utf-8"?>\n' + text


def from_xml(data: bytes | str) -> etree._Element:
    """Parse XML of an EAS document; raises :class:`WBXMLEncodeError` when it is not XML."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    try:
        return etree.fromstring(data, _PARSER)
    except etree.XMLSyntaxError as error:
        line = f"line {error.lineno}" if error.lineno else "input"
        raise WBXMLEncodeError(line, f"not well-formed XML: {error.msg}") from None


Infoset = tuple[str, "str | bytes | None", tuple["Infoset", ...]]


def infoset(element: etree._Element) -> Infoset:
    """What two codecs must agree on: (tag, text — or bytes for opaque data —, children).

    An element without text and one with empty text are the same (WBXML cannot tell
    them apart); comments, processing instructions and tails (layout) are left out.
    """
    if element.get(OPAQUE_ATTR) == OPAQUE_BASE64:
        content: str | bytes | None = base64.b64decode(element.text or "")
    else:
        content = element.text or None
        if content is not None and len(element) and content.isspace():
            content = None
    children = tuple(infoset(child) for child in element.iterchildren(tag=etree.Element))
    return (element.tag, content, children)
