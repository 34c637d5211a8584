"""Email items ⇄ EAS (MS-ASEMAIL): the Email, Email2 and AirSyncBase fields of a message.

A stored mail keeps its header fields in ``Item.data`` under their MS-ASWBXML tag names
(``Subject``, ``From``, ``To``, ``DateReceived`` …), its bodies in ``body_text`` /
``body_html`` and its MIME source in ``mime``; read, flag and categories are item columns.
`email_item(...)` turns a parsed MIME message into such an item, the way delivery writes it.
"""
from __future__ import annotations

import base64
import functools
import hashlib
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from email.utils import getaddresses
from typing import Any

from lxml import etree

from gateway.content.body import BodyOptions, native_body_type, parse_body, render_body
from gateway.content.fields import parse_categories, render_categories, render_scalars
from gateway.content.mime import (
    MimePart,
    ParsedMessage,
    build_message,
    parse_message,
    to_crlf_bytes,
)
from protocol.numbers import whole_number
from protocol.versions import at_least
from protocol.xml import E, child, set_opaque, sub, text
from store.types import Attachment, Item, NewItem

# Email:Flag children and their code pages, in schema order (MS-ASEMAIL 2.2.2.27).
FLAG_FIELDS = (
    ("Email", "Status"), ("Email", "FlagType"), ("Tasks", "StartDate"),
    ("Tasks", "UtcStartDate"), ("Tasks", "DueDate"), ("Tasks", "UtcDueDate"),
    ("Tasks", "DateCompleted"), ("Email", "CompleteTime"), ("Tasks", "ReminderSet"),
    ("Tasks", "ReminderTime"), ("Tasks", "Subject"), ("Tasks", "OrdinalDate"),
    ("Tasks", "SubOrdinalDate"),
)
FLAG_ACTIVE, FLAG_COMPLETE = 2, 1

# Email:MeetingRequest children (MS-ASEMAIL 2.2.2.48), kept in data["MeetingRequest"].
MEETING_REQUEST_FIELDS = (
    "AllDayEvent", "StartTime", "DtStamp", "EndTime", "InstanceType", "Location", "Organizer",
    "RecurrenceId", "Reminder", "ResponseRequested", "Sensitivity", "BusyStatus",
    "TimeZone", "GlobalObjId", "DisallowNewTimeProposal",
)
# A new time proposal (MS-ASCMD 2.2.3.140/141), 16.0 and later: on a response mail's
# MeetingRequest and on the organizer's Calendar:Attendee, in the MeetingResponse page.
PROPOSAL_FIELDS = ("ProposedStartTime", "ProposedEndTime")
RESPONSE_CLASS_PREFIX = "IPM.Schedule.Meeting.Resp"
RECURRENCE_FIELDS = ("Type", "Interval", "Until", "Occurrences", "WeekOfMonth", "DayOfMonth",
                     "DayOfWeek", "MonthOfYear")


def render_email(item: Item, options: BodyOptions, version: str) -> list[etree._Element]:
    """The ApplicationData children of a mail, in MS-ASEMAIL order, for ``version``."""
    data = item.data
    fields: list[etree._Element] = []
    for tag in ("To", "Cc", "From", "Subject", "ReplyTo", "DateReceived", "DisplayTo",
                "ThreadTopic", "Importance"):
        value = display_to(data) if tag == "DisplayTo" else data.get(tag)
        if value not in (None, ""):
            fields.append(E(f"Email:{tag}", value))
    fields.append(E("Email:Read", int(item.read)))
    if item.attachments:
        fields.append(render_attachments(item.attachments))
    fields.append(render_body(item, options, version))
    fields.append(E("Email:MessageClass", data.get("MessageClass", "IPM.Note")))
    if _shows_meeting_request(data, version):
        fields.append(render_meeting_request(data["MeetingRequest"], version))
    fields.append(E("Email:InternetCPID", data.get("InternetCPID", "65001")))
    fields.append(render_flag(item))
    fields.append(E("Email:ContentClass", data.get("ContentClass", "urn:content-classes:message")))
    fields.append(E("AirSyncBase:NativeBodyType", native_body_type(item)))
    if at_least(version, "14.0"):
        fields.extend(_conversation(item))
        fields.extend(render_scalars("Email2", data, ("LastVerbExecuted",
                                                      "LastVerbExecutionTime")))
        fields.append(render_categories("Email", item.categories))
    if at_least(version, "16.0"):
        fields.append(E("Email2:IsDraft", int(bool(data.get("IsDraft")))))
        if data.get("IsDraft") and data.get("Bcc"):
            fields.append(E("Email2:Bcc", data["Bcc"]))
    return fields


