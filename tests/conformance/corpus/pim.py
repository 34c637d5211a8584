"""Calendar (attendees, recurrence, an exception), contacts and tasks in Sync responses."""
from __future__ import annotations

import base64
import struct

from corpus import document
from protocol.xml import E, sub


def _timezone_blob() -> str:
    """A TIME_ZONE_INFORMATION for Central European Time, base64 as EAS carries it."""
    name = "W. Europe Standard Time".encode("utf-16-le").ljust(64, b"\0")
    daylight = "W. Europe Daylight Time".encode("utf-16-le").ljust(64, b"\0")
    october = struct.pack("<8H", 0, 10, 0, 5, 3, 0, 0, 0)
    march = struct.pack("<8H", 0, 3, 0, 5, 2, 0, 0, 0)
    blob = struct.pack("<l", -60) + name + october + struct.pack("<l", 0)
    blob += daylight + march + struct.pack("<l", -60)
    return base64.b64encode(blob).decode()


def _collection(root, collection_id: str, sync_key: str):
    collection = sub(sub(root, "AirSync:Collections"), "AirSync:Collection")
    sub(collection, "AirSync:SyncKey", sync_key)
    sub(collection, "AirSync:CollectionId", collection_id)
    sub(collection, "AirSync:Status", 1)
    return sub(collection, "AirSync:Commands")


def _body(parent, text: str) -> None:
    body = sub(parent, "AirSyncBase:Body")
    sub(body, "AirSyncBase:Type", 1)
    sub(body, "AirSyncBase:EstimatedDataSize", len(text.encode()))
    sub(body, "AirSyncBase:Data", text)


@document
def sync_response_calendar():
    root = E("AirSync:Sync")
    add = sub(_collection(root, "1", "807"), "AirSync:Add")
    sub(add, "AirSync:ServerId", "1:7")
    data = sub(add, "AirSync:ApplicationData")
    sub(data, "Calendar:Timezone", _timezone_blob())
    sub(data, "Calendar:DtStamp", "20261120T091500Z")
    sub(data, "Calendar:StartTime", "20261123T080000Z")
    sub(data, "Calendar:Subject", "Weekly sync – Café Zürich")
    sub(data, "Calendar:UID", "040000008200E00074C5B7101A82E00800000000B0E9F5A3")
    sub(data, "Calendar:OrganizerName", "Dana Kim")
    sub(data, "Calendar:OrganizerEmail", "dana@fabrikam.com")
    attendees = sub(data, "Calendar:Attendees")
    for email, name, status, kind in [("alice@contoso.com", "Alice Wong", 3, 1),
                                      ("bob@contoso.com", "Bob Stone", 2, 2),
                                      ("room-4@contoso.com", "Room 4.12", 3, 3)]:
        attendee = sub(attendees, "Calendar:Attendee")
        sub(attendee, "Calendar:Email", email)
        sub(attendee, "Calendar:Name", name)
        sub(attendee, "Calendar:AttendeeStatus", status)
        sub(attendee, "Calendar:AttendeeType", kind)
    sub(data, "Calendar:Location", "Room 4.12")
    sub(data, "Calendar:EndTime", "20261123T083000Z")
    recurrence = sub(data, "Calendar:Recurrence")
    sub(recurrence, "Calendar:Type", 1)
    sub(recurrence, "Calendar:Interval", 1)
    sub(recurrence, "Calendar:DayOfWeek", 2)
    sub(recurrence, "Calendar:Until", "20270629T080000Z")
    sub(recurrence, "Calendar:FirstDayOfWeek", 1)
    _body(data, "Agenda:\r\n1. Status\r\n2. Risks")
    sub(data, "Calendar:Sensitivity", 0)
    sub(data, "Calendar:BusyStatus", 2)
    sub(data, "Calendar:AllDayEvent", 0)
    sub(data, "Calendar:Reminder", 15)
    exceptions = sub(data, "Calendar:Exceptions")
    moved = sub(exceptions, "Calendar:Exception")
    sub(moved, "Calendar:ExceptionStartTime", "20261207T080000Z")
    sub(moved, "Calendar:StartTime", "20261208T090000Z")
    sub(moved, "Calendar:EndTime", "20261208T093000Z")
    sub(moved, "Calendar:DtStamp", "20261201T101010Z")
    cancelled = sub(exceptions, "Calendar:Exception")
    sub(cancelled, "Calendar:Deleted", 1)
    sub(cancelled, "Calendar:ExceptionStartTime", "20261221T080000Z")
    sub(data, "Calendar:MeetingStatus", 3)
    sub(data, "AirSyncBase:NativeBodyType", 1)
    sub(data, "Calendar:ResponseRequested", 1)
    sub(data, "Calendar:ResponseType", 3)
    sub(data, "Calendar:AppointmentReplyTime", "20261120T101500Z")
    sub(data, "Calendar:DisallowNewTimeProposal", 0)
    return root


