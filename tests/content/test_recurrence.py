"""Occurrences of calendar series (MS-ASCAL Recurrence and Exceptions), in their own time
zone: each rule type, the ends of a series, exceptions, and hostile rules that must end."""
from __future__ import annotations

import base64
import time
from datetime import UTC, datetime
from typing import Any

from gateway.content.recurrence import occurrences
from protocol import timezone
from protocol.timezone import TimeZone, Transition

PACIFIC = base64.b64encode(timezone.encode(TimeZone(
    bias=480, standard_date=Transition(0, 11, 0, 1, 2),
    daylight_date=Transition(0, 3, 0, 2, 2), daylight_bias=-60))).decode()
MONDAY, TUESDAY, WEDNESDAY, FRIDAY, SATURDAY, SUNDAY = 2, 4, 8, 32, 64, 1


def at(text: str) -> datetime:
    return datetime.strptime(text, "%Y%m%dT%H%MZ").replace(tzinfo=UTC)


def event(start: str, end: str, recurrence: dict[str, Any] | None = None,
          **fields: Any) -> dict[str, Any]:
    data = {"StartTime": start + "00Z", "EndTime": end + "00Z", "Timezone": PACIFIC,
            "BusyStatus": 2, **fields}
    if recurrence is not None:
        data["Recurrence"] = recurrence
    return data


def starts(data: dict[str, Any], first: str = "20260101T0000Z",
           last: str = "20280101T0000Z") -> list[str]:
    return [o.start.strftime("%Y%m%dT%H%MZ") for o in occurrences(data, at(first), at(last))]


def test_a_single_event_is_one_occurrence_when_it_overlaps_the_window() -> None:
    single = event("20260305T1700", "20260305T1800")
    assert starts(single) == ["20260305T1700Z"]
    assert starts(single, "20260305T1800Z") == []


def test_weekly_keeps_local_time_across_daylight_saving() -> None:
    # Mondays 09:00 Pacific from 2026-02-23: 17:00 UTC, then 16:00 after March 8.
    weekly = event("20260223T1700", "20260223T1730", {"Type": 1, "Interval": 1,
                                                        "DayOfWeek": MONDAY, "Occurrences": 4})
    assert starts(weekly) == ["20260223T1700Z", "20260302T1700Z", "20260309T1600Z",
                              "20260316T1600Z"]


def test_weekly_on_two_days_every_other_week() -> None:
    rule = {"Type": 1, "Interval": 2, "DayOfWeek": MONDAY | WEDNESDAY,
            "Until": "20260320T000000Z"}
    assert starts(event("20260302T1600", "20260302T1700", rule)) == [
        "20260302T1600Z", "20260304T1600Z", "20260316T1500Z", "20260318T1500Z"]


def test_daily_with_an_interval_and_a_count() -> None:
    rule = {"Type": 0, "Interval": 2, "Occurrences": 3}
    assert starts(event("20260601T1600", "20260601T1700", rule)) == [
        "20260601T1600Z", "20260603T1600Z", "20260605T1600Z"]


def test_monthly_on_the_31st_falls_on_the_last_day_of_shorter_months() -> None:
    rule = {"Type": 2, "DayOfMonth": 31, "Occurrences": 3}
    assert starts(event("20260331T1600", "20260331T1700", rule)) == [
        "20260331T1600Z", "20260430T1600Z", "20260531T1600Z"]


def test_monthly_on_the_nth_weekday_and_the_last_one() -> None:
    second_tuesday = {"Type": 3, "WeekOfMonth": 2, "DayOfWeek": TUESDAY, "Occurrences": 2}
    assert starts(event("20260414T1600", "20260414T1700", second_tuesday)) == [
        "20260414T1600Z", "20260512T1600Z"]
    last_friday = {"Type": 3, "WeekOfMonth": 5, "DayOfWeek": FRIDAY, "Occurrences": 2}
    assert starts(event("20260424T1600", "20260424T1700", last_friday)) == [
        "20260424T1600Z", "20260529T1600Z"]
    last_weekday = {"Type": 3, "WeekOfMonth": 5, "DayOfWeek": 62, "Occurrences": 2}
    assert starts(event("20260130T1700", "20260130T1800", last_weekday)) == [
        "20260130T1700Z", "20260227T1700Z"]


def test_yearly_on_a_day_and_on_the_nth_weekday() -> None:
    leap_day = {"Type": 5, "MonthOfYear": 2, "DayOfMonth": 29, "Occurrences": 2}
    assert starts(event("20280229T1700", "20280229T1800", leap_day), last="20300101T0000Z") \
        == ["20280229T1700Z", "20290228T1700Z"]
    thanksgiving = {"Type": 6, "MonthOfYear": 11, "WeekOfMonth": 4, "DayOfWeek": 16,
                    "Occurrences": 2}
    assert starts(event("20261126T1700", "20261126T1800", thanksgiving)) == [
        "20261126T1700Z", "20271125T1700Z"]


def test_exceptions_delete_or_move_an_occurrence() -> None:
    rule = {"Type": 0, "Occurrences": 3}
    data = event("20260601T1600", "20260601T1700", rule, Exceptions=[
        {"ExceptionStartTime": "20260602T160000Z", "Deleted": 1},
        {"ExceptionStartTime": "20260603T160000Z", "StartTime": "20260603T200000Z",
         "EndTime": "20260603T210000Z", "BusyStatus": 1},
    ])
    found = list(occurrences(data, at("20260101T0000Z"), at("20270101T0000Z")))
    assert [(o.start, o.end, o.data["BusyStatus"]) for o in found] == [
        (at("20260601T1600Z"), at("20260601T1700Z"), 2),
        (at("20260603T2000Z"), at("20260603T2100Z"), 1)]


def test_only_occurrences_overlapping_the_window_come_out() -> None:
    rule = {"Type": 0}  # for ever
    assert starts(event("20260101T1600", "20260101T1700", rule),
                  "20260310T0000Z", "20260312T0000Z") == ["20260310T1500Z", "20260311T1500Z"]


def test_hostile_rules_end_quickly() -> None:
    hostile = [{"Type": 99, "Interval": 0}, {"Type": 1, "DayOfWeek": 0, "Interval": -5},
               {"Type": 5, "MonthOfYear": 13, "DayOfMonth": 99, "Interval": 9999},
               {"Type": 3, "WeekOfMonth": 0, "DayOfWeek": 1 << 20},
               {"Type": 2, "Occurrences": 10**9}, "not a dict", {"Type": 6, "Interval": 5000}]
    started = time.monotonic()
    for rule in hostile:
        data = event("99981220T1600", "99981220T1700")
        data["Recurrence"] = rule
        list(occurrences(data, at("99980101T0000Z"), at("99991231T0000Z")))
        list(occurrences(event("20260101T1600", "20260101T1700", rule if isinstance(
            rule, dict) else None), at("20260101T0000Z"), at("20260201T0000Z")))
    assert time.monotonic() - started < 5
