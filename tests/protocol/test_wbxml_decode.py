"""The decoder: every part of WBXML 1.x that EAS can send, and one clear error for the rest."""
from __future__ import annotations

import base64

import pytest

from protocol.wbxml import MAX_DEPTH, WBXMLError, decode
from protocol.wbxml.codepages import DECODE_TABLE, PAGE_NAMES, all_tags
from protocol.wbxml.decoder import read_mb_u_int32
from protocol.xml import is_opaque, opaque_bytes

HEADER = bytes((0x03, 0x01, 0x6A, 0x00))

# MS-ASWBXML 4.1: a Sync response adding a contact, byte for byte as the spec prints it.
SPEC_EXAMPLE = bytes.fromhex(
    "03016A00455C4F5003436F6E746163747300014B033200015203320001 4E0331000156474D03323A3100015D"
    "00114A46033100014C033000014D03310001010001 5E0346756E6B2C20446F6E00015F03446F6E000169"
    "0346756E6B000100115603310001010101010101".replace(" ", "")
)


def test_the_ms_aswbxml_contact_example():
    root = decode(SPEC_EXAMPLE)
    assert root.tag == "{AirSync:}Sync"
    data = root.find(".//{AirSync:}ApplicationData")
    assert [child.tag for child in data] == [
        "{AirSyncBase:}Body", "{Contacts:}FileAs", "{Contacts:}FirstName",
        "{Contacts:}LastName", "{AirSyncBase:}NativeBodyType"]
    assert data.findtext("{Contacts:}FileAs") == "Funk, Don"
    assert data.findtext("{AirSyncBase:}Body/{AirSyncBase:}Truncated") == "1"


def test_all_26_pages_are_known():
    assert sorted(PAGE_NAMES) == list(range(26))
    assert PAGE_NAMES[16] == "GAL" and PAGE_NAMES[6] == "GetItemEstimate"
    assert all(DECODE_TABLE[number] is not None for number in range(26))
    assert DECODE_TABLE[26] is None


@pytest.mark.parametrize(("page", "token", "name"), all_tags())
def test_each_tag_decodes_to_its_name(page, token, name):
    assert decode(HEADER + bytes((0x00, page, token))).tag == name


def test_inline_strings_are_utf8():
    root = decode(HEADER + b"\x00\x02\x54\x03" + "Grüße 📅".encode() + b"\x00\x01")
    assert root.tag == "{Email:}Subject" and root.text == "Grüße 📅"


def test_string_table_references():
    table = b"Inbox\x00Sent\x00"
    body = bytes((0x03, 0x01, 0x6A, len(table))) + table
    body += b"\x00\x07\x45\x47\x83\x06\x01\x47\x83\x00\x03 Items\x00\x01\x01"
    root = decode(body)
    assert [child.text for child in root] == ["Sent", "Inbox Items"]


def test_public_id_held_in_the_string_table():
    table = b"-//MICROSOFT//DTD ActiveSync//EN\x00"
    body = bytes((0x03, 0x00, 0x00, 0x6A, len(table))) + table + b"\x00\x0d\x05"
    assert decode(body).tag == "{Ping:}Ping"


@pytest.mark.parametrize("version", [0x01, 0x02, 0x03])
def test_versions_1_1_to_1_3(version):
    assert decode(bytes((version, 0x01, 0x6A, 0x00, 0x45, 0x01))).tag == "{AirSync:}Sync"


def test_version_1_0_has_no_charset():
    assert decode(bytes((0x00, 0x01, 0x00, 0x45, 0x01))).tag == "{AirSync:}Sync"


def test_multi_byte_header_fields():
    body = bytes((0x03, 0x81, 0x01, 0x6A, 0x00, 0x45, 0x01))  # public id 129
    assert decode(body).tag == "{AirSync:}Sync"


def test_opaque_data_becomes_base64_text():
    root = decode(HEADER + b"\x00\x16\x49\xc3\x04\x00\x01\xff\x7f\x01")
    assert is_opaque(root)
    assert opaque_bytes(root) == b"\x00\x01\xff\x7f"
    assert root.text == base64.b64encode(b"\x00\x01\xff\x7f").decode()


def test_opaque_length_as_multi_byte_integer():
    payload = bytes(range(256)) * 2
    body = HEADER + b"\x00\x15\x50\xc3\x84\x00" + payload + b"\x01"
    assert opaque_bytes(decode(body)) == payload


