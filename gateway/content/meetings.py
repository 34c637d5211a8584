"""What a meeting mail becomes in the mailboxes it reaches, as Exchange makes it.

EAS clients send meeting mail themselves: an invitation, an update or a cancellation from
the organizer, a reply from an attendee, each a SendMail whose MIME carries a text/calendar
part with an iTIP method (RFC 5546). Exchange does not deliver that as a plain mail:

- REQUEST: the recipient gets an ``IPM.Schedule.Meeting.Request`` with an
  Email:MeetingRequest (times, organizer, time zone, recurrence, GlobalObjId), and the
  meeting appears in the recipient's calendar as tentative until answered (an update of a
  meeting already there changes it in place);
- CANCEL: ``IPM.Schedule.Meeting.Canceled``; the recipient's meeting is marked canceled
  (MeetingStatus 7), or the one occurrence named by RECURRENCE-ID is removed;
- REPLY: ``IPM.Schedule.Meeting.Resp.Pos/Tent/Neg`` to the organizer, whose meeting records
  the attendee's answer;
- COUNTER (a reply that proposes a new time, "New Time Proposed: …"): the same reply
  classes, with an Email:MeetingRequest that names the meeting's times and the proposal
  (MeetingResponse:ProposedStartTime/EndTime, rendered on 16.0 and later); the organizer's
  meeting records the proposal on the attendee, until the attendee's next answer.

On EAS 16.0 and later a MeetingResponse with SendResponse asks the server to send that reply
(or counter-proposal) itself: `reply_message` writes it.

This module turns the parsed calendar into those mail fields and calendar changes; the
delivery (gateway/content/delivery.py) applies them.
"""
from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any

from gateway.content import icalendar
from gateway.content.icalendar import PARTSTAT_TO_ATTENDEE_STATUS, Calendar, Event
from gateway.content.mail import PROPOSAL_FIELDS, eas_date, global_object_id
from protocol import timezone
from store.api import Store
from store.fixtures import eas_compact_date
from store.types import Item, NewItem

MEETING_RECEIVED, MEETING_CANCELED_RECEIVED = 3, 7
RESPONSE_TENTATIVE, RESPONSE_NONE = 2, 5
INITIAL_REQUEST, FULL_UPDATE = 1, 2  # Email2:MeetingMessageType
REPLY_WORDS = {"ACCEPTED": "Accepted", "TENTATIVE": "Tentative", "DECLINED": "Declined"}
COUNTER_WORDS = "New Time Proposed"
REPLY_METHODS = ("REPLY", "COUNTER")
NO_MESSAGE_TYPE = 0  # Email2:MeetingMessageType of a mail that is no request (a response)
REPLY_CLASS = {"ACCEPTED": "IPM.Schedule.Meeting.Resp.Pos",
               "TENTATIVE": "IPM.Schedule.Meeting.Resp.Tent",
               "DECLINED": "IPM.Schedule.Meeting.Resp.Neg"}


@dataclass(frozen=True)
class Meeting:
    """The meeting a mail carries: its iTIP method, its event (the series, or the one
    meeting, or — when the mail names only occurrences — the first of them) and the
    occurrences it names besides (VEVENTs of the same UID with a RECURRENCE-ID: the
    overridden instances of a series, or the canceled ones)."""

    method: str
    event: Event
    occurrences: tuple[Event, ...] = ()


def _meeting(method: str, events: tuple[Event, ...]) -> Meeting:
    main = next((e for e in events if e.recurrence_id is None), events[0])
    occurrences = tuple(e for e in events if e is not main and e.uid == main.uid
                        and e.recurrence_id is not None)
    return Meeting(method, main, occurrences)


