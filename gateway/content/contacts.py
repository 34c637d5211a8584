"""Contacts ⇄ EAS (MS-ASCNTC): the Contacts code page and the Contacts2 extras.

``Item.data`` holds each field by its tag name (``FirstName``, ``Email1Address``,
``NickName`` …); ``Children`` is a list of names; ``Picture`` is base64 text, as on the wire.
"""
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
from protocol.xml import E, child, children, sub
from store.types import Item

# Contacts code page fields, in MS-ASCNTC order; the body goes after Birthday.
BEFORE_BODY = ("Anniversary", "AssistantName", "AssistantPhoneNumber", "Birthday")
AFTER_BODY = (
    "Business2PhoneNumber", "BusinessAddressCity", "BusinessAddressCountry",
    "BusinessAddressPostalCode", "BusinessAddressState", "BusinessAddressStreet",
    "BusinessFaxNumber", "BusinessPhoneNumber", "CarPhoneNumber",
)
AFTER_CHILDREN = (
    "CompanyName", "Department", "Email1Address", "Email2Address", "Email3Address", "FileAs",
    "FirstName", "Home2PhoneNumber", "HomeAddressCity", "HomeAddressCountry",
    "HomeAddressPostalCode", "HomeAddressState", "HomeAddressStreet", "HomeFaxNumber",
    "HomePhoneNumber", "JobTitle", "LastName", "MiddleName", "MobilePhoneNumber",
    "OfficeLocation", "OtherAddressCity", "OtherAddressCountry", "OtherAddressPostalCode",
    "OtherAddressState", "OtherAddressStreet", "PagerNumber", "RadioPhoneNumber", "Spouse",
    "Suffix", "Title", "WebPage", "YomiCompanyName", "YomiFirstName", "YomiLastName",
    "Picture",
)
CONTACTS_FIELDS = BEFORE_BODY + AFTER_BODY + AFTER_CHILDREN
CONTACTS2_FIELDS = (
    "CustomerId", "GovernmentId", "IMAddress", "IMAddress2", "IMAddress3", "ManagerName",
    "CompanyMainPhone", "AccountName", "NickName", "MMS",
)


def render_contact(item: Item, options: BodyOptions, version: str) -> list[etree._Element]:
    data = item.data
    fields = render_scalars("Contacts", data, BEFORE_BODY)
    if item.body_text or item.body_html:
        fields.append(render_body(item, options, version))
    fields.extend(render_scalars("Contacts", data, AFTER_BODY))
    if item.categories:
        fields.append(render_categories("Contacts", item.categories))
    if data.get("Children"):
        container = E("Contacts:Children")
        for name in data["Children"]:
            sub(container, "Contacts:Child", name)
        fields.append(container)
    fields.extend(render_scalars("Contacts", data, AFTER_CHILDREN))
    fields.extend(render_scalars("Contacts2", data, CONTACTS2_FIELDS))
    return fields


def parse_contact(app_data: etree._Element, version: str) -> dict[str, Any]:
    """Store fields of an uploaded contact; a Change replaces the contact (absent → None)."""
    data = {**parse_scalars(app_data, "Contacts", CONTACTS_FIELDS),
            **parse_scalars(app_data, "Contacts2", CONTACTS2_FIELDS)}
    container = child(app_data, "Contacts:Children")
    data["Children"] = (None if container is None
                        else [c.text or "" for c in children(container, "Contacts:Child")])
    fields: dict[str, Any] = {"data": data, **parse_body(app_data)}
    fields["categories"] = parse_categories(app_data, "Contacts") or ()
    return fields