def test_character_entities():
    assert decode(HEADER + b"\x00\x02\x54\x02\x81\x7f\x01").text == "\u00ff"


def test_empty_tags_and_tags_with_empty_content():
    root = decode(HEADER + b"\x45\x13\x53\x01\x01")
    assert [child.text for child in root] == [None, None]


def test_mb_u_int32_limits():
    assert read_mb_u_int32(b"\x8f\xff\xff\xff\x7f", 0) == (0xFFFFFFFF, 5)
    with pytest.raises(WBXMLError, match="above 2"):
        read_mb_u_int32(b"\x9f\xff\xff\xff\x7f", 0)
    with pytest.raises(WBXMLError, match="longer than 5"):
        read_mb_u_int32(b"\x81\x80\x80\x80\x80\x00", 0)
    with pytest.raises(WBXMLError, match="truncated"):
        read_mb_u_int32(b"\x81\x80", 0)


BAD_BODIES = {
    "empty": (b"", 0, "empty document"),
    "version": (b"\x04\x01\x6a\x00\x45\x01", 0, "version"),
    "charset": (b"\x03\x01\x71\x00\x45\x01", 2, "charset"),
    "no root": (HEADER, 4, "no root element"),
    "truncated": (HEADER + b"\x45\x5c", 6, "still open"),
    "string table too long": (b"\x03\x01\x6a\x05ab", 3, "string table"),
    "public id index": (b"\x03\x00\x05\x6a\x02a\x00\x45\x01", 4, "public id index"),
    "unknown page": (HEADER + b"\x00\x1a\x05", 5, "unknown code page 26"),
    "unknown token": (HEADER + b"\x00\x19\x0f", 6, "unknown tag token 0x0F"),
    "attributes": (HEADER + b"\xc5\x01\x01", 4, "attributes"),
    "literal": (HEADER + b"\x04\x00", 4, "LITERAL"),
    "literal with content": (HEADER + b"\x45\x44\x00\x01", 5, "LITERAL_C"),
    "extension": (HEADER + b"\x45\xc0\x01", 5, "EXT_0"),
    "processing instruction": (HEADER + b"\x43", 4, "PI"),
    "unterminated string": (HEADER + b"\x45\x03abc", 5, "terminating NUL"),
    "invalid utf-8": (HEADER + b"\x45\x03\xff\xfe\x00\x01", 5, "not valid utf-8"),
    "control character": (HEADER + b"\x45\x03a\x07b\x00\x01", 5, "XML cannot carry"),
    "string table offset": (HEADER + b"\x45\x83\x05\x01", 5, "offset 5 out of range"),
    "opaque too long": (HEADER + b"\x45\xc3\x10abc\x01", 5, "runs past the end"),
    "opaque and string": (HEADER + b"\x45\x03a\x00\xc3\x01x\x01", 8, "mixed"),
    "string and opaque": (HEADER + b"\x45\xc3\x01x\x03a\x00\x01", 8, "mixed"),
    "after the root": (HEADER + b"\x45\x01\x45\x01", 6, "after the end"),
    "stray end": (HEADER + b"\x01", 4, "END without"),
    "text at top": (HEADER + b"\x03a\x00", 4, "outside the root"),
    "truncated switch": (HEADER + b"\x00", 4, "SWITCH_PAGE"),
    "entity above unicode": (HEADER + b"\x45\x02\x84\x80\x80\x00\x01", 5, "not a character"),
}


@pytest.mark.parametrize("name", sorted(BAD_BODIES))
def test_bad_bodies_raise_one_wbxml_error(name):
    body, offset, reason = BAD_BODIES[name]
    with pytest.raises(WBXMLError) as raised:
        decode(body)
    assert raised.value.offset == offset
    assert reason in raised.value.reason
    assert isinstance(raised.value, ValueError)


def test_nesting_is_bounded():
    deep = HEADER + b"\x45" * MAX_DEPTH + b"\x01" * MAX_DEPTH
    assert decode(deep).tag == "{AirSync:}Sync"
    with pytest.raises(WBXMLError, match="nested deeper"):
        decode(HEADER + b"\x45" * (MAX_DEPTH + 1) + b"\x01" * (MAX_DEPTH + 1))


def test_memoryview_and_bytearray_input():
    body = HEADER + b"\x45\x01"
    assert decode(bytearray(body)).tag == decode(memoryview(body)).tag == "{AirSync:}Sync"
