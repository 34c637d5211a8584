"""A collection's ``Options`` in a Sync request: the body the client wants, its window in
time (``FilterType``) and who wins a conflict (MS-ASCMD 2.2.3.125.6)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from lxml import etree

from gateway.content import BodyOptions
from gateway.content.mail import parse_usual_eas_date
from gateway.mailbox import ItemFilter
from protocol.numbers import integer
from protocol.xml import child, text
from store.types import Item

# FilterType codes (MS-ASCMD 2.2.3.71.2) → how far back items are kept; 8 is "incomplete
# tasks only", 0 (and anything unknown) is everything.
_FILTER_DAYS = {1: 1, 2: 3, 3: 7, 4: 14, 5: 31, 6: 92, 7: 183}
INCOMPLETE_TASKS = 8


@dataclass(frozen=True)
class SyncOptions:
    body: BodyOptions
    filter_type: int = 0
    server_wins: bool = True  # AirSync:Conflict 1 (the default): the server's version wins

    @classmethod
    def parse(cls, options: etree._Element | None, version: str) -> SyncOptions:
        """Read one ``Options`` element (None → the defaults)."""
        if options is None:
            return cls(BodyOptions())
        return cls(
            body=BodyOptions.from_sync_options(options, version),
            filter_type=integer(text(options, "AirSync:FilterType")) or 0,
            server_wins=text(options, "AirSync:Conflict", "1").strip() != "0",
        )

    def item_filter(self, now: datetime) -> ItemFilter:
        """Which items lie in the client's window, None when all do."""
        if self.filter_type == INCOMPLETE_TASKS:
            return _incomplete_task
        days = _FILTER_DAYS.get(self.filter_type)
        if days is None:
            return None
        cutoff = now - timedelta(days=days)
        return lambda item: _in_window(item, cutoff)


def pick_options(collection: etree._Element) -> etree._Element | None:
    """The collection's Options for its own class (16.x may add one for SMS with a Class)."""
    for options in collection.iterfind("{AirSync:}Options"):
        item_class = text(options, "AirSync:Class")
        if item_class in (None, "Email", "Calendar", "Contacts", "Tasks", "Notes"):
            return options
    return child(collection, "AirSync:Options")


def _in_window(item: Item, cutoff: datetime) -> bool:
    if item.item_class == "Email":
        moment = _eas_time(item.data.get("DateReceived"))
    elif item.item_class == "Calendar":
        if item.data.get("Recurrence"):
            return True  # a series may still have occurrences in the window
        moment = _eas_time(item.data.get("EndTime"))
    else:
        return True
    return moment is None or moment >= cutoff


def _incomplete_task(item: Item) -> bool:
    return item.item_class != "Tasks" or str(item.data.get("Complete", "0")) != "1"


def _eas_time(value: object) -> datetime | None:
    """``2026-11-20T09:15:00.000Z`` or ``20261120T091500Z`` as an aware datetime."""
    if not isinstance(value, str):
        return None
    usual = parse_usual_eas_date(value)
    if usual is not None:
        return usual
    for layout in ("%Y-%m-%dT%H:%M:%S.%fZ", "%Y-%m-%dT%H:%M:%SZ", "%Y%m%dT%H%M%SZ"):
        try:
            return datetime.strptime(value, layout).replace(tzinfo=UTC)
        except ValueError:
            continue
    return None

