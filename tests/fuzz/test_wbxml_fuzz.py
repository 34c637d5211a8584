"""protocol.wbxml.decode under fuzzing: whatever the bytes, a tree or one WBXMLError with an
offset inside the body; never another exception, never a runaway stack; and every tree it
gives back encodes to bytes that decode to the same tree."""
from __future__ import annotations

import random

from hostile import HEADER, SEEDS, deep_nesting, hostile_body
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from protocol.wbxml import MAX_DEPTH, WBXMLError, decode, encode

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def decodes_or_refuses(body: bytes) -> etree._Element | None:
    """The decoder's whole contract for one body."""
    try:
        root = decode(body)
    except WBXMLError as error:
        assert 0 <= error.offset <= len(body), (error.offset, len(body))
        assert str(error)
        return None
    assert isinstance(root.tag, str)
    return root


def same_tree(one: etree._Element, two: etree._Element) -> bool:
    return etree.tostring(one, method="c14n") == etree.tostring(two, method="c14n")


@FUZZ
@given(st.binary(max_size=512))
def test_any_bytes(body):
    decodes_or_refuses(body)


@FUZZ
@given(st.binary(max_size=256))
def test_any_bytes_after_a_valid_header(tail):
    decodes_or_refuses(HEADER + tail)


# A token stream that looks like EAS: tags with and without content, ENDs, page switches,
# strings, entities and opaque data with lengths that may or may not fit.
_token = st.one_of(
    st.integers(0x05, 0x3F).map(lambda t: bytes([t])),
    st.integers(0x05, 0x3F).map(lambda t: bytes([t | 0x40])),
    st.just(b"\x01"),
    st.integers(0, 40).map(lambda p: bytes([0x00, p])),
    st.binary(max_size=12).map(lambda s: b"\x03" + s + b"\x00"),
    st.integers(0, 0x10FFFF + 2).map(lambda c: b"\x02" + _mb_u_int32(c)),
    st.tuples(st.integers(0, 40), st.binary(max_size=16)).map(
        lambda p: b"\xc3" + _mb_u_int32(p[0]) + p[1]),
)


def _mb_u_int32(value: int) -> bytes:
    out = [value & 0x7F]
    value >>= 7
    while value:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    return bytes(reversed(out))


@FUZZ
@given(st.lists(_token, max_size=60))
def test_token_streams(tokens):
    root = decodes_or_refuses(HEADER + b"".join(tokens))
    if root is not None:
        assert same_tree(decode(encode(root)), root)


@FUZZ
@given(st.integers(0, 2**32 - 1))
def test_hostile_mutations_of_real_requests(seed):
    _command, body = hostile_body(random.Random(seed))
    root = decodes_or_refuses(body)
    if root is not None:
        assert same_tree(decode(encode(root)), root)


def test_every_seed_decodes():
    for seed in SEEDS:
        assert decode(seed.body) is not None, seed.name


def test_nesting_is_bounded_without_exhausting_the_stack():
    rng = random.Random(7)
    for _ in range(50):
        decodes_or_refuses(deep_nesting(rng, b""))
    too_deep = HEADER + b"\x45" * (MAX_DEPTH + 1) + b"\x01" * (MAX_DEPTH + 1)
    try:
        decode(too_deep)
    except WBXMLError as error:
        assert "deep" in str(error).lower() or "depth" in str(error).lower() or error.offset
    else:
        raise AssertionError("a document deeper than MAX_DEPTH was accepted")
