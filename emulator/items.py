"""What the emulated device keeps of an item it received: enough to show it to a person
(subject, sender, date) and to read its body for links."""
from __future__ import annotations

import email
import email.policy
from dataclasses import dataclass

from protocol.xml import Element, child, opaque_bytes, text

BODY_PLAIN, BODY_HTML, BODY_MIME = 1, 2, 4


@dataclass
class ItemView:
    server_id: str
    item_class: str
    title: str  # Subject, or a contact's name
    sender: str = ""
    received: str = ""
    read: bool = False
    body: str = ""  # the body as text (HTML stays HTML; MIME is opened to its text parts)
    body_type: int = 0
    truncated: bool = False

    def line(self) -> str:
        who = f" — {self.sender}" if self.sender else ""
        return f"{self.title}{who}"


def read_item(server_id: str, item_class: str, data: Element) -> ItemView:
    """An ItemView of one Add's ApplicationData."""
    body, body_type, truncated = _body(data)
    return ItemView(
        server_id=server_id,
        item_class=item_class,
        title=_title(item_class, data),
        sender=text(data, "Email:From", "") or "",
        received=text(data, "Email:DateReceived", "") or "",
        read=(text(data, "Email:Read", "0") == "1"),
        body=body,
        body_type=body_type,
        truncated=truncated,
    )


def apply_change(view: ItemView, data: Element) -> ItemView:
    """A Change carries only the fields that changed (Read, Flag …)."""
    read = text(data, "Email:Read")
    if read is not None:
        view.read = read == "1"
    subject = text(data, "Email:Subject")
    if subject is not None:
        view.title = subject
    return view


def _title(item_class: str, data: Element) -> str:
    if item_class == "Contacts":
        name = " ".join(filter(None, (text(data, "Contacts:FirstName"),
                                      text(data, "Contacts:LastName"))))
        return name or text(data, "Contacts:FileAs", "") or ""
    for tag in ("Email:Subject", "Calendar:Subject", "Tasks:Subject", "Notes:Subject"):
        value = text(data, tag)
        if value is not None:
            return value
    return ""


def _body(data: Element) -> tuple[str, int, bool]:
    body = child(data, "AirSyncBase:Body")
    if body is None:
        return "", 0, False
    body_type = int(text(body, "AirSyncBase:Type", "0") or 0)
    truncated = text(body, "AirSyncBase:Truncated", "0") == "1"
    element = child(body, "AirSyncBase:Data")
    raw = opaque_bytes(element) if element is not None else b""
    if body_type == BODY_MIME:
        return mime_text(raw), body_type, truncated
    return raw.decode("utf-8", "replace"), body_type, truncated


def mime_text(raw: bytes) -> str:
    """The text of a MIME message's readable parts (HTML and plain), decoded from their
    transfer encodings and charsets."""
    message = email.message_from_bytes(raw, policy=email.policy.default)
    parts = []
    for part in message.walk():
        if part.get_content_maintype() == "text" and not part.is_attachment():
            try:
                parts.append(part.get_content())
            except (LookupError, ValueError):  # unknown charset, broken encoding
                payload = part.get_payload(decode=True) or b""
                parts.append(payload.decode("utf-8", "replace"))
    return "\n".join(parts)
