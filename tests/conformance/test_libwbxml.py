"""Cross-check with Debian's libwbxml: each side reads what the other writes.

Documents are compared as infosets (tags, texts, children in order, opaque data as
bytes); libwbxml's own tag names are mapped in ``libwbxml.py``. libwbxml writes with a
string table (``STR_T``) and a public id held in it, so reading its output also
exercises those parts of the decoder.
"""
from __future__ import annotations

import pytest
from corpus import DOCUMENTS
from libwbxml import (
    MISSING_PAGES,
    MISSING_TAGS,
    agree,
    comparable,
    decode_with_libwbxml,
    encode_with_libwbxml,
    supported,
)
from lxml import etree

from protocol.wbxml import decode, encode
from protocol.wbxml.codepages import PAGE_NAMES, TAGS, clark
from protocol.wbxml.xmlview import infoset

COMPARABLE = sorted(name for name, build in DOCUMENTS.items() if supported(build()))
# The documents libwbxml cannot hold: the Find page and tags added after libwbxml 0.11.8.
NOT_COMPARABLE = {"find_request", "find_response", "find_request_gal",
                  "provision_response_wipe"}


def test_only_documents_with_tags_libwbxml_lacks_are_left_out():
    assert set(DOCUMENTS) - set(COMPARABLE) == NOT_COMPARABLE


@pytest.mark.parametrize("name", COMPARABLE)
def test_libwbxml_reads_what_we_write(name):
    document = DOCUMENTS[name]()
    theirs = decode_with_libwbxml(encode(document))
    assert agree(comparable(infoset(document)), comparable(infoset(theirs)))


@pytest.mark.parametrize("name", COMPARABLE)
def test_we_read_what_libwbxml_writes(name):
    document = DOCUMENTS[name]()
    ours = decode(encode_with_libwbxml(document))
    assert agree(comparable(infoset(document)), comparable(infoset(ours)))


def test_libwbxml_output_uses_the_string_table():
    body = encode_with_libwbxml(DOCUMENTS["sync_response_mail"]())
    assert body[1] == 0x00  # public id given as a string-table index
    assert 0x83 in body     # STR_T references
    assert decode(body).tag == "{AirSync:}Sync"


@pytest.mark.parametrize("page", sorted(set(PAGE_NAMES) - {25}))
def test_every_token_of_a_page_means_the_same_tag_to_libwbxml(page):
    name = PAGE_NAMES[page]
    tags = [tag for tag in TAGS[page].values() if (name, tag) not in MISSING_TAGS]
    root = etree.Element(clark(name, tags[0]))
    for tag in tags[1:]:
        etree.SubElement(root, clark(name, tag))
    theirs = decode_with_libwbxml(encode(root))
    assert [theirs.tag] + [child.tag for child in theirs] == [clark(name, t) for t in tags]


def test_find_is_the_page_libwbxml_lacks():
    assert MISSING_PAGES == {PAGE_NAMES[25]}


def test_the_comparison_notices_a_changed_text():
    document = DOCUMENTS["ping_request"]()
    theirs = decode_with_libwbxml(encode(document))
    theirs.find(".//{Ping:}Class").text = "Tasks"
    assert not agree(comparable(infoset(document)), comparable(infoset(theirs)))
