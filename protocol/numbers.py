"""Numbers as EAS writes them: ASCII digits only.

``str.isdigit`` is no guard for ``int``: it admits superscripts and other digit-like
characters (``"²"``) that ``int`` refuses with a ValueError, while ``int`` itself also takes
underscores (``"1_000"``) and the digits of other scripts. Text from a client, an upstream
server or a cookie is read through `whole_number`, which takes exactly the unsigned decimal
numbers the protocols write, or through `integer` where the field is a signed integer
(XML Schema's ``xs:integer``, iCalendar's INTEGER: an optional sign, then digits)."""
from __future__ import annotations

from typing import overload


def is_whole_number(text: str) -> bool:
    """Whether ``text`` is one or more ASCII digits and nothing else."""
    return text.isascii() and text.isdigit()


@overload
def whole_number(value: str | None, default: int) -> int: ...
@overload
def whole_number(value: str | None, default: None = None) -> int | None: ...


def whole_number(value: str | None, default: int | None = None) -> int | None:
    """``value`` (white space around it allowed) as an unsigned whole number; ``default``
    when it is absent or anything else."""
    if value is None:
        return default
    text = value.strip()
    return int(text) if is_whole_number(text) else default


def number_range(value: str) -> tuple[int, int]:
    """``"0-99"`` (white space around it allowed) → (0, 99): the first and last of a range
    as Search, Find and ItemOperations write it; ValueError for anything else, a first
    past the last included."""
    first, dash, last = value.strip().partition("-")
    if not dash or not is_whole_number(first) or not is_whole_number(last) \
            or int(first) > int(last):
        raise ValueError(f"not a range: {value!r}")
    return int(first), int(last)


@overload
def integer(value: str | None, default: int) -> int: ...
@overload
def integer(value: str | None, default: None = None) -> int | None: ...


def integer(value: str | None, default: int | None = None) -> int | None:
    """``value`` (white space around it allowed) as a whole number with an optional sign;
    ``default`` when it is absent or anything else."""
    if value is None:
        return default
    text = value.strip()
    digits = text[1:] if text[:1] in ("+", "-") else text
    return int(text) if is_whole_number(digits) else default
