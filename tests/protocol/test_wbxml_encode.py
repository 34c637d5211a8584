"""The encoder: the bytes real clients write, and a clear error for what EAS cannot carry."""
from __future__ import annotations

import pytest
from lxml import etree

from protocol.wbxml import WBXMLEncodeError, decode, encode
from protocol.wbxml.encoder import mb_u_int32
from protocol.wbxml.xmlview import from_xml
from protocol.xml import E, sub


def test_header_and_content_bits():
    body = encode(E("Ping:Ping", E("Ping:Status", "1")))
    assert body == bytes.fromhex("03016a00" "000d" "45" "47" "033100" "01" "01")


def test_empty_elements_have_no_content_bit():
    assert encode(E("AirSync:Sync", E("AirSync:GetChanges"))) == bytes.fromhex("03016a00451301")


def test_page_switches_only_when_the_page_changes():
    root = E("AirSync:Sync", E("Email:Read", "1"), E("Email:Subject", "x"), E("AirSync:Status", "1"))
    body = encode(root)
    assert body.count(b"\x00\x02") == 1 and body.count(b"\x00\x00") == 1


def test_opaque_elements_become_opaque_tokens():
    root = E("ComposeMail:SendMail")
    sub(root, "ComposeMail:Mime", b"\x00\xffMIME")
    assert encode(root).endswith(b"\x50\xc3\x06\x00\xffMIME\x01\x01")


def test_mb_u_int32():
    assert mb_u_int32(0) == b"\x00"
    assert mb_u_int32(0x7F) == b"\x7f"
    assert mb_u_int32(0x80) == b"\x81\x00"
    assert mb_u_int32(0xA0) == b"\x81\x20"
    assert mb_u_int32(0xFFFFFFFF) == b"\x8f\xff\xff\xff\x7f"
    with pytest.raises(ValueError):
        mb_u_int32(1 << 32)


def test_aliases_encode_as_the_canonical_tag():
    assert decode(encode(E("Find:GALSearchCriterion"))).tag == "{Find:}GalSearchCriterion"
    assert decode(encode(E("Calendar:TimeZone"))).tag == "{Calendar:}Timezone"


def test_namespace_without_the_colon_is_accepted():
    root = from_xml(b'<Sync xmlns="AirSync"><SyncKey>0</SyncKey></Sync>')
    assert encode(root) == encode(E("AirSync:Sync", E("AirSync:SyncKey", "0")))


def test_indentation_is_layout():
    pretty = b"""<AirSync:Sync xmlns:AirSync="AirSync:">
      <AirSync:Collections>
        <AirSync:Collection>
          <AirSync:SyncKey> 0 </AirSync:SyncKey>
        </AirSync:Collection>
      </AirSync:Collections>
    </AirSync:Sync>"""
    assert decode(encode(etree.fromstring(pretty))).findtext(".//{AirSync:}SyncKey") == " 0 "


def test_comments_are_skipped():
    root = etree.fromstring(b'<Ping xmlns="Ping:"><!-- note --><Status>1</Status></Ping>')
    assert encode(root) == encode(E("Ping:Ping", E("Ping:Status", "1")))


@pytest.mark.parametrize(("xml", "reason"), [
    (b"<Sync/>", "no code-page namespace"),
    (b'<Sync xmlns="AirSync:"><Bogus/></Sync>', "no MS-ASWBXML code page holds"),
    (b'<Sync xmlns="Nope:"/>', "no MS-ASWBXML code page holds"),
    (b'<Sync xmlns="AirSync:" id="1"/>', "attribute 'id'"),
    (b'<Mime xmlns="ComposeMail:" opaque="base64">not base64!</Mime>', "not valid base64"),
])
def test_what_cannot_be_encoded(xml, reason):
    with pytest.raises(WBXMLEncodeError) as raised:
        encode(etree.fromstring(xml))
    assert reason in raised.value.reason
    assert raised.value.path.startswith("/")


def test_the_error_names_the_path():
    root = E("AirSync:Sync", E("AirSync:Collections"))
    etree.SubElement(root[0], "{Email:}Nope")
    with pytest.raises(WBXMLEncodeError) as raised:
        encode(root)
    assert raised.value.path == "/AirSync:Sync/AirSync:Collections/Email:Nope"


def test_an_element_tree_is_accepted():
    assert encode(etree.ElementTree(E("Ping:Ping"))) == bytes.fromhex("03016a00000d05")