def meeting_of(message: EmailMessage) -> Meeting | None:
    """The meeting in a message's text/calendar part, if it has one with a known method."""
    for part in message.walk():
        if part.get_content_type() != "text/calendar":
            continue
        try:
            content = part.get_content()
        except (LookupError, ValueError):
            content = (part.get_payload(decode=True) or b"").decode("utf-8", "replace")
        if isinstance(content, bytes):
            content = content.decode("utf-8", "replace")
        calendar: Calendar = icalendar.read_calendar(content)
        method = (part.get_param("method") or calendar.method or "").upper()
        if calendar.events and method in ("REQUEST", "CANCEL", *REPLY_METHODS):
            return _meeting(method, calendar.events)
    return None


def mail_fields(meeting: Meeting) -> dict[str, Any]:
    """The fields of the recipient's copy that make it a meeting mail."""
    event = meeting.event
    if meeting.method == "REPLY":
        return {"MessageClass": _reply_class(event, "ACCEPTED")}
    if meeting.method == "COUNTER":  # the meeting as it stands (its own times, when the
        # proposal names them, else the proposed ones), and the proposal
        request = _request_fields(event, event.original_start or event.start,
                                  event.original_end or event.end)
        request.update(MeetingMessageType=NO_MESSAGE_TYPE,
                       **proposal_fields(event.start, event.end))
        return {"MessageClass": _reply_class(event, "TENTATIVE"),
                "MeetingRequest": _present(request)}
    request = _request_fields(event, event.start, event.end)
    if meeting.method == "CANCEL":
        request["MeetingMessageType"] = NO_MESSAGE_TYPE
    return {"MessageClass": ("IPM.Schedule.Meeting.Canceled" if meeting.method == "CANCEL"
                             else "IPM.Schedule.Meeting.Request"),
            "MeetingRequest": _present(request)}


def _request_fields(event: Event, start: datetime, end: datetime) -> dict[str, Any]:
    """An Email:MeetingRequest of ``event`` running from ``start`` to ``end``."""
    request: dict[str, Any] = {
        "AllDayEvent": int(event.all_day), "StartTime": eas_date(start),
        "DtStamp": eas_date(event.stamp or event.start), "EndTime": eas_date(end),
        "InstanceType": _instance_type(event), "Location": event.location or None,
        "Organizer": _organizer(event), "RecurrenceId": (eas_date(event.recurrence_id)
                                                         if event.recurrence_id else None),
        "Reminder": event.reminder, "ResponseRequested": 1,
        "Sensitivity": event.sensitivity, "BusyStatus": event.busy_status,
        "TimeZone": _zone_blob(event), "GlobalObjId": global_object_id(event.uid),
        "UID": event.uid, "MeetingMessageType": FULL_UPDATE if event.sequence else
        INITIAL_REQUEST,
    }
    if event.recurrence:
        request["Recurrence"] = event.recurrence
    return request


def _present(fields: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in fields.items() if v is not None}


def _reply_class(event: Event, unstated: str) -> str:
    status = event.attendees[0].status if event.attendees else unstated
    return REPLY_CLASS.get(status, REPLY_CLASS[unstated])


def proposal_fields(start: datetime, end: datetime) -> dict[str, str]:
    """A new time proposal as stored: MeetingResponse:ProposedStartTime/EndTime, compact."""
    return {"ProposedStartTime": eas_compact_date(start),
            "ProposedEndTime": eas_compact_date(end)}


async def meeting_with_uid(store: Store, user_id: int, folder_id: str, uid: str
                           ) -> Item | None:
    """The first calendar item of the folder that is the meeting ``uid`` names."""
    for item in await store.list_items(user_id, folder_id):
        if item.data.get("UID") == uid:
            return item
    return None


def attendee_event(meeting: Meeting, body_text: str) -> NewItem:
    """The tentative meeting an invitation puts in the attendee's calendar."""
    return NewItem("Calendar", invitation_fields(meeting, {}) | {
        "MeetingStatus": MEETING_RECEIVED, "ResponseType": RESPONSE_NONE,
        "BusyStatus": RESPONSE_TENTATIVE if meeting.event.busy_status else 0,
        "ResponseRequested": 1}, body_text=body_text)


