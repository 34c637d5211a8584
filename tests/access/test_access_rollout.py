"""The rollout spread (SPEC §4 step 2): stable, inside the window, spread over it."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from gateway.access.rollout import notice_time, rollout_offset_s

WINDOW = 172800


def test_the_same_device_always_gets_the_same_offset() -> None:
    first = rollout_offset_s("contoso.com", "alice@contoso.com", "IPHONE1", WINDOW)
    assert first == rollout_offset_s("CONTOSO.com", "Alice@contoso.com", "IPHONE1", WINDOW)
    assert first != rollout_offset_s("contoso.com", "alice@contoso.com", "IPHONE2", WINDOW)


def test_offsets_lie_in_the_window_and_spread_over_it() -> None:
    offsets = [rollout_offset_s("contoso.com", f"user{n}@contoso.com", "D", WINDOW)
               for n in range(400)]
    assert all(0 <= offset < WINDOW for offset in offsets)
    quarters = [sum(1 for o in offsets if q * WINDOW / 4 <= o < (q + 1) * WINDOW / 4)
                for q in range(4)]
    assert min(quarters) > 60  # roughly 100 each


def test_a_zero_window_means_at_once() -> None:
    on = datetime(2026, 11, 20, tzinfo=UTC)
    assert notice_time("contoso.com", "a@contoso.com", "D", on, 0) == on
    assert on <= notice_time("contoso.com", "a@contoso.com", "D", on, 3600) < on + timedelta(hours=1)
