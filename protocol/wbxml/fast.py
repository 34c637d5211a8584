"""The codec as the gateway runs it: the reference's rules, with the hot loops in C.

(measurements: to be filled in)
"""
from __future__ import annotations

import logging

from lxml import etree

from protocol.wbxml import decoder as reference_decoder
from protocol.wbxml.codepages import ENCODE_TABLE, PAGE_NAMES, TAGS
from protocol.wbxml.decoder import GLOBAL_TOKEN_NAMES, MAX_DEPTH
from protocol.wbxml.errors import WBXMLEncodeError, WBXMLError

try:
    from protocol.wbxml import _speedups
except ImportError as error:  # no silent fallback: the pure-Python codec is 2-5x slower
    raise ImportError(
        "protocol.wbxml._speedups, the WBXML codec's C extension, is not built; "
        "`pip install -e .` (or `make install`) builds it with gcc and the Python headers"
    ) from error

_speedups.setup(
    dict(PAGE_NAMES), {number: dict(tags) for number, tags in TAGS.items()},
    dict(ENCODE_TABLE), dict(GLOBAL_TOKEN_NAMES), MAX_DEPTH, WBXMLError, WBXMLEncodeError,
)

# The XML text to_xml writes declares no DTD and references no entity but the predefined
# ones and character references; huge_tree lifts libxml2's 10 MB cap on one text (a large
# attachment's opaque data), collect_ids=False skips an index no one reads.
_PARSER = etree.XMLParser(
    huge_tree=True, resolve_entities=False, no_network=True, load_dtd=False, collect_ids=False,
)

log = logging.getLogger(__name__)


def parse(xml: bytes, texts: list[tuple[int, bool, str]] | None) -> etree._Element:
    """The tree of what :func:`_speedups.to_xml` returned: its XML text, then the texts it
    left out, set on their elements (by index in document order) as text or tail."""
    root = etree.fromstring(xml, _PARSER)
    if texts:
        _speedups.fill_texts(root, texts)
    return root


def decode(data: bytes | bytearray | memoryview) -> etree._Element:
    """Decode an EAS WBXML body into its root element; raises only :class:`WBXMLError`."""
    xml, texts = _speedups.to_xml(data)
    try:
        return parse(xml, texts)
    except etree.XMLSyntaxError as error:
        # to_xml only writes what the parser takes (the tests hold it to that on the
        # corpus and fuzzed bodies); should it ever not, the body still gets its answer.
        log.error("WBXML to XML produced text libxml2 refused (%s); decoding in Python", error)
        return reference_decoder.decode(data)


def encode(root: etree._Element | etree._ElementTree) -> bytes:
    """Encode a document (its root element) as EAS WBXML; raises :class:`WBXMLEncodeError`."""
    return _speedups.encode(root)
