"""Calendar items ⇄ EAS (MS-ASCAL): times, attendees, recurrence, exceptions, time zone.

``Item.data`` holds the Calendar fields by tag name: times in the compact form
``20261120T091500Z``, ``Timezone`` as the base64 TIME_ZONE_INFORMATION blob EAS carries,
``Attendees`` as a list of ``{"Email", "Name", "AttendeeStatus", "AttendeeType"}``,
``Recurrence`` as a dict of its fields, ``Exceptions`` as a list of dicts (``Deleted``,
``ExceptionStartTime`` and any field that differs from the series).

Version differences handled here: ``ResponseRequested``, ``ResponseType``,
``AppointmentReplyTime``, ``DisallowNewTimeProposal``, ``CalendarType`` and ``IsLeapMonth``
from 14.0, ``FirstDayOfWeek`` from 14.1; on 16.0 and later the location is an
``AirSyncBase:Location`` and exceptions are named by ``AirSyncBase:InstanceId``.
"""
from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

from lxml import etree

from gateway.content.body import BodyOptions, parse_body, render_body
from gateway.content.fields import parse_categories, render_categories
from gateway.content.mail import PROPOSAL_FIELDS
from protocol.numbers import integer
from protocol.versions import at_least
from protocol.xml import E, child, children, sub, text
from store.types import Item

# (tag, first version) of the top-level fields in MS-ASCAL schema order; "Body", "Location",
# "Attendees", "Categories", "Recurrence" and "Exceptions" are rendered by their own code.
EVENT_FIELDS = (
    ("Timezone", "12.1"), ("AllDayEvent", "12.1"), ("Body", "12.1"), ("BusyStatus", "12.1"),
    ("OrganizerName", "12.1"), ("OrganizerEmail", "12.1"), ("DtStamp", "12.1"),
    ("EndTime", "12.1"), ("Location", "12.1"), ("Reminder", "12.1"), ("Sensitivity", "12.1"),
    ("Subject", "12.1"), ("StartTime", "12.1"), ("UID", "12.1"), ("MeetingStatus", "12.1"),
    ("Attendees", "12.1"), ("Categories", "12.1"), ("Recurrence", "12.1"),
    ("Exceptions", "12.1"), ("ResponseRequested", "14.0"), ("AppointmentReplyTime", "14.0"),
    ("ResponseType", "14.0"), ("DisallowNewTimeProposal", "14.0"),
)
EXCEPTION_FIELDS = (
    ("Deleted", "12.1"), ("ExceptionStartTime", "12.1"), ("Subject", "12.1"),
    ("StartTime", "12.1"), ("EndTime", "12.1"), ("Body", "12.1"), ("Location", "12.1"),
    ("Categories", "12.1"), ("Sensitivity", "12.1"), ("BusyStatus", "12.1"),
    ("AllDayEvent", "12.1"), ("Reminder", "12.1"), ("DtStamp", "12.1"),
    ("MeetingStatus", "12.1"), ("Attendees", "12.1"), ("AppointmentReplyTime", "14.0"),
    ("ResponseType", "14.0"),
)
RECURRENCE_FIELDS = (
    ("Type", "12.1"), ("Occurrences", "12.1"), ("Interval", "12.1"), ("WeekOfMonth", "12.1"),
    ("DayOfWeek", "12.1"), ("MonthOfYear", "12.1"), ("Until", "12.1"), ("DayOfMonth", "12.1"),
    ("CalendarType", "14.0"), ("IsLeapMonth", "14.0"), ("FirstDayOfWeek", "14.1"),
)
ATTENDEE_FIELDS = ("Email", "Name", "AttendeeStatus", "AttendeeType")
INTEGER_FIELDS = frozenset({
    "AllDayEvent", "BusyStatus", "Reminder", "Sensitivity", "MeetingStatus", "Deleted",
    "ResponseRequested", "ResponseType", "DisallowNewTimeProposal", "AttendeeStatus",
    "AttendeeType", "Type", "Occurrences", "Interval", "WeekOfMonth", "DayOfWeek",
    "MonthOfYear", "DayOfMonth", "CalendarType", "IsLeapMonth", "FirstDayOfWeek",
})
# Fields the server owns: a client's Change that leaves them out does not remove them.
# Other spellings a client may upload a field under (some tables write TimeZone).
UPLOAD_ALIASES = {"Timezone": "TimeZone"}
SERVER_OWNED = frozenset({"UID", "OrganizerName", "OrganizerEmail"})
STRUCTURED = frozenset({"Body", "Location", "Attendees", "Categories", "Recurrence", "Exceptions"})


