"""protocol.request: both query forms, parsed without a server (MS-ASHTTP 2.2.1.1.1)."""
from __future__ import annotations

import base64
import struct

import pytest

from protocol.request import (
    COMMAND_CODES,
    EASRequest,
    MissingDeviceError,
    RequestError,
    encode_base64_query,
    is_endpoint,
    parse_request,
)

PATH = "/Microsoft-Server-ActiveSync"
HEADERS = {"MS-ASProtocolVersion": "14.1", "User-Agent": "Apple-iPhone14C2/2104.92"}


def plain(query: str, headers=None, method="POST", path=PATH) -> EASRequest:
    return parse_request(method, path, query, HEADERS if headers is None else headers)


def test_plain_form():
    request = plain("Cmd=SmartReply&User=alice&DeviceId=ABC123&DeviceType=iPhone"
                    "&ItemId=2%3A5&CollectionId=2&SaveInSent=T&Occurrence=x",
                    {**HEADERS, "X-MS-PolicyKey": "3141592", "MS-ASAcceptMultiPart": "T"})
    assert request == EASRequest(
        command="SmartReply", user="alice", device_id="ABC123", device_type="iPhone",
        protocol_version="14.1", policy_key="3141592",
        user_agent="Apple-iPhone14C2/2104.92", item_id="2:5", collection_id="2",
        occurrence="x", save_in_sent=True, accept_multipart=True, base64_form=False)


def test_parameter_names_and_headers_are_case_insensitive():
    request = plain("cmd=Sync&user=a&deviceid=X1&devicetype=Android",
                    {"ms-asprotocolversion": "12.1"})
    assert (request.command, request.device_id, request.protocol_version) == ("Sync", "X1", "12.1")


def test_the_microsoft_example_of_the_base64_form():
    # MS-ASHTTP 2.2.1.1.1.1: Sync, version 14.0, locale en-US, DeviceId v140Device.
    request = parse_request("POST", PATH, "jAAJBAp2MTQwRGV2aWNlAApTbWFydFBob25l", {})
    assert request.command == "Sync" and request.protocol_version == "14.0"
    assert request.device_id == "v140Device" and request.device_type == "SmartPhone"
    assert request.locale == 0x0409 and request.policy_key is None and request.base64_form


@pytest.mark.parametrize("code,name", sorted(COMMAND_CODES.items()))
def test_base64_round_trip_of_every_command(code, name):
    request = EASRequest(command=name, device_id="DEV1", device_type="WindowsMail",
                         protocol_version="16.1", policy_key="4000000000", user="bob",
                         item_id="2:7", collection_id="2", long_id="L1", occurrence="O",
                         attachment_name="2:7:0", save_in_sent=True, accept_multipart=True,
                         base64_form=True, locale=0x0407)
    query = encode_base64_query(request)
    assert base64.b64decode(query)[1] == code
    assert parse_request("POST", PATH, query, {}) == request


def test_base64_without_padding_and_url_escaped():
    query = encode_base64_query(EASRequest(command="Ping", device_id="D", device_type="T",
                                           protocol_version="12.1", base64_form=True))
    escaped = query.rstrip("=").replace("+", "%2B").replace("/", "%2F")
    assert parse_request("POST", PATH, escaped, {}).command == "Ping"


def test_binary_device_id_is_named_by_its_hex_digits():
    guid = bytes(range(0xA0, 0xB0))
    raw = bytes([141, 9]) + struct.pack("<H", 0x409) + bytes([16]) + guid + b"\x00\x04Test"
    request = parse_request("POST", PATH, base64.b64encode(raw).decode(), {})
    assert request.device_id == guid.hex().upper()


@pytest.mark.parametrize("query,status", [
    ("", 400),
    ("@@@@", 400),
    ("jAAJ", 400),  # truncated after the locale
    (base64.b64encode(bytes([140, 99, 9, 4, 1, 65, 0, 1, 66])).decode(), 501),  # command 99
    (base64.b64encode(bytes([25, 0, 9, 4, 1, 65, 0, 1, 66])).decode(), 400),  # version 2.5
    (base64.b64encode(bytes([140, 0, 9, 4, 1, 65, 3, 1, 2, 3, 1, 66])).decode(), 400),  # key
    (base64.b64encode(bytes([140, 0, 9, 4, 0, 0, 1, 66])).decode(), 400),  # no DeviceId
])
def test_base64_refusals(query, status):
    with pytest.raises(RequestError) as caught:
        parse_request("POST", PATH, query, {})
    assert caught.value.http_status == status


@pytest.mark.parametrize("query,headers,status", [
    ("User=a&DeviceId=X&DeviceType=T", HEADERS, 400),  # no Cmd
    ("Cmd=Sync&DeviceType=T", HEADERS, 400),  # no DeviceId
    ("Cmd=Sync&DeviceId=X", HEADERS, 400),  # no DeviceType
    ("Cmd=Sync&DeviceId=X%00Y&DeviceType=T", HEADERS, 400),  # a control byte
    ("Cmd=Sync&DeviceId=X&DeviceType=T", {}, 400),  # no version
    ("Cmd=Sync&DeviceId=X&DeviceType=T", {"MS-ASProtocolVersion": "2.5"}, 400),
])
def test_plain_refusals(query, headers, status):
    with pytest.raises(RequestError) as caught:
        plain(query, headers)
    assert caught.value.http_status == status


def test_missing_device_is_its_own_error_type():
    with pytest.raises(MissingDeviceError):
        plain("Cmd=Sync&DeviceType=T")


def test_policy_key_zero_means_none():
    request = plain("Cmd=Sync&DeviceId=X&DeviceType=T", {**HEADERS, "X-MS-PolicyKey": "0"})
    assert request.policy_key is None


def test_only_post_to_the_endpoint():
    assert is_endpoint("/microsoft-server-activesync/") and not is_endpoint("/owa")
    with pytest.raises(RequestError) as caught:
        plain("Cmd=Sync&DeviceId=X&DeviceType=T", method="GET")
    assert caught.value.http_status == 405
    with pytest.raises(RequestError) as caught:
        plain("Cmd=Sync&DeviceId=X&DeviceType=T", path="/other")
    assert caught.value.http_status == 404
