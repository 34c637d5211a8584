"""Out-of-office settings as Settings ``Oof`` carries them (MS-ASCMD 2.2.3.119) and as
they are kept in the user's record (``User.oof``, a JSON dict)::

    {"state": 0|1|2, "start": "2026-11-20T09:00:00.000Z", "end": "…",
     "messages": {"Internal": {"enabled": true, "reply": "…", "body_type": "Text"},
                  "ExternalKnown": {…}, "ExternalUnknown": {…}}}

State 0 is off, 1 on, 2 on between ``start`` and ``end``.
"""
from __future__ import annotations

import html
import re
from datetime import datetime
from typing import Any

from lxml import etree

from protocol.numbers import whole_number
from protocol.xml import E, child, children, sub, text

AUDIENCES = ("Internal", "ExternalKnown", "ExternalUnknown")
STATES = (0, 1, 2)
BODY_TYPES = ("Text", "HTML")


class OofError(ValueError):
    """The Set cannot be stored as sent (the Oof Status to answer is 2 or 5)."""

    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status = status


def read_set(element: etree._Element, current: dict[str, Any]) -> dict[str, Any]:
    """The stored settings after applying an Oof ``Set``; messages not named are kept."""
    state_text = text(element, "Settings:OofState")
    state = whole_number(state_text)
    if state not in STATES:
        raise OofError(2, "OofState missing or not 0, 1 or 2")
    start, end = text(element, "Settings:StartTime"), text(element, "Settings:EndTime")
    if state == 2:
        _check_window(start, end)
    messages = dict(current.get("messages", {}))
    for message in children(element, "Settings:OofMessage"):
        audience = _audience(message)
        messages[audience] = {
            "enabled": text(message, "Settings:Enabled", "0").strip() == "1",
            "reply": text(message, "Settings:ReplyMessage", "") or "",
            "body_type": _body_type(text(message, "Settings:BodyType", "Text")),
        }
    return {"state": state, "start": start if state == 2 else None,
            "end": end if state == 2 else None, "messages": messages}


def write_get(stored: dict[str, Any], body_type: str) -> etree._Element:
    """The ``Get`` element of an answer, bodies converted to ``body_type``."""
    get = E("Settings:Get", E("Settings:OofState", int(stored.get("state", 0))))
    if stored.get("state") == 2:
        sub(get, "Settings:StartTime", stored.get("start") or "")
        sub(get, "Settings:EndTime", stored.get("end") or "")
    wanted = _body_type(body_type)
    for audience in AUDIENCES:
        message = stored.get("messages", {}).get(audience, {})
        element = sub(get, "Settings:OofMessage")
        sub(element, f"Settings:AppliesTo{audience}")
        sub(element, "Settings:Enabled", "1" if message.get("enabled") else "0")
        sub(element, "Settings:ReplyMessage",
            _convert(message.get("reply", ""), message.get("body_type", "Text"), wanted))
        sub(element, "Settings:BodyType", wanted)
    return get


def _audience(message: etree._Element) -> str:
    for audience in AUDIENCES:
        if child(message, f"Settings:AppliesTo{audience}") is not None:
            return audience
    raise OofError(2, "OofMessage names no AppliesTo… audience")


def _body_type(value: str | None) -> str:
    for known in BODY_TYPES:
        if (value or "").strip().lower() == known.lower():
            return known
    raise OofError(2, f"BodyType {value!r} is neither Text nor HTML")


def _check_window(start: str | None, end: str | None) -> None:
    if not start or not end:
        raise OofError(2, "OofState 2 needs StartTime and EndTime")
    try:
        begins, ends = _instant(start), _instant(end)
    except ValueError:
        raise OofError(2, "StartTime or EndTime is not a date") from None
    if ends <= begins:
        raise OofError(5, "EndTime is not after StartTime")


def _instant(value: str) -> datetime:
    return datetime.fromisoformat(value.strip().replace("Z", "+00:00"))


_TAG = re.compile(r"<[^>]+>")


def _convert(body: str, stored_type: str, wanted: str) -> str:
    if stored_type == wanted:
        return body
    if wanted == "HTML":
        return "<html><body>" + html.escape(body).replace("\n", "<br>") + "</body></html>"
    return html.unescape(_TAG.sub("", body.replace("<br>", "\n"))).strip()
