"""The EAS time zone blob (MS-ASDTYPE 2.7.6) and its local ⇄ UTC arithmetic, checked hour by
hour against the IANA database (zoneinfo) for a northern and a southern zone."""
from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from protocol import timezone
from protocol.timezone import TimeZone, Transition

PACIFIC = TimeZone(bias=480, standard_name="Pacific Standard Time",
                   standard_date=Transition(0, 11, 0, 1, 2), standard_bias=0,
                   daylight_name="Pacific Daylight Time",
                   daylight_date=Transition(0, 3, 0, 2, 2), daylight_bias=-60)
SYDNEY = TimeZone(bias=-600, standard_date=Transition(0, 4, 0, 1, 3),
                  daylight_date=Transition(0, 10, 0, 1, 2), daylight_bias=-60)


def test_blob_round_trip_is_172_bytes() -> None:
    blob = timezone.encode(PACIFIC)
    assert len(blob) == 172
    assert blob[:4] == (480).to_bytes(4, "little")
    assert timezone.decode(blob) == PACIFIC
    assert timezone.from_base64(base64.b64encode(blob).decode()) == PACIFIC


def test_an_all_zero_blob_is_utc_without_daylight_time() -> None:
    zone = timezone.decode(bytes(172))
    assert zone == timezone.UTC_ZONE and not zone.keeps_daylight_time


@pytest.mark.parametrize("value", [None, "", "not base64!", base64.b64encode(b"short").decode()])
def test_a_missing_or_unreadable_zone_reads_as_utc(value) -> None:  # type: ignore[no-untyped-def]
    assert timezone.from_base64(value) == timezone.UTC_ZONE


def test_wrong_size_is_refused() -> None:
    with pytest.raises(timezone.TimeZoneError):
        timezone.decode(bytes(171))


def test_nth_weekday() -> None:
    assert timezone.nth_weekday(2026, 3, 0, 2) == 8  # second Sunday of March 2026
    assert timezone.nth_weekday(2026, 11, 0, 1) == 1
    assert timezone.nth_weekday(2026, 3, 0, 5) == 29  # the last Sunday
    assert timezone.nth_weekday(2026, 10, 4, 5) == 29  # the last Thursday


@pytest.mark.parametrize(("zone", "name"), [(PACIFIC, "America/Los_Angeles"),
                                            (SYDNEY, "Australia/Sydney")])
def test_every_hour_of_2026_agrees_with_the_iana_database(zone: TimeZone, name: str) -> None:
    iana = ZoneInfo(name)
    moment = datetime(2026, 1, 1, tzinfo=UTC)
    while moment.year == 2026:
        local = moment.astimezone(iana).replace(tzinfo=None)
        assert zone.to_local(moment) == local, moment
        if not _ambiguous(local, iana):
            assert zone.to_utc(local) == moment, local
        moment += timedelta(minutes=30)


def _ambiguous(local: datetime, iana: ZoneInfo) -> bool:
    return (local.replace(tzinfo=iana, fold=0).utcoffset()
            != local.replace(tzinfo=iana, fold=1).utcoffset())


def test_a_one_time_transition_applies_in_its_year_only() -> None:
    zone = TimeZone(bias=0, standard_date=Transition(2026, 10, 0, 25, 3),
                    daylight_date=Transition(2026, 3, 0, 29, 1), daylight_bias=-60)
    assert zone.to_utc(datetime(2026, 7, 1, 12)) == datetime(2026, 7, 1, 11, tzinfo=UTC)
    assert zone.to_utc(datetime(2027, 7, 1, 12)) == datetime(2027, 7, 1, 12, tzinfo=UTC)
