"""The iCalendar reader of meeting mail: content lines, times in their VTIMEZONE (checked
against the IANA database), RRULE as EAS Recurrence, and text that is not a calendar."""
from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from gateway.content import icalendar

NEW_YORK = """BEGIN:VTIMEZONE\r
TZID:Eastern Standard Time\r
BEGIN:STANDARD\r
DTSTART:16010101T020000\r
TZOFFSETFROM:-0400\r
TZOFFSETTO:-0500\r
RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=1SU;BYMONTH=11\r
END:STANDARD\r
BEGIN:DAYLIGHT\r
DTSTART:16010101T020000\r
TZOFFSETFROM:-0500\r
TZOFFSETTO:-0400\r
RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=2SU;BYMONTH=3\r
END:DAYLIGHT\r
END:VTIMEZONE\r
"""


def invitation(event_lines: str, method: str = "REQUEST", zones: str = NEW_YORK) -> str:
    return (f"BEGIN:VCALENDAR\r\nPRODID:-//Test//EN\r\nVERSION:2.0\r\nMETHOD:{method}\r\n"
            f"{zones}BEGIN:VEVENT\r\n{event_lines}END:VEVENT\r\nEND:VCALENDAR\r\n")


def test_an_outlook_style_invitation() -> None:
    calendar = icalendar.read_calendar(invitation(
        "UID:040000008200E00074C5B7101A82E008\r\n"
        "SUMMARY:Budget\\, Q3 review\\nroom 2\r\n"
        "DTSTART;TZID=Eastern Standard Time:20260715T090000\r\n"
        "DTEND;TZID=Eastern Standard Time:20260715T100000\r\n"
        'ORGANIZER;CN="Wood, Alice":mailto:alice@contoso.com\r\n'
        "ATTENDEE;ROLE=REQ-PARTICIPANT;PARTSTAT=NEEDS-ACTION;CN=Bob Kelly:mailto:bob@c\r\n"
        " ontoso.com\r\n"
        "ATTENDEE;ROLE=OPT-PARTICIPANT;CN=Carol:MAILTO:carol@contoso.com\r\n"
        "LOCATION:Room 2\r\nSEQUENCE:0\r\nX-MICROSOFT-CDO-BUSYSTATUS:TENTATIVE\r\n"
        "BEGIN:VALARM\r\nTRIGGER:-PT15M\r\nACTION:DISPLAY\r\nEND:VALARM\r\n"))
    assert calendar.method == "REQUEST"
    (event,) = calendar.events
    assert event.summary == "Budget, Q3 review\nroom 2"
    assert event.start == datetime(2026, 7, 15, 13, tzinfo=UTC)  # EDT, UTC-4
    assert event.end - event.start == timedelta(hours=1)
    assert (event.organizer, event.organizer_name) == ("alice@contoso.com", "Wood, Alice")
    assert [(a.address, a.required) for a in event.attendees] == [
        ("bob@contoso.com", True), ("carol@contoso.com", False)]
    assert (event.busy_status, event.reminder, event.all_day) == (1, 15, False)


def test_vtimezone_agrees_with_the_iana_database_all_year() -> None:
    zone = icalendar.read_calendar(invitation(
        "UID:x\r\nDTSTART;TZID=Eastern Standard Time:20260101T000000\r\n")).events[0].zone
    iana = ZoneInfo("America/New_York")
    moment = datetime(2026, 1, 1, tzinfo=UTC)
    while moment.year == 2026:
        assert zone.to_local(moment) == moment.astimezone(iana).replace(tzinfo=None)
        moment += timedelta(hours=1)


def test_utc_iana_and_floating_times_and_all_day_dates() -> None:
    def start(line: str):  # type: ignore[no-untyped-def]
        return icalendar.read_calendar(invitation(f"UID:x\r\n{line}\r\n", zones="")).events[0]

    assert start("DTSTART:20261201T090000Z").start == datetime(2026, 12, 1, 9, tzinfo=UTC)
    assert start("DTSTART;TZID=Europe/Paris:20261201T090000").start == \
        datetime(2026, 12, 1, 8, tzinfo=UTC)
    assert start("DTSTART:20261201T090000").start == datetime(2026, 12, 1, 9, tzinfo=UTC)
    day = start("DTSTART;VALUE=DATE:20261201")
    assert day.all_day and day.end - day.start == timedelta(days=1)


@pytest.mark.parametrize(("rule", "recurrence"), [
    ("FREQ=DAILY;INTERVAL=2;COUNT=5", {"Type": 0, "Interval": 2, "Occurrences": 5}),
    ("FREQ=WEEKLY;BYDAY=MO,WE;UNTIL=20261231T235959Z",
     {"Type": 1, "Interval": 1, "DayOfWeek": 2 | 8, "Until": "20261231T235959Z"}),
    ("FREQ=MONTHLY;BYMONTHDAY=31", {"Type": 2, "Interval": 1, "DayOfMonth": 31}),
    ("FREQ=MONTHLY;BYDAY=-1FR", {"Type": 3, "Interval": 1, "DayOfWeek": 32, "WeekOfMonth": 5}),
    ("FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1",
     {"Type": 3, "Interval": 1, "DayOfWeek": 62, "WeekOfMonth": 5}),
    ("FREQ=YEARLY;BYMONTH=11;BYDAY=4TH",
     {"Type": 6, "Interval": 1, "DayOfWeek": 16, "WeekOfMonth": 4, "MonthOfYear": 11}),
    ("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29",
     {"Type": 5, "Interval": 1, "DayOfMonth": 29, "MonthOfYear": 2}),
    ("FREQ=HOURLY", None),
])
def test_rrule_as_eas_recurrence(rule: str, recurrence) -> None:  # type: ignore[no-untyped-def]
    event = icalendar.read_calendar(invitation(
        f"UID:x\r\nDTSTART:20261201T090000Z\r\nRRULE:{rule}\r\n", zones="")).events[0]
    assert event.recurrence == recurrence


def test_events_without_uid_or_start_are_left_out_and_noise_reads_as_nothing() -> None:
    assert icalendar.read_calendar(invitation("DTSTART:20261201T090000Z\r\n")).events == ()
    assert icalendar.read_calendar(invitation("UID:x\r\nDTSTART:tomorrow\r\n")).events == ()
    rng = random.Random(5)
    alphabet = "BEGIN:VEVENT\r\nEND;=\":TZID,DTSTART20261201T0900Z\\ \t-+"
    for _ in range(300):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 400)))
        icalendar.read_calendar(invitation(text))  # never raises
        icalendar.read_calendar(text)
