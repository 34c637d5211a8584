"""The C codec (protocol.wbxml.fast) against the Python reference: same trees, same bytes,
same errors — on chosen edge cases, generated documents and bodies, and fuzzed bytes."""
from __future__ import annotations

import base64

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree
from wbxml_documents import documents, xml_text

import protocol.wbxml
from protocol.wbxml import MAX_DEPTH, WBXMLEncodeError, WBXMLError, decoder, encoder, fast
from protocol.wbxml.codepages import all_tags
from protocol.wbxml.encoder import mb_u_int32
from protocol.xml import E, set_opaque, sub

HEADER = bytes((0x03, 0x01, 0x6A, 0x00))
TAGS = [(page, token) for page, token, _ in all_tags()]
TAG_NAMES = [name for _, _, name in all_tags()]


def shape(element: etree._Element):
    """Everything the Python API shows of a tree: '' and None differ, tails count."""
    return (element.tag, element.text, element.tail, dict(element.attrib),
            [shape(child) for child in element])


def fast_decode(body: bytes) -> etree._Element:
    """The C path without its safety net: text libxml2 refuses fails the test."""
    return fast.parse(*fast._speedups.to_xml(body))


def outcome(decode, body: bytes):
    try:
        return ("tree", shape(decode(body)))
    except WBXMLError as error:
        return ("error", error.offset, error.reason)


def assert_same_decoding(body: bytes) -> None:
    assert outcome(fast_decode, body) == outcome(decoder.decode, body)


def encode_outcome(encode, root):
    try:
        return ("bytes", encode(root))
    except WBXMLEncodeError as error:
        return ("error", error.path, error.reason)


def assert_same_encoding(root) -> None:
    assert encode_outcome(fast.encode, root) == encode_outcome(encoder.encode, root)


def string(text: bytes) -> bytes:
    return b"\x03" + text + b"\x00"


def test_the_package_runs_the_c_codec():
    assert protocol.wbxml.decode is fast.decode and protocol.wbxml.encode is fast.encode
    assert fast._speedups.__file__.endswith((".so", ".pyd"))


# --- decoding: chosen cases ------------------------------------------------------------

HTML = "<p>Hello &amp; welcome,\r\nthe figures are attached.</p>\r\n" * 3

DECODE_CASES = {
    "empty string": HEADER + b"\x45" + string(b"") + b"\x01",
    "empty string then text": HEADER + b"\x45" + string(b"") + string(b"x") + b"\x01",
    "empty tail": HEADER + b"\x45\x4e" + string(b"1") + b"\x01" + string(b"") + b"\x01",
    "tail after an empty tag": HEADER + b"\x45\x13" + string(b"after") + b"\x01",
    "carriage returns": HEADER + b"\x45" + string(b"a\r\nb\rc\r") + b"\x01",
    "markup characters": HEADER + b"\x45" + string(b"<a href='x'>&amp; \"q\"</a>") + b"\x01",
    "cdata end": HEADER + b"\x45" + string(b"x]]>y]]") + string(b">z") + b"\x01",
    "a held text": HEADER + b"\x45" + string(HTML.encode()) + b"\x01",
    "a held tail": HEADER + b"\x45\x13" + string(HTML.encode()) + b"\x4e" + string(b"1")
    + b"\x01\x01",
    "a held text, then more": HEADER + b"\x45" + string(HTML.encode()) + string(b"more")
    + b"\x02\x0d" + b"\x01",
    "held texts at depth": HEADER + b"\x45\x5c\x4f" + string(HTML.encode()) + b"\x01"
    + string(HTML.encode()) + b"\x4f\x13" + string(HTML.encode()) + b"\x01\x01\x01",
    "non-ASCII": HEADER + b"\x45" + string("Grüße 📅 – ok".encode()) + b"\x01",
    "entities": HEADER + b"\x45" + b"".join(
        b"\x02" + mb_u_int32(code) for code in (0x26, 0x3C, 0x0D, 0xFF, 0x20AC, 0x1F4C5)) + b"\x01",
    "string table": bytes((0x03, 0x01, 0x6A, 0x08)) + b"a<b\x00\r\n\x00\x00"
    + b"\x45\x83\x00\x83\x04\x83\x07\x01",
    "latin-1": bytes((0x03, 0x01, 0x04, 0x00)) + b"\x45" + string(b"caf\xe9 \x85") + b"\x01",
    "latin-1 held": bytes((0x03, 0x01, 0x04, 0x00)) + b"\x45"
    + string(b"\xe9<\r" * 20) + b"\x01",
    "ascii": bytes((0x03, 0x01, 0x03, 0x00)) + b"\x45" + string(b"plain") + b"\x01",
    "version 1.0": bytes((0x00, 0x01, 0x00)) + b"\x45\x01",
    "opaque": HEADER + b"\x45\xc3\x04\x00\x01\xff\x7f\x01",
    "empty opaque": HEADER + b"\x45\xc3\x00\x01",
    "opaque in pieces": HEADER + b"\x45\xc3\x01a\x00\x05\xc3\x02bc\xc3\x04defg\x01",
    "opaque then children": HEADER + b"\x45\xc3\x03abc\x4e" + string(b"1") + b"\x01\x01",
    "opaque child then tail": HEADER + b"\x45\x56\xc3\x01x\x01" + string(b"tail") + b"\x01",
    "root without content": HEADER + b"\x05",
    "every page": HEADER + b"\x45" + b"".join(
        bytes((0x00, page, token)) for page, token in TAGS[::7]) + b"\x01",
    "deep": HEADER + b"\x5c" * (MAX_DEPTH - 1) + b"\x1c" + b"\x01" * (MAX_DEPTH - 1),
}