def display_to(data: dict[str, Any]) -> str:
    """Email:DisplayTo: the recipients' names, separated by semicolons."""
    if data.get("DisplayTo"):
        return str(data["DisplayTo"])
    return _names_of(str(data.get("To", "")))


@functools.lru_cache(maxsize=1024)
def _names_of(recipients: str) -> str:
    """The names (or addresses) of a recipient list: every Sync of a mail renders its
    DisplayTo, and parsing the addresses is the dearest part of it."""
    return "; ".join(name or address for name, address in getaddresses([recipients])
                     if name or address)


def render_attachments(attachments: Iterable[Attachment]) -> etree._Element:
    container = E("AirSyncBase:Attachments")
    for attachment in attachments:
        element = sub(container, "AirSyncBase:Attachment")
        sub(element, "AirSyncBase:DisplayName", attachment.name)
        sub(element, "AirSyncBase:FileReference", attachment.file_reference)
        sub(element, "AirSyncBase:Method", 1)  # 1 = normal attachment
        sub(element, "AirSyncBase:EstimatedDataSize", attachment.size)
        if attachment.content_id:
            sub(element, "AirSyncBase:ContentId", attachment.content_id)
        if attachment.is_inline:
            sub(element, "AirSyncBase:IsInline", 1)
    return container


def render_flag(item: Item) -> etree._Element:
    """Email:Flag: empty when the mail is not flagged, else its status and dates."""
    flag = E("Email:Flag")
    stored = item.data.get("Flag") if isinstance(item.data.get("Flag"), dict) else {}
    status = FLAG_ACTIVE if item.flagged else stored.get("Status")
    if status not in (FLAG_ACTIVE, FLAG_COMPLETE, str(FLAG_ACTIVE), str(FLAG_COMPLETE)):
        return flag
    values = {**stored, "Status": status}
    if int(status) == FLAG_ACTIVE:
        values.setdefault("FlagType", "Flag for follow up")
    for page, tag in FLAG_FIELDS:
        if values.get(tag) not in (None, ""):
            sub(flag, f"{page}:{tag}", values[tag])
    return flag


def render_meeting_request(request: dict[str, Any], version: str) -> etree._Element:
    element = E("Email:MeetingRequest")
    for tag in MEETING_REQUEST_FIELDS:
        if tag == "Reminder" and request.get(tag) is None:
            continue
        if request.get(tag) is not None:
            sub(element, f"Email:{tag}", request[tag])
        if tag == "ResponseRequested" and request.get("Recurrence"):
            recurrences = sub(element, "Email:Recurrences")
            recurrence = sub(recurrences, "Email:Recurrence")
            for field in RECURRENCE_FIELDS:
                if request["Recurrence"].get(field) is not None:
                    sub(recurrence, f"Email:{field}", request["Recurrence"][field])
    if at_least(version, "14.1"):
        sub(element, "Email2:MeetingMessageType", request.get("MeetingMessageType", 1))
    if at_least(version, "16.0"):
        for tag in PROPOSAL_FIELDS:
            if request.get(tag):
                sub(element, f"MeetingResponse:{tag}", request[tag])
    return element


def _shows_meeting_request(data: dict[str, Any], version: str) -> bool:
    """Whether a mail's Email:MeetingRequest goes out: always for a request or cancellation;
    for a response (a new time proposal) only from 16.0, which can say what it proposes."""
    if not isinstance(data.get("MeetingRequest"), dict):
        return False
    return not str(data.get("MessageClass", "")).startswith(RESPONSE_CLASS_PREFIX) \
        or at_least(version, "16.0")


