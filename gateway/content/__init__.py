"""Item content ⇄ EAS: each item class rendered as ApplicationData and read back.

`render_application_data(item, options, version)` gives the ``AirSync:ApplicationData`` of a
stored item as a client of ``version`` should see it (bodies per `BodyOptions`);
`render_properties` gives the same children for containers of other commands
(ItemOperations and Search ``Properties``). `parse_application_data(item_class, element,
version)` reads what a client uploads into the fields `Store.add_item` / `update_item` take:
``data`` (merged key by key; a None value removes a field), ``body_text``, ``body_html``,
``mime``, ``read``, ``flagged``, ``categories``.

One module per class: `mail` (MS-ASEMAIL), `calendar` (MS-ASCAL), `contacts` (MS-ASCNTC),
`tasks` (MS-ASTASK), `notes` (MS-ASNOTE); `body` holds AirSyncBase:Body and `mime` the MIME
parser and builder.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lxml import etree

from gateway.content import calendar, contacts, mail, notes, tasks
from gateway.content.body import BodyOptions, BodyPreference
from gateway.content.mail import new_email
from protocol.xml import E
from store.types import Item

Renderer = Callable[[Item, BodyOptions, str], list[etree._Element]]
Parser = Callable[[etree._Element, str], dict[str, Any]]

RENDERERS: dict[str, Renderer] = {
    "Email": mail.render_email,
    "Calendar": calendar.render_event,
    "Contacts": contacts.render_contact,
    "Tasks": tasks.render_task,
    "Notes": notes.render_note,
}
PARSERS: dict[str, Parser] = {
    "Email": mail.parse_email,
    "Calendar": calendar.parse_event,
    "Contacts": contacts.parse_contact,
    "Tasks": tasks.parse_task,
    "Notes": notes.parse_note,
}


class UnknownItemClass(ValueError):
    """An item class this gateway does not hold (SMS, Journal …)."""


def render_properties(item: Item, options: BodyOptions, version: str) -> list[etree._Element]:
    """The item's fields as elements, in the order its class's schema lists them."""
    try:
        renderer = RENDERERS[item.item_class]
    except KeyError:
        raise UnknownItemClass(item.item_class) from None
    return renderer(item, options, version)


def render_application_data(item: Item, options: BodyOptions, version: str) -> etree._Element:
    """``AirSync:ApplicationData`` holding the item's fields (Sync Add and Change)."""
    container = E("AirSync:ApplicationData")
    container.extend(render_properties(item, options, version))
    return container


def parse_application_data(item_class: str, app_data: etree._Element,
                           version: str) -> dict[str, Any]:
    """Store fields from an uploaded ``ApplicationData``. Email uploads are partial (only
    what is present changes); Calendar, Contacts, Tasks and Notes replace the item, so their
    absent fields come back as None in ``data`` (the store removes them; renderers skip
    None)."""
    try:
        parser = PARSERS[item_class]
    except KeyError:
        raise UnknownItemClass(item_class) from None
    return parser(app_data, version)


__all__ = [
    "BodyOptions", "BodyPreference", "UnknownItemClass", "new_email", "parse_application_data",
    "render_application_data", "render_properties",
]