def render_event(item: Item, options: BodyOptions, version: str) -> list[etree._Element]:
    data = {**item.data, "UID": item.data.get("UID") or event_uid(item.server_id)}
    fields: list[etree._Element] = []
    for tag, since in EVENT_FIELDS:
        if not at_least(version, since):
            continue
        if tag == "Body":
            fields.append(render_body(item, options, version))
        elif tag == "Categories":
            if item.categories:
                fields.append(render_categories("Calendar", item.categories))
        elif tag in STRUCTURED:
            fields.extend(_structured(tag, data.get(tag), options, version, item))
        elif data.get(tag) is not None:
            fields.append(E(f"Calendar:{tag}", data[tag]))
    return fields


def event_uid(server_id: str) -> str:
    """A stable UID for an event stored without one."""
    return hashlib.sha1(f"easgate/{server_id}".encode()).hexdigest().upper()


def _structured(tag: str, value: Any, options: BodyOptions, version: str,
                item: Item) -> list[etree._Element]:
    if value in (None, "", [], {}):
        return []
    if tag == "Location":
        return [render_location(str(value), version)]
    if tag == "Attendees":
        return [render_attendees(value, version)]
    if tag == "Recurrence":
        return [render_recurrence(value, version)]
    if tag == "Exceptions":
        return [render_exceptions(value, options, version, item)]
    return []


def render_location(location: str, version: str) -> etree._Element:
    if at_least(version, "16.0"):
        element = E("AirSyncBase:Location")
        sub(element, "AirSyncBase:DisplayName", location)
        return element
    return E("Calendar:Location", location)


def render_attendees(attendees: Iterable[dict[str, Any]], version: str) -> etree._Element:
    """The attendee list; on 16.0 and later with an attendee's new time proposal."""
    container = E("Calendar:Attendees")
    proposals = at_least(version, "16.0")
    for attendee in attendees:
        element = sub(container, "Calendar:Attendee")
        for tag in ATTENDEE_FIELDS:
            if attendee.get(tag) is not None:
                sub(element, f"Calendar:{tag}", attendee[tag])
        for tag in PROPOSAL_FIELDS if proposals else ():
            if attendee.get(tag):
                sub(element, f"MeetingResponse:{tag}", attendee[tag])
    return container


def render_recurrence(recurrence: dict[str, Any], version: str) -> etree._Element:
    element = E("Calendar:Recurrence")
    for tag, since in RECURRENCE_FIELDS:
        if at_least(version, since) and recurrence.get(tag) is not None:
            sub(element, f"Calendar:{tag}", recurrence[tag])
    return element


def render_exceptions(exceptions: Iterable[dict[str, Any]], options: BodyOptions, version: str,
                      item: Item) -> etree._Element:
    container = E("Calendar:Exceptions")
    for exception in exceptions:
        element = sub(container, "Calendar:Exception")
        for tag, since in EXCEPTION_FIELDS:
            value = exception.get(tag)
            if not at_least(version, since) or value in (None, "", []):
                continue
            if tag == "ExceptionStartTime" and at_least(version, "16.0"):
                sub(element, "AirSyncBase:InstanceId", value)
            elif tag == "Body":
                exception_item = Item(item.server_id, item.folder_id, "Calendar", {},
                                      body_text=str(value))
                element.append(render_body(exception_item, options, version))
            elif tag == "Categories":
                element.append(render_categories("Calendar", value))
            elif tag == "Location":
                element.append(render_location(str(value), version))
            elif tag == "Attendees":
                element.append(render_attendees(value, version))
            else:
                sub(element, f"Calendar:{tag}", value)
    return container