def _conversation(item: Item) -> list[etree._Element]:
    conversation_id = item.data.get("ConversationId") or _digest(item.data.get("ThreadTopic")
                                                                 or item.data.get("Subject", ""))
    try:
        id_bytes = bytes.fromhex(str(conversation_id))
    except ValueError:
        id_bytes = bytes.fromhex(_digest(str(conversation_id)))
    return [set_opaque(E("Email2:ConversationId"), id_bytes),
            set_opaque(E("Email2:ConversationIndex"), conversation_index(item.data))]


def _digest(value: str) -> str:
    return hashlib.md5(value.encode("utf-8")).hexdigest().upper()


def conversation_index(data: dict[str, Any]) -> bytes:
    """Email2:ConversationIndex: one 5-byte timestamp block (MS-ASEMAIL 2.2.2.18), the
    received time as a FILETIME without its lowest 24 bits, as MS-OXOMSG's header has it."""
    if data.get("ConversationIndex"):
        try:
            return bytes.fromhex(str(data["ConversationIndex"]))
        except ValueError:
            pass
    received = parse_eas_date(data.get("DateReceived")) or datetime(1601, 1, 1, tzinfo=UTC)
    filetime = int((received - datetime(1601, 1, 1, tzinfo=UTC)).total_seconds() * 10_000_000)
    return (filetime >> 24).to_bytes(5, "big")


# --- client uploads ---------------------------------------------------------------------

def parse_email(app_data: etree._Element, version: str) -> dict[str, Any]:
    """Store fields from an uploaded mail (a Sync Change of Read/Flag/Categories, or a
    draft Add on 16.0+). Only what the element carries is returned."""
    fields: dict[str, Any] = {}
    data: dict[str, Any] = {}
    read = text(app_data, "Email:Read")
    if read is not None:
        fields["read"] = read.strip() == "1"
    flag = child(app_data, "Email:Flag")
    if flag is not None:
        parsed_flag = parse_flag(flag)
        fields["flagged"] = parsed_flag.get("Status") == FLAG_ACTIVE
        data["Flag"] = parsed_flag or None
    categories = parse_categories(app_data, "Email")
    if categories is not None:
        fields["categories"] = categories
    for tag in ("To", "Cc", "Subject", "Importance", "ReplyTo"):
        value = text(app_data, f"Email:{tag}")
        if value is not None:
            data[tag] = whole_number(value, value) if tag == "Importance" else value
    bcc = text(app_data, "Email2:Bcc")
    if bcc is not None:
        data["Bcc"] = bcc
    if child(app_data, "Email2:IsDraft") is not None or child(app_data, "AirSyncBase:Body") is not None:
        data.setdefault("MessageClass", "IPM.Note")
    fields.update(parse_body(app_data))
    if data:
        fields["data"] = data
    return fields


def parse_flag(flag: etree._Element) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for page, tag in FLAG_FIELDS:
        value = text(flag, f"{page}:{tag}")
        if value is not None:
            values[tag] = whole_number(value, value) if tag in ("Status", "ReminderSet") else value
    return values


# --- building mail ------------------------------------------------------------------------

def new_email(
    *, sender: str, to: str | Iterable[str], subject: str, text: str, html: str | None = None,
    date: datetime, cc: Iterable[str] = (), attachments: Iterable[tuple[str, str, bytes]] = (),
    headers: dict[str, str] | None = None,
) -> NewItem:
    """A mail with a real MIME source, ready for `Store.add_item` (into an Inbox, say).
    ``attachments`` are ``(file name, content type, bytes)``."""
    recipients = [to] if isinstance(to, str) else list(to)
    parts = [MimePart(name, content_type, content) for name, content_type, content in attachments]
    message = build_message(sender=sender, to=recipients, subject=subject, text=text, html=html,
                            date=date, cc=cc, attachments=parts, headers=headers)
    return email_item(parse_message(to_crlf_bytes(message)), received=date)


