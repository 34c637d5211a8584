"""The clock (SPEC §6): stored in the database, manual and real modes, advance fires the
deadlines it passes before it returns, never back during a quarantine."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from access_world import START, World, iphone

from gateway.clock import Clock, ClockError


class Wall:
    """A wall clock the test moves by hand (real mode follows it)."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


async def test_manual_time_is_frozen_and_shared_through_the_store(world: World) -> None:
    assert world.clock.now() == START
    await world.clock.advance(90 * 60)
    other = Clock(world.store)  # another process
    await other.load()
    assert other.now() == world.clock.now() == START + timedelta(minutes=90)


async def test_real_mode_follows_the_wall_with_an_offset(world: World) -> None:
    wall = Wall(datetime(2030, 1, 1, tzinfo=UTC))
    clock = Clock(world.store, wall=wall)
    await clock.load()
    await clock.set_mode("real")  # continues from the frozen time
    assert clock.now() == START
    wall.now += timedelta(seconds=10)
    assert clock.now() == START + timedelta(seconds=10)
    await clock.advance(3600)
    assert clock.now() == START + timedelta(seconds=3610)
    await clock.set_mode("manual")
    wall.now += timedelta(hours=5)
    assert clock.now() == START + timedelta(seconds=3610)


async def test_advance_runs_callbacks_with_the_span_before_returning(world: World) -> None:
    seen: list[tuple[datetime, datetime]] = []

    async def record(before: datetime, after: datetime) -> None:
        seen.append((before, after))

    world.clock.on_advance(record)
    await world.clock.advance(60)
    assert seen == [(START, START + timedelta(minutes=1))]


@pytest.mark.parametrize("seconds", [0, -5, 10 * 365 * 86400 + 1])
async def test_absurd_advances_are_refused(world: World, seconds: float) -> None:
    with pytest.raises(ClockError):
        await world.clock.advance(seconds)
    assert world.clock.now() == START


async def test_naive_times_are_refused(world: World) -> None:
    with pytest.raises(ClockError):
        await world.clock.set(datetime(2026, 1, 1))


async def test_never_back_while_a_device_is_quarantined(world: World) -> None:
    await world.clock.set(START - timedelta(days=1))  # nobody quarantined: allowed
    await world.clock.set(START)
    await world.set_mode("recommend-all")
    await world.access.on_request(world.alice, iphone())
    with pytest.raises(ClockError):
        await world.clock.set(START - timedelta(minutes=1))
    assert world.clock.now() == START
    await world.clock.set(START + timedelta(minutes=1))  # forward is fine


async def test_advance_fires_a_quarantine_end_before_returning(world: World) -> None:
    await world.set_mode("recommend-all")
    device = await world.access.on_request(world.alice, iphone())
    await world.advance_hours(24)
    released = await world.store.get_device_by_pk(device.id)
    assert (released.state, released.reason) == ("allowed", "timeout")
