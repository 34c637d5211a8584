"""Calendar, contacts, tasks and notes: rendered per version, and read back."""
from __future__ import annotations

from dataclasses import replace

from content_items import as_item, demo_builder

from gateway.content import BodyOptions, parse_application_data, render_application_data
from protocol.xml import child, children, text


def demo_events():
    return [as_item(e, f"8:{n}") for n, e in enumerate(demo_builder().events(), start=1)]


def test_meeting_with_attendees():
    event = next(e for e in demo_events() if e.data.get("Attendees"))
    app = render_application_data(event, BodyOptions(), "14.1")
    assert text(app, "Calendar:Subject") == event.data["Subject"]
    assert text(app, "Calendar:StartTime") == event.data["StartTime"]
    assert text(app, "Calendar:Timezone") == event.data["Timezone"]
    assert text(app, "Calendar:UID") == event.data["UID"]
    assert text(app, "Calendar:MeetingStatus") == "1"
    attendees = children(child(app, "Calendar:Attendees"), "Calendar:Attendee")
    assert len(attendees) == len(event.data["Attendees"])
    assert text(attendees[0], "Calendar:Email") == event.data["Attendees"][0]["Email"]
    assert child(app, "AirSyncBase:Body") is not None


def test_recurring_and_all_day_events():
    events = demo_events()
    recurring = next(e for e in events if e.data.get("Recurrence"))
    recurrence = child(render_application_data(recurring, BodyOptions(), "14.1"),
                       "Calendar:Recurrence")
    assert text(recurrence, "Calendar:Type") == "1"
    assert text(recurrence, "Calendar:DayOfWeek") == str(recurring.data["Recurrence"]["DayOfWeek"])
    all_day = next(e for e in events if e.data.get("AllDayEvent") == 1)
    assert text(render_application_data(all_day, BodyOptions(), "12.1"),
                "Calendar:AllDayEvent") == "1"


def test_location_is_airsyncbase_on_16():
    event = next(e for e in demo_events() if e.data.get("Location"))
    old = render_application_data(event, BodyOptions(), "14.1")
    new = render_application_data(event, BodyOptions(), "16.1")
    assert text(old, "Calendar:Location") == event.data["Location"]
    assert child(new, "Calendar:Location") is None
    assert text(child(new, "AirSyncBase:Location"), "AirSyncBase:DisplayName") == \
        event.data["Location"]


def test_response_fields_only_from_14_0():
    event = as_item(demo_builder().events()[0], "8:1")
    event = replace(event, data={**event.data, "ResponseRequested": 1, "ResponseType": 3})
    assert child(render_application_data(event, BodyOptions(), "12.1"),
                 "Calendar:ResponseType") is None
    assert text(render_application_data(event, BodyOptions(), "14.0"),
                "Calendar:ResponseType") == "3"


def test_event_round_trip_with_exceptions():
    event = next(e for e in demo_events() if e.data.get("Recurrence"))
    data = {**event.data, "Exceptions": [
        {"ExceptionStartTime": event.data["StartTime"], "Deleted": 1},
        {"ExceptionStartTime": "20261204T100000Z", "Subject": "Moved", "StartTime":
         "20261204T120000Z", "EndTime": "20261204T130000Z"},
    ]}
    event = replace(event, data=data, categories=("Work",))
    for version in ("14.1", "16.1"):
        app = render_application_data(event, BodyOptions(), version)
        parsed = parse_application_data("Calendar", app, version)
        assert parsed["data"]["Exceptions"] == data["Exceptions"]
        assert parsed["data"]["Recurrence"] == data["Recurrence"]
        assert parsed["data"]["Subject"] == data["Subject"]
        assert parsed["categories"] == ("Work",)


def test_event_change_without_uid_keeps_uid():
    event = demo_events()[0]
    app = render_application_data(event, BodyOptions(), "14.1")
    app.remove(child(app, "Calendar:UID"))
    app.remove(child(app, "Calendar:Reminder"))
    data = parse_application_data("Calendar", app, "14.1")["data"]
    assert "UID" not in data
    assert data["Reminder"] is None  # a replacing change removes what it leaves out


def test_contact_round_trip():
    contact = as_item(demo_builder().contacts()[0], "9:1")
    contact = replace(contact, data={**contact.data, "NickName": "Dee",
                                     "Children": ["Sam", "Kim"]})
    app = render_application_data(contact, BodyOptions(), "14.1")
    assert text(app, "Contacts:Email1Address") == contact.data["Email1Address"]
    assert text(app, "Contacts2:NickName") == "Dee"
    data = parse_application_data("Contacts", app, "14.1")["data"]
    assert {k: v for k, v in data.items() if v is not None} == contact.data


def test_task_round_trip():
    task = as_item(demo_builder().tasks()[0], "7:1")
    app = render_application_data(task, BodyOptions(), "14.1")
    assert text(app, "Tasks:Subject") == task.data["Subject"]
    assert text(app, "Tasks:UtcDueDate") == task.data["UtcDueDate"]
    data = parse_application_data("Tasks", app, "14.1")["data"]
    assert {k: v for k, v in data.items() if v is not None} == task.data


def test_note_round_trip():
    note = as_item(demo_builder().notes()[0], "10:1")
    app = render_application_data(note, BodyOptions(), "14.1")
    assert text(app, "Notes:MessageClass") == "IPM.StickyNote"
    fields = parse_application_data("Notes", app, "14.1")
    assert fields["data"]["Subject"] == note.data["Subject"]
    assert fields["body_text"] == note.body_text