def email_item(parsed: ParsedMessage, *, received: datetime, read: bool = False,
               mime: bytes | None = None) -> NewItem:
    """A stored mail for a parsed MIME message, received at ``received``."""
    data: dict[str, Any] = {
        "Subject": parsed.subject,
        "From": parsed.sender,
        "To": ", ".join(parsed.to),
        "DateReceived": eas_date(received),
        "ThreadTopic": thread_topic(parsed.subject),
        "Importance": _importance(parsed),
        "MessageClass": "IPM.Note",
        "InternetCPID": "65001",
        "ContentClass": "urn:content-classes:message",
        "ConversationId": _digest(thread_topic(parsed.subject)),
        "NativeBodyType": 2 if parsed.html else 1,
    }
    if parsed.cc:
        data["Cc"] = ", ".join(parsed.cc)
    reply_to = parsed.header("Reply-To")
    if reply_to:
        data["ReplyTo"] = reply_to
    message_id = parsed.header("Message-ID")
    if message_id:
        data["MessageId"] = message_id.strip()
    data["DisplayTo"] = display_to(data)
    attachments = tuple(
        (Attachment("", part.filename, part.content_type, len(part.content), part.content_id,
                    part.is_inline), part.content)
        for part in parsed.attachments
    )
    return NewItem("Email", data, body_text=parsed.text, body_html=parsed.html,
                   mime=mime if mime is not None else to_crlf_bytes(parsed.message),
                   read=read, attachments=attachments)


def thread_topic(subject: str) -> str:
    """The subject without reply and forward prefixes (``Re: Fw: Budget`` → ``Budget``)."""
    topic = subject.strip()
    while True:
        head, colon, rest = topic.partition(":")
        if colon and head.strip().lower() in ("re", "fw", "fwd", "aw", "wg", "sv", "tr"):
            topic = rest.strip()
        else:
            return topic


def _importance(parsed: ParsedMessage) -> int:
    value = (parsed.header("Importance") or parsed.header("X-Priority") or "").strip().lower()
    if value in ("high", "1", "2") or value.startswith(("1 ", "2 ")):
        return 2
    if value in ("low", "5", "4") or value.startswith(("4 ", "5 ")):
        return 0
    return 1


def eas_date(moment: datetime) -> str:
    """``2026-11-20T09:15:00.000Z``, the form of Email and Tasks dates."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def parse_eas_date(value: Any) -> datetime | None:
    """Read ``2026-11-20T09:15:00.000Z`` or the compact ``20261120T091500Z``."""
    if not value:
        return None
    raw = str(value).strip()
    usual = parse_usual_eas_date(raw)
    if usual is not None:
        return usual
    for pattern in ("%Y-%m-%dT%H:%M:%S.%fZ", "%Y-%m-%dT%H:%M:%SZ", "%Y%m%dT%H%M%SZ"):
        try:
            return datetime.strptime(raw, pattern).replace(tzinfo=UTC)
        except ValueError:
            continue
    return None


_USUAL_DATE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", re.ASCII)


def parse_usual_eas_date(raw: str) -> datetime | None:
    """The one form nearly every date takes, ``2026-11-20T09:15:00.000Z``, read without
    ``strptime`` (which costs ten times more); None for any other form."""
    if _USUAL_DATE.fullmatch(raw) is None:
        return None
    try:
        return datetime.fromisoformat(raw[:23]).replace(tzinfo=UTC)
    except ValueError:
        return None


def global_object_id(uid: str) -> str:
    """Email:GlobalObjId for a calendar UID (MS-ASEMAIL 2.2.2.38): the Outlook GOID of a
    non-Outlook UID ("vCal-Uid" form), base64-encoded."""
    payload = b"vCal-Uid" + (1).to_bytes(4, "little") + uid.encode("utf-8") + b"\x00"
    goid = (bytes.fromhex("040000008200E00074C5B7101A82E008") + bytes(4) + bytes(8) + bytes(8)
            + len(payload).to_bytes(4, "little") + payload)
    return base64.b64encode(goid).decode("ascii")


def uid_from_global_object_id(value: str) -> str | None:
    """The calendar UID inside an Email:GlobalObjId (either GOID form)."""
    try:
        goid = base64.b64decode(value)
    except ValueError:
        return None
    payload = goid[40:]
    if payload.startswith(b"vCal-Uid"):
        return payload[12:].rstrip(b"\x00").decode("utf-8", errors="replace")
    return goid.hex().upper() if len(goid) >= 40 else None