def event_fields(event: Event) -> dict[str, Any]:
    """Calendar item fields (MS-ASCAL, compact times) of an invitation's event."""
    fields: dict[str, Any] = {
        "Subject": event.summary, "StartTime": eas_compact_date(event.start),
        "EndTime": eas_compact_date(event.end), "DtStamp": eas_compact_date(event.stamp or event.start),
        "Timezone": _zone_blob(event), "AllDayEvent": int(event.all_day),
        "Sensitivity": event.sensitivity, "UID": event.uid,
        "OrganizerEmail": event.organizer, "OrganizerName": event.organizer_name or
        event.organizer,
        "Attendees": [{"Email": a.address, "Name": a.name or a.address,
                       "AttendeeStatus": PARTSTAT_TO_ATTENDEE_STATUS.get(a.status, 5),
                       "AttendeeType": 1 if a.required else 2} for a in event.attendees],
    }
    if event.location:
        fields["Location"] = event.location
    if event.reminder is not None:
        fields["Reminder"] = event.reminder
    if event.recurrence:
        fields["Recurrence"] = event.recurrence
    return fields


def invitation_fields(meeting: Meeting, existing: dict[str, Any]) -> dict[str, Any]:
    """The attendee's meeting as an invitation (or its update) makes it. A mail with the
    series restates it, its overridden occurrences as exceptions (in place of those of the
    same occurrences; the attendee's other exceptions, its declines, stay); a mail with
    only occurrences of a series already in the calendar changes those occurrences."""
    event = meeting.event
    if event.recurrence_id is not None and existing.get("Recurrence"):
        return {"Exceptions": _with_exceptions(existing, [
            _exception(e, existing) for e in (event, *meeting.occurrences)])}
    fields = event_fields(event)
    if event.recurrence and meeting.occurrences:
        fields["Exceptions"] = _with_exceptions(existing, [
            _exception(e, fields) for e in meeting.occurrences])
    return fields


def _exception(occurrence: Event, series: dict[str, Any]) -> dict[str, Any]:
    """An overridden occurrence as a Calendar exception: its times, and what else differs
    from the series."""
    exception: dict[str, Any] = {
        "ExceptionStartTime": eas_compact_date(occurrence.recurrence_id or occurrence.start),
        "StartTime": eas_compact_date(occurrence.start),
        "EndTime": eas_compact_date(occurrence.end)}
    if occurrence.cancelled:
        exception["Deleted"] = 1
    if occurrence.summary and occurrence.summary != series.get("Subject"):
        exception["Subject"] = occurrence.summary
    if occurrence.location and occurrence.location != series.get("Location"):
        exception["Location"] = occurrence.location
    return exception


def _with_exceptions(existing: dict[str, Any], changed: list[dict[str, Any]]
                     ) -> list[dict[str, Any]]:
    """The series' exceptions with ``changed`` in place of those of the same occurrence."""
    named = {e["ExceptionStartTime"] for e in changed}
    kept = [e for e in existing.get("Exceptions") or []
            if e.get("ExceptionStartTime") not in named]
    return [*kept, *changed]


def cancellation(meeting: Meeting, existing: dict[str, Any]) -> dict[str, Any]:
    """The changes a cancellation makes to the attendee's copy of the meeting: the
    occurrences it names removed (deleted exceptions), or the whole meeting marked canceled."""
    event = meeting.event
    if event.recurrence_id is not None and existing.get("Recurrence"):
        return {"Exceptions": _with_exceptions(existing, [
            {"ExceptionStartTime": eas_compact_date(e.recurrence_id), "Deleted": 1}
            for e in (event, *meeting.occurrences) if e.recurrence_id is not None])}
    return {"MeetingStatus": MEETING_CANCELED_RECEIVED}


