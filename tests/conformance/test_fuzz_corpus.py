"""Mutations of the realistic corpus documents never raise anything but WBXMLError."""
from __future__ import annotations

from corpus import DOCUMENTS
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol.wbxml import WBXMLError, decode, encode

BODIES = [encode(build()) for _, build in sorted(DOCUMENTS.items())]


@st.composite
def mutated(draw) -> bytes:
    body = bytearray(draw(st.sampled_from(BODIES)))
    for _ in range(draw(st.integers(1, 8))):
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
        if not body:
            break
    return bytes(body)


@settings(max_examples=400, deadline=None)
@given(mutated())
def test_mutated_corpus_documents(body):
    try:
        decode(body)
    except WBXMLError as error:
        assert 0 <= error.offset <= len(body)
