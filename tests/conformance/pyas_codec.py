"""The WBXML codec inside the PyPI package ``pyactivesync`` (0.17.0), as a second codec we
did not write.

pyactivesync holds a subset of MS-ASWBXML (17 pages, the tags its client sends and reads),
names page 6 ``ItemEstimate``, ComposeMail's Mime ``MIME`` and Find's GalSearchCriterion
``GALSearchCriterion`` (as MS-ASCMD does), and reads an unknown token
as a placeholder like ``Email.0x29``. Its Find page puts MaxPictures, MaxSize and Picture
at 0x1A–0x1C where MS-ASWBXML (2.1.2.1.26) has 0x20–0x22: documents with those tags are
not handed to its writer.
"""
from __future__ import annotations

import re

from lxml import etree
from pyactivesync._codepages import CODEPAGES, PAGE_INDEX
from pyactivesync._wbxml import WBXMLReader, WBXMLWriter, wtag

from protocol.wbxml.codepages import PAGE_NAMES, TAGS
from protocol.wbxml.xmlview import Infoset
from protocol.xml import is_opaque, opaque_bytes

PAGE_NAMES_THEIRS = {"GetItemEstimate": "ItemEstimate"}  # our page name → pyactivesync's
TAG_NAMES_THEIRS = {  # (our page, our tag) → theirs
    ("ComposeMail", "Mime"): "MIME",
    ("Find", "GalSearchCriterion"): "GALSearchCriterion",
}
WRONG_IN_PYACTIVESYNC = {("Find", "MaxPictures"), ("Find", "MaxSize"), ("Find", "Picture")}

_PAGE_NAMES_OURS = {theirs: ours for ours, theirs in PAGE_NAMES_THEIRS.items()}
_TAG_NAMES_OURS = {(page, theirs): tag for (page, tag), theirs in TAG_NAMES_THEIRS.items()}
_PLACEHOLDER = re.compile(r"0x([0-9A-F]{2})")


def _split(clark: str) -> tuple[str, str]:
    namespace, _, local = clark[1:].partition("}")
    return namespace.rstrip(":"), local


def _their_page_and_tag(clark: str) -> tuple[str, str]:
    page, tag = _split(clark)
    return PAGE_NAMES_THEIRS.get(page, page), TAG_NAMES_THEIRS.get((page, tag), tag)


def can_write(root: etree._Element) -> bool:
    """Does pyactivesync's table hold (rightly) every tag of this document?"""
    for element in root.iter(tag=etree.Element):
        page, tag = _split(element.tag)
        if (page, tag) in WRONG_IN_PYACTIVESYNC:
            return False
        their_page, their_tag = _their_page_and_tag(element.tag)
        if their_tag not in CODEPAGES.get(their_page, {}):
            return False
    return True


def encode_with_pyactivesync(root: etree._Element) -> bytes:
    writer = WBXMLWriter()
    _builder(root)(writer)
    return writer.render()


def _builder(element: etree._Element):
    page, tag = _their_page_and_tag(element.tag)
    children = [_builder(child) for child in element.iterchildren(tag=etree.Element)]
    if is_opaque(element):
        return wtag(page, tag, children or None, opaque=opaque_bytes(element))
    text = None if children else (element.text or None)
    return wtag(page, tag, children or None, text)


def decode_with_pyactivesync(body: bytes) -> Infoset:
    """pyactivesync's reading of a body, as an infoset in our names."""
    nodes = WBXMLReader(body).parse()
    assert len(nodes) == 1, f"pyactivesync read {len(nodes)} root nodes"
    return _infoset(nodes[0])


def _our_name(path: str) -> str:
    page, _, tag = path.partition(".")
    if page.startswith("page") and page[4:].isdigit():
        number = int(page[4:])
        page = PAGE_NAMES[number]
    page = _PAGE_NAMES_OURS.get(page, page)
    placeholder = _PLACEHOLDER.fullmatch(tag)
    if placeholder:  # a token pyactivesync does not know: named from its number
        tag = TAGS[_page_number(page)][int(placeholder.group(1), 16)]
    tag = _TAG_NAMES_OURS.get((page, tag), tag)
    return f"{{{page}:}}{tag}"


def _page_number(page: str) -> int:
    ours = {name: number for number, name in PAGE_NAMES.items()}
    return ours.get(page, PAGE_INDEX.get(page, -1))


def _infoset(node) -> Infoset:
    path, _, children = node
    texts = [value for name, value, _ in children if name == "#text"]
    opaque = [value for name, value, _ in children if name == "#opaque"]
    content: str | bytes | None = None
    if opaque:
        content = b"".join(bytes(value) for value in opaque)
    elif texts:
        content = "".join(texts) or None
    elements = tuple(_infoset(child) for child in children if not child[0].startswith("#"))
    return (_our_name(path), content, elements)
