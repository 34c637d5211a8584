"""The codec as the gateway runs it: the reference's rules, with the hot loops in C.

:mod:`protocol.wbxml.decoder` and :mod:`protocol.wbxml.encoder` are the reference: readable
Python, and what the tests hold this module to — the same tree (texts, tails, ``''`` and
``None`` alike), the same bytes, the same ``WBXMLError(offset, reason)`` and
``WBXMLEncodeError(path, reason)`` on the corpus, on generated documents and bodies, and on
fuzzed bytes. The C half is ``_speedups.c``; it must be built (``pip install -e .``):
importing this module without it fails, it never falls back to the slow path quietly.

How the work is split, and why (measured on ``benchmarks/bench_codec.py``'s 100-mail Sync
response, 262 KB, and its Provision response, against pyactivesync's pure-Python codec):

Decoding. Building the lxml tree from Python costs about 1.3 µs an element, and writing
XML text in Python for lxml to parse was slower still: the reference runs at about
pyactivesync's speed. So C turns the WBXML into XML text (``_speedups.to_xml``) — every
check of the reference on the way, prefixes named after the code pages and declared once
on the root — and ``lxml.etree.fromstring`` builds the whole tree in C. Two details keep
the tree the reference's: a CR is written ``&#13;`` (XML would read a raw one as LF), and
an empty string as an empty CDATA section (lxml then reads ``''``, as the reference set).

Those character references turned out to be most of libxml2's work: a Sync response's
HTML bodies, with their tags and CRLF line ends, need a reference every 16 bytes, and
libxml2 spends on one about what it spends on 60 bytes of plain text (parsing the
escaped document took 3.5 times the work of parsing its structure alone). So a text of one
string that needs many references is left out of the XML text and set afterwards through
lxml's public C API (``_speedups.fill_texts``, by element index in document order): that
halved the work of a Sync response's decoding (27 million instructions to 15, callgrind).

Encoding. ``etree.tostring`` alone takes longer on the Sync response than pyactivesync's
whole encoder, so no serialise-and-convert scheme could reach twice its speed. The C
encoder walks libxml2's nodes in place instead (lxml's public C API hands over the root
node) and writes the WBXML directly, some 8-9 times as fast as pyactivesync.

Result (``python benchmarks/bench_codec.py``, median of 3 runs on a shared machine):
decode sync100 3.2x, provision 3.3x; encode sync100 9.0x, provision 8.0x pyactivesync's
throughput (``--reference``, the pure-Python codec: 1.0-1.2x and 0.3-0.5x).
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
except ImportError as error:  # no quiet fallback: the reference is 3-20x slower
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
