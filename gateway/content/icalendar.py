"""Reading the iCalendar part of a meeting mail (RFC 5545, as mail clients send it with
iTIP methods, RFC 5546): what the gateway needs to turn a sent invitation, cancellation or
reply into what Exchange makes of it.

Only the part of the format meeting mail uses: content lines (unfolded, parameters, escaped
text), VEVENT with its times, organizer, attendees and RRULE, and VTIMEZONE, which becomes
the TIME_ZONE_INFORMATION EAS carries (protocol/timezone.py). A TZID without a VTIMEZONE
that names an IANA zone is read with zoneinfo. What cannot be read is left out, never
guessed: an event without a readable UID or start is dropped.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from protocol import timezone
from protocol.numbers import integer
from protocol.timezone import TimeZone, Transition
from store.fixtures import eas_compact_date

WEEKDAYS = ("SU", "MO", "TU", "WE", "TH", "FR", "SA")  # index = EAS/Windows day of week
PARTSTAT_TO_ATTENDEE_STATUS = {"TENTATIVE": 2, "ACCEPTED": 3, "DECLINED": 4,
                               "NEEDS-ACTION": 5}
_DURATION = re.compile(r"^([+-])?P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$")


@dataclass(frozen=True)
class Property:
    name: str
    params: dict[str, str]
    value: str


@dataclass
class Component:
    name: str
    properties: list[Property] = field(default_factory=list)
    children: list[Component] = field(default_factory=list)

    def first(self, name: str) -> Property | None:
        return next((p for p in self.properties if p.name == name), None)

    def value(self, name: str, default: str = "") -> str:
        found = self.first(name)
        return found.value if found is not None else default

    def all(self, name: str) -> list[Property]:
        return [p for p in self.properties if p.name == name]


@dataclass(frozen=True)
class Attendee:
    address: str
    name: str
    status: str  # PARTSTAT
    required: bool


@dataclass(frozen=True)
class Event:
    uid: str
    summary: str
    start: datetime  # aware UTC
    end: datetime
    all_day: bool
    zone: TimeZone
    location: str = ""
    organizer: str = ""
    organizer_name: str = ""
    attendees: tuple[Attendee, ...] = ()
    recurrence: dict[str, Any] | None = None
    recurrence_id: datetime | None = None
    sequence: int = 0
    busy_status: int = 2
    sensitivity: int = 0
    reminder: int | None = None
    cancelled: bool = False
    stamp: datetime | None = None
    # A COUNTER's DTSTART/DTEND are the attendee's proposal; Outlook and Exchange name the
    # meeting's own times in X-MS-OLK-ORIGINALSTART/END (absent from other writers).
    original_start: datetime | None = None
    original_end: datetime | None = None


@dataclass(frozen=True)
class Calendar:
    method: str
    events: tuple[Event, ...]


# --- writing -----------------------------------------------------------------------------------
def escape(value: str) -> str:
    return (value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
            .replace("\r\n", "\\n").replace("\n", "\\n"))


def fold(line: str) -> str:
    """A content line cut into lines of at most 75 octets (RFC 5545 3.1), never inside a
    UTF-8 character."""
    parts, current = [], ""
    for char in line:
        if len((current + char).encode("utf-8")) > (75 if not parts else 74):
            parts.append(current)
            current = ""
        current += char
    parts.append(current)
    return "\r\n ".join(parts)


def write_calendar(method: str, event_lines: list[str]) -> str:
    """A VCALENDAR with one VEVENT made of ``event_lines`` (``NAME;PARAMS:value``)."""
    lines = ["BEGIN:VCALENDAR", "PRODID:-//easgate//EN", "VERSION:2.0", f"METHOD:{method}",
             "BEGIN:VEVENT", *event_lines, "END:VEVENT", "END:VCALENDAR"]
    return "".join(fold(line) + "\r\n" for line in lines)


# --- content lines -------------------------------------------------------------------------
def content_lines(text: str) -> list[Property]:
    """Unfold and split ``NAME;PARAM=V:value`` lines."""
    unfolded: list[str] = []
    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if line[:1] in (" ", "\t") and unfolded:
            unfolded[-1] += line[1:]
        elif line:
            unfolded.append(line)
    return [p for p in map(_property, unfolded) if p is not None]


def _property(line: str) -> Property | None:
    head, value, in_quotes = [], "", False
    for index, char in enumerate(line):
        if char == '"':
            in_quotes = not in_quotes
        elif char == ":" and not in_quotes:
            value = line[index + 1:]
            break
        head.append(char)
    else:
        return None
    name, *raw_params = _split_unquoted("".join(head), ";")
    params = {}
    for raw in raw_params:
        key, _, param_value = raw.partition("=")
        params[key.strip().upper()] = param_value.strip().strip('"')
    return Property(name.strip().upper(), params, value)


def _split_unquoted(text: str, separator: str) -> list[str]:
    parts, current, in_quotes = [], [], False
    for char in text:
        if char == '"':
            in_quotes = not in_quotes
        if char == separator and not in_quotes:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts


def unescape(value: str) -> str:
    return re.sub(r"\\([\\;,nN])", lambda m: "\n" if m.group(1) in "nN" else m.group(1), value)


def components(text: str) -> Component:
    """The VCALENDAR tree (an empty one when the text holds none)."""
    root = Component("ROOT")
    stack = [root]
    for prop in content_lines(text):
        if prop.name == "BEGIN":
            component = Component(prop.value.strip().upper())
            stack[-1].children.append(component)
            stack.append(component)
        elif prop.name == "END":
            if len(stack) > 1:
                stack.pop()
        else:
            stack[-1].properties.append(prop)
    calendar = next((c for c in root.children if c.name == "VCALENDAR"), None)
    return calendar or Component("VCALENDAR")


# --- the calendar ----------------------------------------------------------------------------
def read_calendar(text: str) -> Calendar:
    calendar = components(text)
    zones = {c.value("TZID"): _zone_of(c) for c in calendar.children if c.name == "VTIMEZONE"}
    events = tuple(e for c in calendar.children if c.name == "VEVENT"
                   if (e := _event(c, zones)) is not None)
    return Calendar(calendar.value("METHOD", "PUBLISH").strip().upper(), events)


def _event(component: Component, zones: dict[str, TimeZone]) -> Event | None:
    uid = component.value("UID").strip()
    start_prop = component.first("DTSTART")
    if not uid or start_prop is None:
        return None
    zone = _zone_for(start_prop, zones)
    start = _moment(start_prop, zones)
    if start is None:
        return None
    all_day = start_prop.params.get("VALUE", "").upper() == "DATE" or len(start_prop.value) == 8
    end = _end(component, start, all_day, zones)
    organizer = component.first("ORGANIZER")
    return Event(
        uid=uid, summary=unescape(component.value("SUMMARY")), start=start, end=end,
        all_day=all_day, zone=zone, location=unescape(component.value("LOCATION")),
        organizer=_address(organizer.value) if organizer else "",
        organizer_name=organizer.params.get("CN", "") if organizer else "",
        attendees=tuple(_attendee(p) for p in component.all("ATTENDEE")),
        recurrence=_recurrence(component.value("RRULE")),
        recurrence_id=_moment(component.first("RECURRENCE-ID"), zones),
        sequence=integer(component.value("SEQUENCE"), 0),
        busy_status=_busy_status(component),
        sensitivity={"PRIVATE": 2, "CONFIDENTIAL": 3}.get(component.value("CLASS").upper(), 0),
        reminder=_reminder(component),
        cancelled=component.value("STATUS").upper() == "CANCELLED",
        stamp=_moment(component.first("DTSTAMP"), zones),
        original_start=_moment(component.first("X-MS-OLK-ORIGINALSTART"), zones),
        original_end=_moment(component.first("X-MS-OLK-ORIGINALEND"), zones),
    )


def _end(component: Component, start: datetime, all_day: bool,
         zones: dict[str, TimeZone]) -> datetime:
    end = _moment(component.first("DTEND"), zones)
    if end is None:
        duration = parse_duration(component.value("DURATION"))
        end = start + (duration if duration is not None else
                       timedelta(days=1) if all_day else timedelta(0))
    return max(start, end)


def _attendee(prop: Property) -> Attendee:
    return Attendee(address=_address(prop.value), name=prop.params.get("CN", ""),
                    status=prop.params.get("PARTSTAT", "NEEDS-ACTION").upper(),
                    required=prop.params.get("ROLE", "REQ-PARTICIPANT").upper()
                    != "OPT-PARTICIPANT")


def _address(value: str) -> str:
    value = value.strip()
    return value[7:] if value.lower().startswith("mailto:") else value


def _busy_status(component: Component) -> int:
    microsoft = component.value("X-MICROSOFT-CDO-BUSYSTATUS").upper()
    named = {"FREE": 0, "TENTATIVE": 1, "BUSY": 2, "OOF": 3, "WORKINGELSEWHERE": 4}
    if microsoft in named:
        return named[microsoft]
    return 0 if component.value("TRANSP").upper() == "TRANSPARENT" else 2


def _reminder(component: Component) -> int | None:
    for alarm in (c for c in component.children if c.name == "VALARM"):
        trigger = parse_duration(alarm.value("TRIGGER"))
        if trigger is not None and trigger <= timedelta(0):
            return int(-trigger.total_seconds() // 60)
    return None


# --- times ---------------------------------------------------------------------------------
def _zone_for(prop: Property, zones: dict[str, TimeZone]) -> TimeZone:
    tzid = prop.params.get("TZID")
    if tzid is None:
        return timezone.UTC_ZONE
    return zones.get(tzid) or timezone.UTC_ZONE


def _moment(prop: Property | None, zones: dict[str, TimeZone]) -> datetime | None:
    """A DATE-TIME or DATE property as an aware UTC time: ``Z`` times as they are, TZID
    times through their VTIMEZONE (or the IANA zone of that name), floating times and dates
    as UTC."""
    if prop is None:
        return None
    value = prop.value.strip()
    try:
        if len(value) == 8:
            local = datetime.combine(date(int(value[:4]), int(value[4:6]), int(value[6:])),
                                     datetime.min.time())
        else:
            local = datetime.strptime(value.rstrip("Zz"), "%Y%m%dT%H%M%S")
    except ValueError:
        return None
    if value.upper().endswith("Z"):
        return local.replace(tzinfo=UTC)
    tzid = prop.params.get("TZID")
    if tzid in zones:
        return zones[tzid].to_utc(local)
    if tzid:
        try:
            return local.replace(tzinfo=ZoneInfo(tzid)).astimezone(UTC)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return local.replace(tzinfo=UTC)


def parse_duration(value: str) -> timedelta | None:
    match = _DURATION.match(value.strip().upper())
    if not match or not value.strip():
        return None
    sign, weeks, days, hours, minutes, seconds = match.groups()
    delta = timedelta(weeks=int(weeks or 0), days=int(days or 0), hours=int(hours or 0),
                      minutes=int(minutes or 0), seconds=int(seconds or 0))
    return -delta if sign == "-" else delta


def _zone_of(component: Component) -> TimeZone:
    """A VTIMEZONE as TIME_ZONE_INFORMATION: its STANDARD and DAYLIGHT rules (the latest
    of each when there are several), yearly on the n-th weekday of a month."""
    standard = _latest(component, "STANDARD")
    daylight = _latest(component, "DAYLIGHT")
    if standard is None:
        return timezone.UTC_ZONE
    standard_offset = _offset_minutes(standard.value("TZOFFSETTO"))
    if daylight is None:
        return TimeZone(bias=-standard_offset, standard_name=component.value("TZID")[:31])
    daylight_offset = _offset_minutes(daylight.value("TZOFFSETTO"))
    standard_date, daylight_date = _transition(standard), _transition(daylight)
    if standard_date is None or daylight_date is None:
        return TimeZone(bias=-standard_offset)
    return TimeZone(bias=-standard_offset, standard_name=component.value("TZID")[:31],
                    standard_date=standard_date, daylight_date=daylight_date,
                    daylight_bias=standard_offset - daylight_offset)


def _latest(component: Component, name: str) -> Component | None:
    found = [c for c in component.children if c.name == name]
    return max(found, key=lambda c: c.value("DTSTART")) if found else None


def _offset_minutes(value: str) -> int:
    match = re.fullmatch(r"([+-])(\d\d)(\d\d)(\d\d)?", value.strip())
    if not match:
        return 0
    minutes = int(match.group(2)) * 60 + int(match.group(3))
    return -minutes if match.group(1) == "-" else minutes


def _transition(component: Component) -> Transition | None:
    try:
        begins = datetime.strptime(component.value("DTSTART").strip()[:15], "%Y%m%dT%H%M%S")
    except ValueError:
        return None
    rule = _rule_parts(component.value("RRULE"))
    month = integer(rule.get("BYMONTH", ""), begins.month)
    if not 1 <= month <= 12:
        return None
    by_day = re.fullmatch(r"([+-]?\d)?(SU|MO|TU|WE|TH|FR|SA)", rule.get("BYDAY", ""))
    if rule.get("FREQ") != "YEARLY" or by_day is None:
        return Transition(begins.year, begins.month, 0, begins.day, begins.hour, begins.minute)
    nth = integer(by_day.group(1) or "1", 1)
    return Transition(0, month, WEEKDAYS.index(by_day.group(2)), 5 if nth < 0 else min(nth, 5),
                      begins.hour, begins.minute)


# --- RRULE ---------------------------------------------------------------------------------
def _rule_parts(value: str) -> dict[str, str]:
    return {k.strip().upper(): v.strip().upper()
            for k, _, v in (part.partition("=") for part in value.split(";") if part)}


def _recurrence(value: str) -> dict[str, Any] | None:
    """An RRULE as EAS Recurrence fields (MS-ASCAL 2.2.2.39); None for rules EAS cannot say
    (hourly and finer)."""
    rule = _rule_parts(value)
    frequency = rule.get("FREQ")
    if frequency not in ("DAILY", "WEEKLY", "MONTHLY", "YEARLY"):
        return None
    days = [re.fullmatch(r"([+-]?\d)?(SU|MO|TU|WE|TH|FR|SA)", d) for d in
            rule.get("BYDAY", "").split(",") if d]
    mask = sum(1 << WEEKDAYS.index(d.group(2)) for d in days if d)
    nth = next((integer(d.group(1), 1) for d in days if d and d.group(1)), None)
    if nth is None and rule.get("BYSETPOS"):
        nth = integer(rule["BYSETPOS"].split(",")[0], 1)
    recurrence: dict[str, Any] = {"Interval": max(1, integer(rule.get("INTERVAL", ""), 1))}
    if frequency == "DAILY":
        recurrence["Type"] = 0
    elif frequency == "WEEKLY":
        recurrence.update(Type=1, **({"DayOfWeek": mask} if mask else {}))
    elif nth is not None and mask:
        recurrence.update(Type=3 if frequency == "MONTHLY" else 6, DayOfWeek=mask,
                          WeekOfMonth=5 if nth < 0 else min(nth, 5))
    else:
        recurrence["Type"] = 2 if frequency == "MONTHLY" else 5
        if rule.get("BYMONTHDAY"):
            recurrence["DayOfMonth"] = integer(rule["BYMONTHDAY"].split(",")[0], 1)
    if frequency == "YEARLY" and rule.get("BYMONTH"):
        recurrence["MonthOfYear"] = integer(rule["BYMONTH"].split(",")[0], 1)
    if rule.get("COUNT"):
        recurrence["Occurrences"] = integer(rule["COUNT"], 1)
    until = _moment(Property("UNTIL", {}, rule["UNTIL"]), {}) if rule.get("UNTIL") else None
    if until is not None:
        recurrence["Until"] = eas_compact_date(until)
    return recurrence
