"""Whole numbers as EAS writes them: ASCII digits only.

``str.isdigit`` is no guard for ``int``: it admits superscripts and other digit-like
characters (``"²"``) that ``int`` refuses with a ValueError, while ``int`` itself also takes
signs, underscores and the digits of other scripts. Text from a client, an upstream server
or a cookie is read through `whole_number`, which takes exactly the unsigned decimal
numbers the protocols write."""
from __future__ import annotations


def is_whole_number(text: str) -> bool:
    """Whether ``text`` is one or more ASCII digits and nothing else."""
    return text.isascii() and text.isdigit()


def whole_number(value: str | None, default: int | None = None) -> int | None:
    """``value`` (white space around it allowed) as an unsigned whole number; ``default``
    when it is absent or anything else."""
    if value is None:
        return default
    text = value.strip()
    return int(text) if is_whole_number(text) else default
