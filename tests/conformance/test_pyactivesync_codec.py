"""Cross-check with pyactivesync's codec: it reads every corpus document we write, and we
read every corpus document it can write (its tables hold a subset of MS-ASWBXML).

Where pyactivesync does not know a token it reads a placeholder carrying the token's
number; the structure, texts and order are still compared for those elements.
"""
from __future__ import annotations

import pytest
from corpus import DOCUMENTS
from pyas_codec import can_write, decode_with_pyactivesync, encode_with_pyactivesync

from protocol.wbxml import decode, encode
from protocol.wbxml.xmlview import infoset

WRITABLE = sorted(name for name, build in DOCUMENTS.items() if can_write(build()))


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_pyactivesync_reads_what_we_write(name):
    document = DOCUMENTS[name]()
    assert decode_with_pyactivesync(encode(document)) == infoset(document)


@pytest.mark.parametrize("name", WRITABLE)
def test_we_read_what_pyactivesync_writes(name):
    document = DOCUMENTS[name]()
    assert infoset(decode(encode_with_pyactivesync(document))) == infoset(document)


@pytest.mark.parametrize("name", WRITABLE)
def test_we_write_the_bytes_pyactivesync_writes(name):
    """Same header, same page switches, same content bits: byte for byte."""
    document = DOCUMENTS[name]()
    assert encode(document) == encode_with_pyactivesync(document)


def test_pyactivesync_can_write_the_main_commands():
    assert {"sync_request_mail", "foldersync_response", "ping_request", "sendmail_request",
            "provision_request_ack", "search_request_mailbox", "find_request",
            "getitemestimate_request", "moveitems_request"} <= set(WRITABLE)