def with_reply(existing: dict[str, Any], meeting: Meeting) -> dict[str, Any] | None:
    """The organizer's attendee list with the replying attendees' answers (and, for a
    COUNTER, their proposal; a plain reply withdraws an earlier one); None when the reply
    names nobody the meeting invited."""
    event = meeting.event
    answers = {a.address.lower(): PARTSTAT_TO_ATTENDEE_STATUS.get(a.status)
               for a in event.attendees}
    proposal = proposal_fields(event.start, event.end) if meeting.method == "COUNTER" else None
    attendees = [dict(a) for a in existing.get("Attendees") or []]
    changed = record_answers(attendees, answers, proposal)
    return {"Attendees": attendees} if changed else None


def record_answers(attendees: list[dict[str, Any]], answers: dict[str, int | None],
                   proposal: dict[str, str] | None) -> bool:
    """Each attendee ``answers`` gives a status for (by lower-case address) takes it, with
    ``proposal`` recorded or an earlier proposal gone; whether any did."""
    changed = False
    for attendee in attendees:
        status = answers.get(str(attendee.get("Email", "")).lower())
        if status is None:
            continue
        attendee["AttendeeStatus"] = status
        for tag in PROPOSAL_FIELDS:
            attendee.pop(tag, None)
        attendee.update(proposal or {})
        changed = True
    return changed


def reply_message(attendee: str, attendee_name: str, meeting: dict[str, Any], partstat: str,
                  note: str, now: datetime, instance: str | None = None,
                  proposal: dict[str, str] | None = None) -> bytes:
    """The reply an attendee's answer sends to the organizer: a mail with a text/calendar
    REPLY part naming the attendee's PARTSTAT (ACCEPTED, TENTATIVE or DECLINED) for the
    meeting (a calendar item's fields; ``instance`` the occurrence answered, if one). With
    a ``proposal`` (`proposal_fields`) it is a COUNTER whose DTSTART/DTEND are the proposed
    times, the meeting's own named as Outlook names them (X-MS-OLK-ORIGINALSTART/END)."""
    subject = str(meeting.get("Subject", ""))
    organizer = str(meeting.get("OrganizerEmail", ""))
    start, end = str(meeting.get("StartTime", "")), str(meeting.get("EndTime", ""))
    times = [f"DTSTART:{start}", f"DTEND:{end}"]
    if proposal:
        times = [f"DTSTART:{proposal['ProposedStartTime']}",
                 f"DTEND:{proposal['ProposedEndTime']}",
                 f"X-MS-OLK-ORIGINALSTART:{start}", f"X-MS-OLK-ORIGINALEND:{end}"]
    lines = [f"UID:{icalendar.escape(str(meeting.get('UID', '')))}",
             f"DTSTAMP:{eas_compact_date(now)}", *times,
             f"SUMMARY:{icalendar.escape(subject)}",
             f"ORGANIZER:mailto:{organizer}",
             f'ATTENDEE;PARTSTAT={partstat};CN="{attendee_name}":mailto:{attendee}']
    if instance:
        lines.append(f"RECURRENCE-ID:{instance}")
    message = EmailMessage(policy=policy.default)
    message["From"] = f'"{attendee_name}" <{attendee}>'
    message["To"] = organizer
    message["Subject"] = f"{COUNTER_WORDS if proposal else REPLY_WORDS[partstat]}: {subject}"
    message["Date"] = format_datetime(now)
    message.set_content(note or f"{attendee_name} has {REPLY_WORDS[partstat].lower()} "
                                 "this meeting.")
    method = "COUNTER" if proposal else "REPLY"
    message.add_alternative(icalendar.write_calendar(method, lines), subtype="calendar",
                            params={"method": method})
    return message.as_bytes(policy=policy.default.clone(linesep="\r\n"))


def _instance_type(event: Event) -> int:
    if event.recurrence:
        return 1  # the master of a recurring series
    return 3 if event.recurrence_id is not None else 0  # an exception, or a single meeting


def _organizer(event: Event) -> str | None:
    if not event.organizer:
        return None
    return f'"{event.organizer_name}" <{event.organizer}>' if event.organizer_name \
        else event.organizer


def _zone_blob(event: Event) -> str:
    return base64.b64encode(timezone.encode(event.zone)).decode("ascii")
