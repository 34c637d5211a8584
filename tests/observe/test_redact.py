"""Credentials never reach a trace: headers, query strings, documents, free text."""
import base64

from lxml import etree

from gateway.observe.redact import (
    MASK,
    basic_password,
    mask_password_elements,
    redact_headers,
    redact_query,
    scrub,
)
from protocol.xml import E, to_pretty_xml


def basic(login: str, password: str, charset: str = "utf-8") -> str:
    return "Basic " + base64.b64encode(f"{login}:{password}".encode(charset)).decode()


def test_basic_password_is_read_in_utf8_and_latin1():
    assert basic_password({"Authorization": basic("alice@contoso.com", "demo-pass")}) == "demo-pass"
    assert basic_password([("authorization", basic("CONTOSO\\alice", "pässword", "latin-1"))]) == "pässword"


def test_basic_password_of_other_schemes_or_garbage_is_none():
    assert basic_password({"Authorization": "Bearer abc"}) is None
    assert basic_password({"Authorization": "Basic !!!not-base64"}) is None
    assert basic_password({"Authorization": basic("alice", "")}) is None
    assert basic_password({}) is None


def test_headers_keep_the_scheme_but_never_the_credentials():
    headers = [
        ("Authorization", basic("alice@contoso.com", "demo-pass")),
        ("Cookie", "session=abc"),
        ("User-Agent", "Apple-iPhone14C2/2104.92"),
        ("X-Echo", "my password is demo-pass"),
    ]
    redacted = dict(redact_headers(headers, "demo-pass"))
    assert redacted["Authorization"] == f"Basic {MASK}"
    assert redacted["Cookie"] == MASK
    assert redacted["User-Agent"] == "Apple-iPhone14C2/2104.92"
    assert "demo-pass" not in redacted["X-Echo"]


def test_query_parameters_named_like_secrets_are_masked():
    query = "Cmd=Sync&User=alice&DeviceId=ABC&Password=hunter2&x=demo-pass"
    redacted = redact_query(query, "demo-pass")
    assert "hunter2" not in redacted and "demo-pass" not in redacted
    assert "Cmd=Sync&User=alice&DeviceId=ABC" in redacted


def test_password_elements_are_masked():
    fetch = E("ItemOperations:ItemOperations",
              E("ItemOperations:Fetch",
                E("ItemOperations:Store", "DocumentLibrary"),
                E("ItemOperations:Options",
                  E("ItemOperations:UserName", "alice"),
                  E("ItemOperations:Password", "s3cret"))))
    masked = to_pretty_xml(mask_password_elements(fetch))
    assert "s3cret" not in masked and "alice" in masked


def test_scrub_finds_the_xml_escaped_form_too():
    password = 'a<b&"c'
    element = etree.Element("x")
    element.text = f"said {password}"
    assert password not in scrub(to_pretty_xml(element), password)
    assert "&lt;" not in scrub(to_pretty_xml(element), password).replace(MASK, "")
    assert scrub("nothing here", None) == "nothing here"