@pytest.mark.parametrize("body", DECODE_CASES.values(), ids=DECODE_CASES.keys())
def test_decoding_matches_the_reference(body):
    assert outcome(decoder.decode, body)[0] == "tree"
    assert_same_decoding(body)


BAD_BODIES = {
    "empty": b"",
    "version": b"\x04\x01\x6a\x00\x45\x01",
    "charset": b"\x03\x01\x71\x00\x45\x01",
    "long header integer": b"\x03\x81\x80\x80\x80\x80\x00",
    "big header integer": b"\x03\x9f\xff\xff\xff\x7f",
    "truncated header": b"\x03\x81",
    "no root": HEADER,
    "truncated": HEADER + b"\x45\x5c",
    "string table too long": b"\x03\x01\x6a\x05ab",
    "public id index": b"\x03\x00\x05\x6a\x02a\x00\x45\x01",
    "unknown page": HEADER + b"\x00\x1a\x05",
    "unknown token": HEADER + b"\x00\x19\x0f",
    "attributes": HEADER + b"\xc5\x01\x01",
    "literal": HEADER + b"\x04\x00",
    "literal with content": HEADER + b"\x45\x44\x00\x01",
    "extension": HEADER + b"\x45\xc0\x01",
    "extension inline": HEADER + b"\x45\x40abc\x00\x01",
    "processing instruction": HEADER + b"\x43",
    "unterminated string": HEADER + b"\x45\x03abc",
    "invalid utf-8": HEADER + b"\x45\x03\xff\xfe\x00\x01",
    "surrogate in utf-8": HEADER + b"\x45\x03\xed\xa0\x80\x00\x01",
    "overlong utf-8": HEADER + b"\x45\x03\xc0\xaf\x00\x01",
    "control then invalid utf-8": HEADER + b"\x45\x03\x07\xff\x00\x01",
    "control character": HEADER + b"\x45\x03a\x07b\x00\x01",
    "U+FFFE": HEADER + b"\x45\x03\xef\xbf\xbe\x00\x01",
    "not ascii": bytes((0x03, 0x01, 0x03, 0x00)) + b"\x45\x03\xe9\x00\x01",
    "string table offset": HEADER + b"\x45\x83\x05\x01",
    "string table without NUL": bytes((0x03, 0x01, 0x6A, 0x02)) + b"ab\x45\x83\x00\x01",
    "opaque too long": HEADER + b"\x45\xc3\x10abc\x01",
    "opaque and string": HEADER + b"\x45\x03a\x00\xc3\x01x\x01",
    "string and opaque": HEADER + b"\x45\xc3\x01x\x03a\x00\x01",
    "empty string and opaque": HEADER + b"\x45\x03\x00\xc3\x01x\x01",
    "opaque after a child": HEADER + b"\x45\x13\xc3\x01x\x01",
    "opaque outside": HEADER + b"\x05\xc3\x01x",
    "after the root": HEADER + b"\x45\x01\x45\x01",
    "stray end": HEADER + b"\x01",
    "text at top": HEADER + b"\x03a\x00",
    "entity at top": HEADER + b"\x05\x02\x41",
    "truncated switch": HEADER + b"\x00",
    "entity above unicode": HEADER + b"\x45\x02\x84\x80\x80\x00\x01",
    "entity surrogate": HEADER + b"\x45\x02\x83\xb0\x00\x01",
    "entity NUL": HEADER + b"\x45\x02\x00\x01",
    "entity U+FFFF": HEADER + b"\x45\x02\x83\xff\x7f\x01",
    "too deep": HEADER + b"\x5c" * (MAX_DEPTH + 1),
    "held text then control": HEADER + b"\x45" + string(HTML.encode()) + string(b"\x01")
    + b"\x01",
}


