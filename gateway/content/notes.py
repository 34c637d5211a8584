"""Notes ⇄ EAS (MS-ASNOTE, 14.0 and later): subject, body, message class, last change."""
from __future__ import annotations

from typing import Any

from lxml import etree

from gateway.content.body import BodyOptions, parse_body, render_body
from gateway.content.fields import (
    parse_categories,
    parse_scalars,
    render_categories,
    render_scalars,
)
from protocol.xml import E
from store.types import Item


def render_note(item: Item, options: BodyOptions, version: str) -> list[etree._Element]:
    data = item.data
    fields = render_scalars("Notes", data, ("Subject",))
    fields.append(render_body(item, options, version))
    fields.append(E("Notes:MessageClass", data.get("MessageClass") or "IPM.StickyNote"))
    fields.extend(render_scalars("Notes", data, ("LastModifiedDate",)))
    if item.categories:
        fields.append(render_categories("Notes", item.categories))
    return fields


def parse_note(app_data: etree._Element, version: str) -> dict[str, Any]:
    """Store fields of an uploaded note; a Change replaces the note (absent → None)."""
    data = parse_scalars(app_data, "Notes", ("Subject", "MessageClass", "LastModifiedDate"))
    fields: dict[str, Any] = {"data": data, **parse_body(app_data)}
    fields["categories"] = parse_categories(app_data, "Notes") or ()
    return fields
