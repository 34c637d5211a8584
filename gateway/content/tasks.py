"""Tasks ⇄ EAS (MS-ASTASK). Dates use the ``2026-11-20T09:15:00.000Z`` form; ``Recurrence``
is a dict of its fields."""
from __future__ import annotations

from typing import Any

from lxml import etree

from gateway.content.body import BodyOptions, parse_body, render_body
from gateway.content.fields import (
    parse_categories,
    parse_scalars,
    render_categories,
    render_scalars,
)
from protocol.versions import at_least
from protocol.xml import E, child, sub
from store.types import Item

BEFORE_CATEGORIES = ("Subject", "Importance", "UtcStartDate", "StartDate", "UtcDueDate",
                     "DueDate")
AFTER_RECURRENCE = ("Complete", "DateCompleted", "Sensitivity", "ReminderTime", "ReminderSet",
                    "OrdinalDate", "SubOrdinalDate")
TASK_FIELDS = BEFORE_CATEGORIES + AFTER_RECURRENCE
RECURRENCE_FIELDS = (
    ("Type", "12.1"), ("Start", "12.1"), ("Until", "12.1"), ("Occurrences", "12.1"),
    ("Interval", "12.1"), ("DayOfMonth", "12.1"), ("DayOfWeek", "12.1"),
    ("WeekOfMonth", "12.1"), ("MonthOfYear", "12.1"), ("Regenerate", "12.1"),
    ("DeadOccur", "12.1"), ("CalendarType", "14.0"), ("IsLeapMonth", "14.0"),
    ("FirstDayOfWeek", "14.1"),
)
INTEGERS = frozenset({
    "Importance", "Complete", "Sensitivity", "ReminderSet", "Type", "Occurrences", "Interval",
    "DayOfMonth", "DayOfWeek", "WeekOfMonth", "MonthOfYear", "Regenerate", "DeadOccur",
    "CalendarType", "IsLeapMonth", "FirstDayOfWeek",
})


def render_task(item: Item, options: BodyOptions, version: str) -> list[etree._Element]:
    data = item.data
    fields = [render_body(item, options, version)]
    fields.extend(render_scalars("Tasks", data, BEFORE_CATEGORIES))
    if item.categories:
        fields.append(render_categories("Tasks", item.categories))
    if isinstance(data.get("Recurrence"), dict):
        recurrence = E("Tasks:Recurrence")
        for tag, since in RECURRENCE_FIELDS:
            if at_least(version, since) and data["Recurrence"].get(tag) is not None:
                sub(recurrence, f"Tasks:{tag}", data["Recurrence"][tag])
        fields.append(recurrence)
    fields.extend(render_scalars("Tasks", data, AFTER_RECURRENCE))
    return fields


def parse_task(app_data: etree._Element, version: str) -> dict[str, Any]:
    """Store fields of an uploaded task; a Change replaces the task (absent → None)."""
    data = parse_scalars(app_data, "Tasks", TASK_FIELDS, INTEGERS)
    recurrence = child(app_data, "Tasks:Recurrence")
    data["Recurrence"] = None if recurrence is None else {
        tag: value
        for tag, value in parse_scalars(recurrence, "Tasks", [t for t, _ in RECURRENCE_FIELDS],
                                        INTEGERS).items()
        if value is not None
    }
    fields: dict[str, Any] = {"data": data, **parse_body(app_data)}
    fields["categories"] = parse_categories(app_data, "Tasks") or ()
    return fields
