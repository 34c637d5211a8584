"""The EAS time zone (MS-ASDTYPE 2.7.6): a Windows TIME_ZONE_INFORMATION, 172 bytes, base64
in Calendar:Timezone, and the local ⇄ UTC arithmetic it defines.

Layout, little-endian: Bias (int32, minutes, UTC = local + bias), StandardName (32 UTF-16
units), StandardDate (SYSTEMTIME, 8 uint16: year, month, day of week, day, hour, minute,
second, milliseconds), StandardBias (int32), DaylightName, DaylightDate, DaylightBias.
A transition with year 0 recurs every year on the n-th weekday of its month (day 1–4, or 5
for the last); with a year it happens once. A zone whose StandardDate month is 0 keeps no
daylight time. Daylight time runs from DaylightDate (read in standard local time) to
StandardDate (read in daylight local time).
"""
from __future__ import annotations

import base64
import binascii
import calendar
import struct
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

SIZE = 172
_LAYOUT = struct.Struct("<i64s8Hi64s8Hi")


class TimeZoneError(ValueError):
    """Not a TIME_ZONE_INFORMATION."""


@dataclass(frozen=True)
class Transition:
    """A SYSTEMTIME that names when standard or daylight time begins (local time)."""

    year: int
    month: int
    day_of_week: int  # 0 Sunday … 6 Saturday
    day: int  # the n-th such weekday (5 = the last) in a recurring rule, else the day
    hour: int = 0
    minute: int = 0
    second: int = 0

    def in_year(self, year: int) -> datetime | None:
        """The naive local moment of this transition in ``year``; None when it does not
        fall in that year (a one-time transition of another year)."""
        if self.year:
            if self.year != year:
                return None
            day = min(self.day, calendar.monthrange(year, self.month)[1])
        else:
            day = nth_weekday(year, self.month, self.day_of_week, self.day)
        return datetime(year, self.month, day, self.hour, self.minute, self.second)


@dataclass(frozen=True)
class TimeZone:
    bias: int  # minutes: UTC = local + bias
    standard_name: str = ""
    standard_date: Transition | None = None
    standard_bias: int = 0
    daylight_name: str = ""
    daylight_date: Transition | None = None
    daylight_bias: int = 0

    @property
    def keeps_daylight_time(self) -> bool:
        return self.standard_date is not None and self.daylight_date is not None

    def bias_at_local(self, local: datetime) -> int:
        """Minutes to add to this naive local time for UTC."""
        return self.bias + (self.daylight_bias if self._in_daylight_local(local)
                            else self.standard_bias)

    def to_utc(self, local: datetime) -> datetime:
        """A naive local time in this zone as an aware UTC time."""
        return (local + timedelta(minutes=self.bias_at_local(local))).replace(tzinfo=UTC)

    def to_local(self, moment: datetime) -> datetime:
        """An aware time as the naive local time in this zone."""
        utc = moment.astimezone(UTC).replace(tzinfo=None)
        standard = utc - timedelta(minutes=self.bias + self.standard_bias)
        if not self._in_daylight_utc(utc, standard.year):
            return standard
        return utc - timedelta(minutes=self.bias + self.daylight_bias)

    def _in_daylight_utc(self, utc: datetime, year: int) -> bool:
        """Whether daylight time holds at this naive UTC time: each transition is read in
        the local time it is given in (daylight begins in standard time and ends in daylight
        time), so turned into UTC with the bias in force just before it."""
        return self._in_daylight(utc, year, self.bias + self.standard_bias,
                                 self.bias + self.daylight_bias)

    def _in_daylight_local(self, local: datetime) -> bool:
        """Whether a naive local time reads as daylight time (in the hour a clock is turned
        back, the first of the two, as Windows reads it)."""
        return self._in_daylight(local, local.year, 0, 0)

    def _in_daylight(self, moment: datetime, year: int, begins_shift: int,
                     ends_shift: int) -> bool:
        """Whether ``moment`` lies in ``year``'s daylight time, the transitions moved by the
        shifts (minutes) into the clock ``moment`` is read on."""
        if not self.keeps_daylight_time:
            return False
        assert self.daylight_date is not None and self.standard_date is not None
        begins = self.daylight_date.in_year(year)
        ends = self.standard_date.in_year(year)
        if begins is None or ends is None:
            return False
        begins += timedelta(minutes=begins_shift)
        ends += timedelta(minutes=ends_shift)
        if begins < ends:  # northern hemisphere: daylight time inside the year
            return begins <= moment < ends
        return moment >= begins or moment < ends  # southern: daylight time across new year


UTC_ZONE = TimeZone(bias=0)


def nth_weekday(year: int, month: int, day_of_week: int, nth: int) -> int:
    """The day of the month of the ``nth`` (1–4, or 5 for the last) ``day_of_week``
    (0 Sunday … 6 Saturday)."""
    first_weekday = (calendar.weekday(year, month, 1) + 1) % 7  # Sunday = 0
    first = 1 + (day_of_week - first_weekday) % 7
    last_day = calendar.monthrange(year, month)[1]
    day = first + 7 * (max(1, min(nth, 5)) - 1)
    while day > last_day:
        day -= 7
    return day


def decode(blob: bytes) -> TimeZone:
    if len(blob) != SIZE:
        raise TimeZoneError(f"a time zone is {SIZE} bytes, not {len(blob)}")
    fields = _LAYOUT.unpack(blob)
    bias, standard_name, standard_date = fields[0], fields[1], fields[2:10]
    standard_bias, daylight_name, daylight_date = fields[10], fields[11], fields[12:20]
    daylight_bias = fields[20]
    standard, daylight = _transition(standard_date), _transition(daylight_date)
    if standard is None or daylight is None:
        standard = daylight = None
    return TimeZone(bias, _name(standard_name), standard, standard_bias if standard else 0,
                    _name(daylight_name), daylight, daylight_bias if daylight else 0)


def encode(zone: TimeZone) -> bytes:
    return _LAYOUT.pack(zone.bias, _wide(zone.standard_name), *_systemtime(zone.standard_date),
                        zone.standard_bias, _wide(zone.daylight_name),
                        *_systemtime(zone.daylight_date), zone.daylight_bias)


def from_base64(value: str | None) -> TimeZone:
    """The zone of a Calendar:Timezone value; UTC when it is missing or unreadable (the
    event's times are UTC on the wire anyway, only recurrence needs local time)."""
    if not value:
        return UTC_ZONE
    try:
        return decode(base64.b64decode(value, validate=True))
    except (binascii.Error, TimeZoneError, ValueError):
        return UTC_ZONE


def _transition(fields: tuple[int, ...]) -> Transition | None:
    year, month, day_of_week, day, hour, minute, second, _milliseconds = fields
    if not 1 <= month <= 12 or day_of_week > 6 or hour > 23 or minute > 59 or second > 59:
        return None
    if year == 0 and not 1 <= day <= 5:
        return None
    if year and not 1 <= day <= 31:
        return None
    return Transition(year, month, day_of_week, day, hour, minute, second)


def _systemtime(transition: Transition | None) -> tuple[int, ...]:
    if transition is None:
        return (0,) * 8
    return (transition.year, transition.month, transition.day_of_week, transition.day,
            transition.hour, transition.minute, transition.second, 0)


def _name(raw: bytes) -> str:
    return raw.decode("utf-16-le", errors="replace").split("\x00", 1)[0]


def _wide(name: str) -> bytes:
    return name.encode("utf-16-le")[:62].ljust(64, b"\x00")
