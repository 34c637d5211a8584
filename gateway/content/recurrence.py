"""The occurrences of a calendar item (MS-ASCAL 2.2.2.39 Recurrence, 2.2.2.20 Exceptions).

A series repeats in its own time zone (Calendar:Timezone): a weekly 09:00 meeting in Paris
stays at 09:00 local across a daylight-saving change, so its UTC time moves. Occurrences are
made in local time and turned into UTC one by one. ``Recurrence`` fields as stored (see
gateway/content/calendar.py): ``Type`` 0 daily, 1 weekly, 2 monthly on a day, 3 monthly on
the n-th weekday, 5 yearly on a day, 6 yearly on the n-th weekday; ``Interval``; the end by
``Until`` (UTC) or ``Occurrences``; ``DayOfWeek`` a mask (1 Sunday … 64 Saturday);
``DayOfMonth``; ``WeekOfMonth`` (5 = last); ``MonthOfYear``. Exceptions are keyed by the
original start (``ExceptionStartTime``): deleted, or moved/changed.

Hostile or odd data never loops for ever: the walk stops after MAX_STEPS periods.
"""
from __future__ import annotations

import calendar
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from gateway.content.mail import parse_eas_date
from protocol import timezone

MAX_STEPS = 20_000  # periods (days, weeks, months or years) walked before giving up
DAILY, WEEKLY, MONTHLY, MONTHLY_NTH, YEARLY, YEARLY_NTH = 0, 1, 2, 3, 5, 6
EVERY_DAY, WEEKDAYS, WEEKEND = 127, 62, 65  # DayOfWeek masks Type 3 and 6 also accept


@dataclass(frozen=True)
class Occurrence:
    start: datetime  # aware, UTC
    end: datetime
    data: dict[str, Any]  # the series' fields with the exception's over them


def occurrences(event: dict[str, Any], window_start: datetime, window_end: datetime
                ) -> Iterator[Occurrence]:
    """The occurrences of ``event`` (an item's data) that overlap [window_start, window_end)."""
    start = parse_eas_date(event.get("StartTime"))
    end = parse_eas_date(event.get("EndTime"))
    if start is None or end is None or end < start:
        return
    recurrence = event.get("Recurrence")
    if not isinstance(recurrence, dict):
        if start < window_end and end > window_start:
            yield Occurrence(start, end, event)
        return
    exceptions = _exceptions_by_start(event.get("Exceptions"))
    for original in _series_starts(event, recurrence, start, window_end):
        exception = exceptions.get(original)
        if exception is not None and exception.get("Deleted") == 1:
            continue
        occurrence = _occurrence(event, original, end - start, exception)
        if occurrence.start < window_end and occurrence.end > window_start:
            yield occurrence


def _occurrence(event: dict[str, Any], original: datetime, duration: timedelta,
                exception: dict[str, Any] | None) -> Occurrence:
    if exception is None:
        return Occurrence(original, original + duration, event)
    start = parse_eas_date(exception.get("StartTime")) or original
    end = parse_eas_date(exception.get("EndTime")) or start + duration
    return Occurrence(start, max(start, end), {**event, **exception})


def _exceptions_by_start(exceptions: Any) -> dict[datetime, dict[str, Any]]:
    found = {}
    for exception in exceptions if isinstance(exceptions, list) else ():
        if isinstance(exception, dict):
            original = parse_eas_date(exception.get("ExceptionStartTime"))
            if original is not None:
                found[original] = exception
    return found


def _series_starts(event: dict[str, Any], recurrence: dict[str, Any], start: datetime,
                   window_end: datetime) -> Iterator[datetime]:
    """The UTC starts of the series, in order, from its first until the window's end, the
    series' Until or its count of Occurrences."""
    zone = timezone.from_base64(event.get("Timezone"))
    local_start = zone.to_local(start)
    until = parse_eas_date(recurrence.get("Until"))
    count = _positive(recurrence.get("Occurrences"))
    made = 0
    days = _days(recurrence, local_start.date())
    while True:
        try:
            moment = zone.to_utc(datetime.combine(next(days), local_start.time()))
        except (StopIteration, ValueError, OverflowError):
            return  # the walk's end, or past the calendar's year 9999
        if moment < start:
            continue  # a day of the first period before the series began
        if moment >= window_end or (until is not None and moment > until):
            return
        yield moment
        made += 1
        if count is not None and made >= count:
            return


def _days(recurrence: dict[str, Any], first: date) -> Iterator[date]:
    """The local days the rule names, in order, from the period holding ``first``."""
    kind = recurrence.get("Type")
    interval = _positive(recurrence.get("Interval")) or 1
    mask = _positive(recurrence.get("DayOfWeek")) or 0
    day_of_month = _positive(recurrence.get("DayOfMonth")) or first.day
    month_of_year = _positive(recurrence.get("MonthOfYear")) or first.month
    week = _positive(recurrence.get("WeekOfMonth")) or 1
    for step in range(MAX_STEPS):
        if kind == WEEKLY:
            yield from _week_days(first, step * interval, mask or _mask_of(first),
                                  recurrence.get("FirstDayOfWeek") or 0)
        elif kind == MONTHLY:
            year, month = _add_months(first, step * interval)
            yield _clamped(year, month, day_of_month)
        elif kind == MONTHLY_NTH:
            year, month = _add_months(first, step * interval)
            yield from _nth_day(year, month, mask or _mask_of(first), week)
        elif kind == YEARLY:
            yield _clamped(first.year + step * interval, month_of_year, day_of_month)
        elif kind == YEARLY_NTH:
            yield from _nth_day(first.year + step * interval, month_of_year,
                                mask or _mask_of(first), week)
        else:  # DAILY, and any type a client made up: every `interval` days
            yield first + timedelta(days=step * interval)


def _week_days(first: date, weeks_on: int, mask: int, first_day_of_week: int) -> Iterator[date]:
    sunday_based = (first.weekday() + 1) % 7
    week_start = first - timedelta(days=(sunday_based - first_day_of_week) % 7)
    week_start += timedelta(weeks=weeks_on)
    for offset in range(7):
        day = week_start + timedelta(days=offset)
        if mask & _mask_of(day):
            yield day


def _nth_day(year: int, month: int, mask: int, week: int) -> Iterator[date]:
    """The ``week``-th (5 = last) day of the month that ``mask`` matches: with one weekday
    set that is the n-th such weekday; with 127, 62 or 65 the n-th day, weekday or weekend
    day (MS-ASCAL's "day", "weekday", "weekend day")."""
    if year < 1 or year > 9999:
        return
    last = calendar.monthrange(year, month)[1]
    matching = [d for n in range(1, last + 1) if mask & _mask_of(d := date(year, month, n))]
    if matching:
        yield matching[-1] if week >= 5 else matching[min(week, len(matching)) - 1]


def _mask_of(day: date) -> int:
    return 1 << ((day.weekday() + 1) % 7)


def _add_months(first: date, months: int) -> tuple[int, int]:
    index = first.year * 12 + first.month - 1 + months
    return index // 12, index % 12 + 1


def _clamped(year: int, month: int, day: int) -> date:
    """``day`` of the month, or its last day when the month is shorter (the 31st of every
    month falls on the 30th in April, as Outlook and Exchange place it)."""
    month = min(max(month, 1), 12)
    return date(year, month, min(day, calendar.monthrange(year, month)[1]))


def _positive(value: Any) -> int | None:
    return value if isinstance(value, int) and value > 0 else None
