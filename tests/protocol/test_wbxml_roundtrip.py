"""decode(encode(x)) == x for generated documents made of the real code-page tags."""
from __future__ import annotations

from hypothesis import given, settings
from wbxml_documents import documents

from protocol.wbxml import decode, encode
from protocol.wbxml.xmlview import from_xml, infoset, to_xml


@settings(max_examples=300, deadline=None)
@given(documents())
def test_decode_inverts_encode(document):
    assert infoset(decode(encode(document))) == infoset(document)


@settings(max_examples=100, deadline=None)
@given(documents())
def test_encode_is_stable_through_decode(document):
    body = encode(document)
    assert encode(decode(body)) == body


@settings(max_examples=100, deadline=None)
@given(documents())
def test_the_xml_view_round_trips(document):
    assert infoset(from_xml(to_xml(document))) == infoset(document)