# --- client uploads -----------------------------------------------------------------------

def parse_event(app_data: etree._Element, version: str) -> dict[str, Any]:
    """Store fields from an uploaded event. A Change replaces the event: fields it leaves
    out come back as None (so the store removes them), except those the server owns."""
    data: dict[str, Any] = {}
    for tag, _ in EVENT_FIELDS:
        if tag in ("Body", "Categories"):
            continue
        value = _parse_field(app_data, tag)
        if value is not None or tag not in SERVER_OWNED:
            data[tag] = value
    fields: dict[str, Any] = {"data": data, **parse_body(app_data)}
    fields["categories"] = parse_categories(app_data, "Calendar") or ()
    return fields


def _parse_field(element: etree._Element, tag: str) -> Any:
    if tag == "Location":
        return parse_location(element)
    if tag == "Attendees":
        container = child(element, "Calendar:Attendees")
        return None if container is None else parse_attendees(container)
    if tag == "Recurrence":
        recurrence = child(element, "Calendar:Recurrence")
        return None if recurrence is None else _parse_flat(recurrence, RECURRENCE_FIELDS)
    if tag == "Exceptions":
        container = child(element, "Calendar:Exceptions")
        if container is None:
            return None
        return [parse_exception(e) for e in children(container, "Calendar:Exception")]
    value = text(element, f"Calendar:{tag}")
    if value is None and tag in UPLOAD_ALIASES:
        value = text(element, f"Calendar:{UPLOAD_ALIASES[tag]}")
    return _scalar(tag, value)


def keep_proposals(uploaded: dict[str, Any], stored: dict[str, Any]) -> dict[str, Any]:
    """An uploaded event with the attendees' new time proposals kept from the stored one:
    clients never send them back, and an organizer's Change of anything but the meeting's
    times leaves them standing. A Change that moves the meeting ends them."""
    attendees = uploaded.get("Attendees")
    moved = any(uploaded.get(tag) not in (None, stored.get(tag))
                for tag in ("StartTime", "EndTime"))
    if not attendees or moved:
        return uploaded
    proposals = {str(a.get("Email", "")).lower(): {t: a[t] for t in PROPOSAL_FIELDS if a.get(t)}
                 for a in stored.get("Attendees") or []}
    return {**uploaded, "Attendees": [
        {**a, **proposals.get(str(a.get("Email", "")).lower(), {})} for a in attendees]}


def parse_location(element: etree._Element) -> str | None:
    location = child(element, "AirSyncBase:Location")
    if location is not None:
        return text(location, "AirSyncBase:DisplayName", "")
    return text(element, "Calendar:Location")


def parse_attendees(container: etree._Element) -> list[dict[str, Any]]:
    return [
        {tag: value for tag in ATTENDEE_FIELDS
         if (value := _scalar(tag, text(attendee, f"Calendar:{tag}"))) is not None}
        for attendee in children(container, "Calendar:Attendee")
    ]


def parse_exception(element: etree._Element) -> dict[str, Any]:
    exception: dict[str, Any] = {}
    for tag, _ in EXCEPTION_FIELDS:
        if tag == "ExceptionStartTime":
            value = text(element, "Calendar:ExceptionStartTime") or text(
                element, "AirSyncBase:InstanceId")
        elif tag == "Body":
            value = parse_body(element).get("body_text")
        elif tag == "Categories":
            categories = parse_categories(element, "Calendar")
            value = list(categories) if categories is not None else None
        else:
            value = _parse_field(element, tag)
        if value is not None:
            exception[tag] = value
    return exception


def _parse_flat(element: etree._Element, table: Iterable[tuple[str, str]]) -> dict[str, Any]:
    return {tag: value for tag, _ in table
            if (value := _scalar(tag, text(element, f"Calendar:{tag}"))) is not None}


def _scalar(tag: str, value: str | None) -> Any:
    if value is None:
        return None
    value = value.strip()
    return integer(value) if tag in INTEGER_FIELDS else value
