"""Small building blocks the item classes share: flat fields and category lists."""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from lxml import etree

from protocol.numbers import integer
from protocol.xml import E, child, children, sub, text


def render_scalars(page: str, data: dict[str, Any], tags: Iterable[str]) -> list[etree._Element]:
    """``<page:Tag>value</page:Tag>`` for each tag with a value, in the order given."""
    return [E(f"{page}:{tag}", data[tag]) for tag in tags if data.get(tag) not in (None, "")]


def render_categories(page: str, categories: Iterable[str]) -> etree._Element:
    container = E(f"{page}:Categories")
    for category in categories:
        sub(container, f"{page}:Category", category)
    return container


def parse_scalars(element: etree._Element, page: str, tags: Iterable[str],
                  integers: frozenset[str] = frozenset()) -> dict[str, Any]:
    """Every tag of the table: its value, or None when the element leaves it out (so a
    replacing Change removes it). Integer fields that are not numbers are dropped."""
    values: dict[str, Any] = {}
    for tag in tags:
        value = text(element, f"{page}:{tag}")
        values[tag] = integer(value) if tag in integers else value
    return values


def parse_categories(element: etree._Element, page: str) -> tuple[str, ...] | None:
    """The uploaded categories, or None when the element carries no Categories."""
    container = child(element, f"{page}:Categories")
    if container is None:
        return None
    return tuple(c.text or "" for c in children(container, f"{page}:Category"))
