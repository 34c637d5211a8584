"""Random and mutated bodies: the decoder raises WBXMLError or returns a tree, nothing else."""
from __future__ import annotations

import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from protocol.wbxml import WBXMLError, decode

HEADER = bytes((0x03, 0x01, 0x6A, 0x00))


def decode_or_wbxml_error(body: bytes) -> None:
    try:
        decode(body)
    except WBXMLError as error:
        assert 0 <= error.offset <= len(body)
        assert error.reason


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=200))
def test_random_bytes(body):
    decode_or_wbxml_error(body)


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=200))
def test_random_bodies_after_a_valid_header(body):
    decode_or_wbxml_error(HEADER + body)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from([0x00, 0x01, 0x02, 0x03, 0x04, 0x45, 0x05, 0x83, 0xC3,
                                 0xC5, 0x85, 0x40, 0x80, 0x41, 0x7F, 0xFF, 0x0E, 0x11]),
                max_size=120))
def test_token_soup(tokens):
    decode_or_wbxml_error(HEADER + bytes(tokens))


def test_long_inputs_take_linear_time():
    """Deep nesting is cut off early; long flat documents decode in proportion to size."""
    started = time.perf_counter()
    decode_or_wbxml_error(HEADER + b"\x45" * 1_000_000)
    flat = HEADER + b"\x45" + b"\x4d\x03x\x00\x01" * 200_000 + b"\x01"
    decode(flat)
    assert time.perf_counter() - started < 10