@pytest.mark.parametrize("body", BAD_BODIES.values(), ids=BAD_BODIES.keys())
def test_errors_match_the_reference(body):
    assert outcome(decoder.decode, body)[0] == "error"
    assert_same_decoding(body)


def test_a_bytearray_or_memoryview_decodes_too():
    body = DECODE_CASES["a held text"]
    assert shape(fast.decode(bytearray(body))) == shape(fast.decode(memoryview(body)))


# --- decoding: generated bodies ----------------------------------------------------------

texts = st.one_of(
    st.binary(max_size=12),
    st.text(max_size=20).map(lambda text: text.encode("utf-8", "surrogatepass")),
    # HTML with CRLF line ends: enough references to be held out of the XML text
    st.lists(st.sampled_from(["<p>", "\r\n", "&", "]]", ">", "ab", " ", "é"]), min_size=30,
             max_size=80).map(lambda parts: "".join(parts).encode()),
)


@st.composite
def bodies(draw) -> bytes:
    """Mostly well-formed EAS WBXML: nested tags of the real pages, strings inline, from
    the string table and as entities, opaque data, page switches; now and then a token
    that breaks a rule."""
    charset = draw(st.sampled_from([106, 106, 0, 3, 4]))
    table = draw(st.lists(texts, max_size=3))
    strings = b"".join(text.replace(b"\x00", b"") + b"\x00" for text in table)
    out = bytearray(bytes((0x03, 0x01)) + mb_u_int32(charset) + mb_u_int32(len(strings)))
    out += strings
    page = [0]

    def tag(content: bool) -> None:
        tag_page, token = draw(st.sampled_from(TAGS))
        if tag_page != page[0]:
            out.extend((0x00, tag_page))
            page[0] = tag_page
        out.append(token | (0x40 if content else 0))

    def element(depth: int) -> None:
        content = draw(st.booleans())
        tag(content)
        if not content:
            return
        for _ in range(draw(st.integers(0, 4))):
            kind = draw(st.sampled_from(["child", "child", "string", "table", "entity",
                                         "opaque", "rule"]))
            if kind == "child" and depth < 6:
                element(depth + 1)
            elif kind == "string":
                out.extend(string(draw(texts).replace(b"\x00", b"")))
            elif kind == "table":
                out.append(0x83)
                out.extend(mb_u_int32(draw(st.integers(0, len(strings) + 1))))
            elif kind == "entity":
                out.append(0x02)
                out.extend(mb_u_int32(draw(st.sampled_from(
                    [0x41, 0x26, 0x3C, 0x0D, 0x0A, 0x01, 0xE9, 0x20AC, 0x1F4C5, 0xFFFE]))))
            elif kind == "opaque":
                data = draw(st.binary(max_size=10))
                out.append(0xC3)
                out.extend(mb_u_int32(len(data)))
                out.extend(data)
            elif kind == "rule":
                out.extend(draw(st.sampled_from(
                    [b"\x01", b"\x04", b"\x43", b"\x00\x1b", b"\x85", b"\x03\x00"])))
        out.append(0x01)

    element(0)
    return bytes(out)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(bodies())
def test_generated_bodies_decode_alike(body):
    assert_same_decoding(body)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_random_bytes_decode_alike(body):
    assert_same_decoding(body)
    assert_same_decoding(HEADER + body)