@document
def sync_response_contacts():
    root = E("AirSync:Sync")
    commands = _collection(root, "7", "3")
    people = [("Kim", "Dana", "Fabrikam", "dana@fabrikam.com", "+49 89 1234-0"),
              ("Ångström", "Zoë", "Contoso Nordic", "zoe@contoso.se", "+46 8 555 010")]
    for number, (last, first, company, email, phone) in enumerate(people, start=1):
        add = sub(commands, "AirSync:Add")
        sub(add, "AirSync:ServerId", f"7:{number}")
        data = sub(add, "AirSync:ApplicationData")
        _body(data, "Met at the Berlin trade fair.")
        sub(data, "Contacts:FileAs", f"{last}, {first}")
        sub(data, "Contacts:FirstName", first)
        sub(data, "Contacts:LastName", last)
        sub(data, "Contacts:CompanyName", company)
        sub(data, "Contacts:JobTitle", "Head of Finance")
        sub(data, "Contacts:Email1Address", f'"{first} {last}" <{email}>')
        sub(data, "Contacts:BusinessPhoneNumber", phone)
        sub(data, "Contacts:MobilePhoneNumber", "+49 151 2345678")
        sub(data, "Contacts:BusinessAddressStreet", "Leopoldstraße 12")
        sub(data, "Contacts:BusinessAddressCity", "München")
        sub(data, "Contacts:BusinessAddressPostalCode", "80802")
        sub(data, "Contacts:BusinessAddressCountry", "Germany")
        sub(data, "Contacts:HomeAddressCity", "Starnberg")
        sub(data, "Contacts:Birthday", "1984-02-29T00:00:00.000Z")
        categories = sub(data, "Contacts:Categories")
        sub(categories, "Contacts:Category", "Partners")
        children = sub(data, "Contacts:Children")
        sub(children, "Contacts:Child", "Mia")
        sub(data, "Contacts:Picture", "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==")
        sub(data, "Contacts2:NickName", first.lower())
        sub(data, "Contacts2:ManagerName", "Evelyn Park")
        sub(data, "Contacts2:CompanyMainPhone", "+49 89 1234-0")
        sub(data, "Contacts2:IMAddress", f"sip:{email}")
        sub(data, "AirSyncBase:NativeBodyType", 1)
    return root


@document
def sync_response_tasks():
    root = E("AirSync:Sync")
    add = sub(_collection(root, "8", "12"), "AirSync:Add")
    sub(add, "AirSync:ServerId", "8:3")
    data = sub(add, "AirSync:ApplicationData")
    _body(data, "Collect receipts from everyone.")
    sub(data, "Tasks:Subject", "Submit expense report")
    sub(data, "Tasks:Importance", 2)
    sub(data, "Tasks:UtcStartDate", "2026-11-20T00:00:00.000Z")
    sub(data, "Tasks:StartDate", "2026-11-20T01:00:00.000Z")
    sub(data, "Tasks:UtcDueDate", "2026-11-30T00:00:00.000Z")
    sub(data, "Tasks:DueDate", "2026-11-30T01:00:00.000Z")
    categories = sub(data, "Tasks:Categories")
    sub(categories, "Tasks:Category", "Admin")
    recurrence = sub(data, "Tasks:Recurrence")
    sub(recurrence, "Tasks:Type", 2)
    sub(recurrence, "Tasks:Start", "2026-11-30T00:00:00.000Z")
    sub(recurrence, "Tasks:Interval", 1)
    sub(recurrence, "Tasks:DayOfMonth", 30)
    sub(recurrence, "Tasks:Regenerate", 0)
    sub(recurrence, "Tasks:DeadOccur", 0)
    sub(data, "Tasks:Complete", 0)
    sub(data, "Tasks:Sensitivity", 0)
    sub(data, "Tasks:ReminderSet", 1)
    sub(data, "Tasks:ReminderTime", "2026-11-29T08:00:00.000Z")
    return root
