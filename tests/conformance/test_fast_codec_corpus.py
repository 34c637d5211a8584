"""The C codec the gateway runs against the Python reference on every corpus document:
the same bytes written, the same tree read back (texts, tails, '' and None alike), and
libxml2 takes every XML text the C decoder writes on the way."""
from __future__ import annotations

import pytest
from corpus import DOCUMENTS
from lxml import etree

from protocol.wbxml import decoder, encoder, fast


def shape(element: etree._Element):
    return (element.tag, element.text, element.tail, dict(element.attrib),
            [shape(child) for child in element])


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_the_c_codec_writes_and_reads_as_the_reference(name):
    document = DOCUMENTS[name]()
    body = encoder.encode(document)
    assert fast.encode(document) == body
    xml, texts = fast._speedups.to_xml(body)
    assert shape(fast.parse(xml, texts)) == shape(decoder.decode(body))
