"""protocol.request.parse_request under fuzzing: any method, path, query and headers give an
EASRequest that holds only what the gateway may rely on, or one RequestError with a 4xx/501
to answer; and what the emulator writes, in either query form, reads back the same."""
from __future__ import annotations

import base64
import struct
from urllib.parse import quote, urlencode

from hostile import HOSTILE_TEXTS, QUERY_NAMES
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from emulator.query import encode as encode_query
from protocol import versions
from protocol.request import COMMAND_CODES, EASRequest, RequestError, parse_request

FUZZ = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
ENDPOINT = "/Microsoft-Server-ActiveSync"
ANSWERS = {400, 404, 405, 501}

texts = st.one_of(st.sampled_from(HOSTILE_TEXTS[:45]), st.text(max_size=40),
                  st.sampled_from(["Sync", "Ping", "FolderSync", "ABC123", "iPhone", "16.1"]))
version_headers = st.one_of(st.sampled_from([*versions.SUPPORTED, "2.5", "16.2", "", " 14.1 "]),
                            st.text(max_size=8))


def parsed_or_refused(method, path, query, headers) -> EASRequest | None:
    try:
        request = parse_request(method, path, query, headers)
    except RequestError as error:
        assert error.http_status in ANSWERS, error.http_status
        assert error.reason and "\n" not in error.reason
        return None
    assert request.command
    assert versions.is_supported(request.protocol_version)
    assert 1 <= len(request.device_id) <= 64 and request.device_id.isprintable()
    assert 1 <= len(request.device_type) <= 64 and request.device_type.isprintable()
    return request


@FUZZ
@given(st.lists(st.tuples(st.sampled_from(QUERY_NAMES), texts), max_size=8),
       st.dictionaries(st.sampled_from(["MS-ASProtocolVersion", "X-MS-PolicyKey", "User-Agent",
                                        "MS-ASAcceptMultiPart", "Content-Type"]),
                       version_headers, max_size=5))
def test_plain_queries(pairs, headers):
    parsed_or_refused("POST", ENDPOINT, urlencode(pairs), headers)


@FUZZ
@given(st.text(max_size=200), st.sampled_from(["POST", "GET", "OPTIONS", "PUT", "post"]),
       st.sampled_from([ENDPOINT, ENDPOINT.lower() + "/", "/", "/microsoft-server-activesync2"]))
def test_raw_query_strings_methods_and_paths(query, method, path):
    parsed_or_refused(method, path, query, {"MS-ASProtocolVersion": "16.1"})


@FUZZ
@given(st.binary(max_size=120), st.booleans())
def test_base64_queries_of_any_bytes(raw, quoted):
    encoded = base64.b64encode(raw).decode()
    parsed_or_refused("POST", ENDPOINT, quote(encoded, safe="") if quoted else encoded, {})


def _counted(value: bytes) -> bytes:
    return bytes([len(value) & 0xFF]) + value


@FUZZ
@given(st.integers(0, 255), st.integers(0, 255), st.binary(max_size=40),
       st.sampled_from([b"", b"\x00\x00\x00\x00", b"\x01\x02\x03\x04", b"\x01\x02"]),
       st.binary(max_size=20),
       st.lists(st.tuples(st.integers(0, 12), st.binary(max_size=300)), max_size=5))
def test_base64_queries_with_the_forms_structure(version, code, device_id, key, device_type,
                                                 parameters):
    raw = (bytes([version, code]) + struct.pack("<H", 0x0409) + _counted(device_id)
           + _counted(key) + _counted(device_type)
           + b"".join(bytes([tag]) + _counted(value) for tag, value in parameters))
    parsed_or_refused("POST", ENDPOINT, base64.b64encode(raw).decode(), {})


device_ids = st.from_regex(r"[A-Za-z0-9]{1,32}", fullmatch=True)
optional_texts = st.none() | st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E,
                                                   exclude_characters="%"), min_size=1,
                                     max_size=30)


@FUZZ
@given(st.sampled_from(sorted(COMMAND_CODES.values())), device_ids, device_ids,
       st.sampled_from(versions.SUPPORTED), st.none() | st.integers(1, 2**32 - 1).map(str),
       optional_texts, optional_texts, optional_texts, st.booleans(),
       st.sampled_from(["plain", "base64"]))
def test_what_the_emulator_writes_reads_back(command, device_id, device_type, version, key,
                                             collection_id, item_id, attachment, save, form):
    sent = EASRequest(command=command, device_id=device_id, device_type=device_type,
                      protocol_version=version, user="alice@contoso.com", policy_key=key,
                      collection_id=collection_id, item_id=item_id,
                      attachment_name=attachment, save_in_sent=save)
    query, headers = encode_query(sent, form)
    read = parse_request("POST", ENDPOINT, query, headers)
    for field in ("command", "device_id", "device_type", "protocol_version", "policy_key",
                  "collection_id", "item_id", "attachment_name", "save_in_sent", "user"):
        assert getattr(read, field) == getattr(sent, field), field