@st.composite
def mutated(draw) -> bytes:
    body = bytearray(draw(st.sampled_from(list(DECODE_CASES.values()))))
    for _ in range(draw(st.integers(1, 6))):
        if not body:
            break
        position = draw(st.integers(0, len(body) - 1))
        action = draw(st.sampled_from(["flip", "set", "delete", "insert", "truncate"]))
        if action == "flip":
            body[position] ^= 1 << draw(st.integers(0, 7))
        elif action == "set":
            body[position] = draw(st.integers(0, 255))
        elif action == "delete":
            del body[position]
        elif action == "insert":
            body.insert(position, draw(st.integers(0, 255)))
        else:
            del body[position:]
    return bytes(body)


@settings(max_examples=600, deadline=None)
@given(mutated())
def test_mutated_bodies_decode_alike(body):
    assert_same_decoding(body)


# --- encoding ------------------------------------------------------------------------------

def parsed(xml: bytes) -> etree._Element:
    return etree.fromstring(xml, etree.XMLParser(resolve_entities=False))


ENCODE_CASES = {
    "text and tails": b'<Ping xmlns="Ping:">x<Status>1</Status> tail <Folders/>end</Ping>',
    "layout": b'<Ping xmlns="Ping:">\n  <Status>1</Status>\n  <Folders/>\n</Ping>',
    "unicode spaces are layout": '<Ping xmlns="Ping:">\u3000<Status>1</Status>\u2028</Ping>'
    .encode(),
    "space-only leaf": b'<Ping xmlns="Ping:"><Status>  </Status></Ping>',
    "empty text": b'<Ping xmlns="Ping:"><Status></Status><Folders/></Ping>',
    "comments": b'<Ping xmlns="Ping:">a<!-- c -->b<Status>1<!--d--></Status><?pi x?>c</Ping>',
    "cdata": b'<Ping xmlns="Ping:"><Status>a<![CDATA[<b>]]>c</Status></Ping>',
    "no colon": b'<Sync xmlns="AirSync"><SyncKey>0</SyncKey></Sync>',
    "aliases": b'<Find xmlns="Find:"><GALSearchCriterion/></Find>',
    "opaque": b'<Mime xmlns="ComposeMail:" opaque="base64">AAH/fw==</Mime>',
    "opaque, empty": b'<Mime xmlns="ComposeMail:" opaque="base64"/>',
    "opaque with children": b'<Sync xmlns="AirSync:" opaque="base64">QUJD<Status>1</Status>'
    b"</Sync>",
    "opaque, padding after a full quad": b'<Mime xmlns="ComposeMail:" opaque="base64">QUJD='
    b"</Mime>",
    "page switches": b'<Sync xmlns="AirSync:" xmlns:e="Email:"><e:Read>1</e:Read>'
    b"<e:Subject>x</e:Subject><Status>1</Status></Sync>",
    "no namespace": b"<Sync/>",
    "unknown tag": b'<Sync xmlns="AirSync:"><Bogus/></Sync>',
    "unknown page": b'<Sync xmlns="Nope:"/>',
    "deep unknown": b'<a:Sync xmlns:a="AirSync:"><a:Status><b xmlns="x::"/></a:Status></a:Sync>',
    "attribute": b'<Sync xmlns="AirSync:" id="1"/>',
    "namespaced attribute": b'<Sync xmlns="AirSync:" xmlns:x="X" x:opaque="base64"/>',
    "opaque and another": b'<Sync xmlns="AirSync:" opaque="base64" id="1">QQ==</Sync>',
    "opaque marker, wrong value": b'<Sync xmlns="AirSync:" opaque="hex">41</Sync>',
    "not base64": b'<Mime xmlns="ComposeMail:" opaque="base64">not base64!</Mime>',
    "base64 with a newline": b'<Mime xmlns="ComposeMail:" opaque="base64">QUJD\nREVG</Mime>',
    "base64 missing padding": b'<Mime xmlns="ComposeMail:" opaque="base64">QQ</Mime>',
    "base64 leading padding": b'<Mime xmlns="ComposeMail:" opaque="base64">=QQ</Mime>',
    "base64 non-ASCII": '<Mime xmlns="ComposeMail:" opaque="base64">QUJé</Mime>'.encode(),
    "entity reference": b'<!DOCTYPE Sync [<!ENTITY e "v">]><Sync xmlns="AirSync:">'
    b"<Status>1&e;</Status></Sync>",
}


