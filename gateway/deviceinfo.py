"""The ``Settings:DeviceInformation`` a client sends in Provision (14.1+) or Settings.

The dispatcher reads it before the access decision, so that a model name such as
"Outlook for iOS and Android" counts from the very first request (SPEC §3); the Provision
and Settings commands store it on the device record.
"""
from __future__ import annotations

from lxml import etree

from protocol.xml import child, local_name, qname

# Settings:Set children → ClientIdentity / Device field names (MS-ASCMD 2.2.3.46).
FIELDS: dict[str, str] = {
    "Model": "model",
    "IMEI": "imei",
    "FriendlyName": "friendly_name",
    "OS": "os",
    "OSLanguage": "os_language",
    "PhoneNumber": "phone_number",
    "UserAgent": "user_agent",
    "MobileOperator": "mobile_operator",
}


def find_device_information(document: etree._Element | None) -> etree._Element | None:
    """The DeviceInformation element directly under a Provision or Settings document."""
    if document is None:
        return None
    return child(document, "Settings:DeviceInformation")


def read_device_information(element: etree._Element | None) -> dict[str, str]:
    """``{"model": …, "os": …}`` from a DeviceInformation element (its ``Set``), only the
    fields present and not empty."""
    if element is None:
        return {}
    values = element.find(qname("Settings:Set"))
    if values is None:
        return {}
    found: dict[str, str] = {}
    for item in values:
        if not isinstance(item.tag, str):
            continue
        name = FIELDS.get(local_name(item))
        if name is not None and (item.text or "").strip():
            found[name] = item.text.strip()[:256]
    return found
