"""protocol.xml's builders: what each kind of child becomes."""
from __future__ import annotations

import pytest

from protocol import wbxml
from protocol.xml import E, is_opaque, opaque_bytes, sub

BINARY = b"\x00\x01MIME-Version: 1.0\r\n\xff"


def test_bytes_child_of_E_is_opaque_data_as_with_sub():
    built = E("ComposeMail:Mime", BINARY)
    parent = E("ComposeMail:SendMail")
    by_sub = sub(parent, "ComposeMail:Mime", BINARY)
    assert is_opaque(built) and opaque_bytes(built) == BINARY
    assert built.text == by_sub.text and built.attrib == by_sub.attrib
    assert "b'" not in (built.text or "")  # not the bytes' repr


def test_bytes_child_of_E_is_encoded_as_wbxml_opaque():
    encoded = wbxml.encode(E("ComposeMail:SendMail", E("ComposeMail:Mime", BINARY)))
    opaque = bytes([0xC3, len(BINARY)]) + BINARY  # OPAQUE, mb_u_int32 length, the bytes
    assert opaque in encoded
    assert opaque_bytes(wbxml.decode(encoded)[0]) == BINARY


def test_several_bytes_children_are_joined():
    assert opaque_bytes(E("AirSyncBase:Data", b"ab", None, b"cd")) == b"abcd"


@pytest.mark.parametrize("children", [("text", b"bytes"), (b"bytes", "text")])
def test_text_and_opaque_data_do_not_mix(children):
    with pytest.raises(ValueError):
        E("Email:Subject", *children)


def test_text_children_are_unchanged():
    assert E("AirSync:WindowSize", 5, "0").text == "50"
    assert not is_opaque(E("AirSync:WindowSize", 5))