@pytest.mark.parametrize("xml", ENCODE_CASES.values(), ids=ENCODE_CASES.keys())
def test_encoding_matches_the_reference(xml):
    assert_same_encoding(parsed(xml))


def test_too_deep_to_encode():
    root = leaf = E("AirSync:Sync")
    for _ in range(MAX_DEPTH):
        leaf = sub(leaf, "AirSync:Collection")
    assert_same_encoding(root)
    with pytest.raises(WBXMLEncodeError, match="nested deeper"):
        fast.encode(root)


def test_a_subtree_encodes_on_its_own_and_names_its_ancestors_in_errors():
    root = E("AirSync:Sync")
    collection = sub(sub(root, "AirSync:Collections"), "AirSync:Collection")
    sub(collection, "AirSync:Status", 1).tail = "not written: the subtree's own tail"
    assert_same_encoding(collection[0])
    etree.SubElement(collection, "{AirSync:}Bogus")
    assert_same_encoding(collection)
    with pytest.raises(WBXMLEncodeError) as raised:
        fast.encode(collection)
    assert raised.value.path == "/AirSync:Sync/AirSync:Collections/AirSync:Collection/AirSync:Bogus"


def test_an_element_tree_encodes_as_its_root():
    root = E("Ping:Ping", E("Ping:Status", "1"))
    assert fast.encode(etree.ElementTree(root)) == encoder.encode(root)


@pytest.mark.parametrize("thing", [etree.Comment("x"), "not an element", None])
def test_what_is_not_an_element(thing):
    with pytest.raises((TypeError, ValueError)):
        encoder.encode(thing)
    with pytest.raises((TypeError, ValueError)):
        fast.encode(thing)


@settings(max_examples=300, deadline=None)
@given(documents())
def test_generated_documents_encode_alike(document):
    assert_same_encoding(document)


@st.composite
def loose_documents(draw) -> etree._Element:
    """Trees with what an encoder must decide about: tails, layout, comments, attributes,
    opaque markers over good and bad base64, tags outside the code pages."""
    def element(parent, depth):
        if draw(st.integers(0, 15)) == 0:
            tag = draw(st.sampled_from(["{AirSync}Sync", "{Nope:}X", "Plain"]))
        else:
            tag = draw(st.sampled_from(TAG_NAMES))
        node = etree.Element(tag) if parent is None else etree.SubElement(parent, tag)
        if draw(st.integers(0, 30)) == 0:
            node.set(draw(st.sampled_from(["opaque", "id", "{X}opaque"])),
                     draw(st.sampled_from(["base64", "b64"])))
        if draw(st.booleans()):
            node.text = draw(xml_text | st.sampled_from(["", " ", "\n  ", "\u3000",
                                                         "QUJD", "QQ==", "QQ=", "=", "Q"]))
        if draw(st.integers(0, 5)) == 0:
            node.append(etree.Comment("c"))
            node[-1].tail = draw(st.sampled_from([None, "", " ", "after"]))
        if draw(st.integers(0, 3)) == 0:
            set_opaque(node, draw(st.binary(max_size=12)))
        if depth < 4:
            for _ in range(draw(st.integers(0, 3))):
                child = element(node, depth + 1)
                child.tail = draw(st.sampled_from([None, "", "\n ", "tail", "\u00a0"]))
        return node

    return element(None, 0)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(loose_documents())
def test_loose_documents_encode_alike(document):
    assert_same_encoding(document)


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet="AQZaz09+/=\n é", max_size=14))
def test_base64_is_judged_as_python_judges_it(text):
    root = E("ComposeMail:Mime")
    root.text = text
    root.set("opaque", "base64")
    assert_same_encoding(root)


def test_round_trip_through_both_paths():
    root = E("AirSync:Sync")
    data = sub(sub(root, "AirSync:Collections"), "AirSync:ApplicationData")
    sub(data, "AirSyncBase:Data", HTML * 10)
    sub(data, "Email:Subject", "Grüße\r\n")
    sub(data, "Email2:ConversationId", base64.b64decode("AAECAwQ="))
    body = fast.encode(root)
    assert body == encoder.encode(root)
    assert shape(fast.decode(body)) == shape(decoder.decode(body))
    assert fast.encode(fast.decode(body)) == body
