"""Whole numbers are ASCII digits: what str.isdigit admits but int refuses is no number."""
from __future__ import annotations

import pytest

from protocol.numbers import integer, is_whole_number, number_range, whole_number


@pytest.mark.parametrize(("text", "number"), [
    ("0", 0), ("42", 42), (" 7 ", 7), ("²", None), ("1²", None), ("٣", None), ("+5", None),
    ("-1", None), ("1_000", None), ("", None), ("4.5", None), (None, None),
])
def test_whole_number(text, number):
    assert whole_number(text) == number
    assert whole_number(text, -1) == (number if number is not None else -1)


def test_is_whole_number_takes_no_white_space():
    assert is_whole_number("12") and not is_whole_number(" 12") and not is_whole_number("²")


@pytest.mark.parametrize(("text", "number"), [
    ("0", 0), ("-1", -1), ("+5", 5), (" -12 ", -12), ("-", None), ("+", None), ("", None),
    ("--1", None), ("1_000", None), ("٣", None), ("-²", None), ("1.0", None), (None, None),
])
def test_integer_takes_a_sign_and_ascii_digits(text, number):
    assert integer(text) == number
    assert integer(text, 9) == (number if number is not None else 9)


@pytest.mark.parametrize(("text", "pair"), [
    ("0-9", (0, 9)), (" 5-5 ", (5, 5)), ("10-99", (10, 99)),
])
def test_number_range_reads_first_and_last(text, pair):
    assert number_range(text) == pair


@pytest.mark.parametrize("text", ["", "5", "9-0", "-5", "5-", "a-9", "²-9", "1_0-20", "+1-9",
                                  "1-2-3"])
def test_number_range_refuses_anything_else(text):
    with pytest.raises(ValueError):
        number_range(text)
