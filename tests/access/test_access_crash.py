"""A transition whose process dies between its mail and its device update is run again
(the device was left where it was) and delivers no second mail: each mail is written once
under a key naming the transition — on SQLite and PostgreSQL."""
from __future__ import annotations

import pytest
from access_world import World, iphone
from sqlalchemy import text

from gateway.access.lifecycle import WRITE_SCOPE
from store.types import DeviceRule


class Died(Exception):
    """Stands for the process being killed."""


def die_once_at_the_device_update(monkeypatch: pytest.MonkeyPatch, world: World) -> None:
    update_device = world.store.update_device
    died: list[bool] = []

    async def dying(pk, **fields):
        if "state" in fields and not died:  # the transition's update, after its mails
            died.append(True)
            raise Died
        return await update_device(pk, **fields)

    monkeypatch.setattr(world.store, "update_device", dying)


async def test_a_notice_is_not_doubled_when_the_transition_runs_again(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    await world.set_mode("recommend-all")
    die_once_at_the_device_update(monkeypatch, world)
    with pytest.raises(Died):
        await world.access.on_request(world.alice, iphone())
    assert len(_notices(await world.inbox_subjects(world.alice))) == 1  # mailed, not recorded

    device = await world.access.on_request(world.alice, iphone())  # the client tries again
    assert (device.state, device.reason) == ("quarantined", "notice")
    assert len(_notices(await world.inbox_subjects(world.alice))) == 1
    notice = await world.store.get_item(world.alice.id, device.notice_server_id)
    assert f"/choice/{device.choice_token}?app=keep" in notice.body_text  # its link works
    chosen = await world.access.choose_by_token(device.choice_token, "keep")
    assert chosen.state == "allowed"


async def test_eac_mails_are_not_doubled_when_the_transition_runs_again(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    await world.access.set_device_access(
        "contoso.com", rules=[DeviceRule(0, "DeviceType", "iPhone", "quarantine")],
        admin_mail_recipients=["bob@contoso.com"])
    die_once_at_the_device_update(monkeypatch, world)
    with pytest.raises(Died):
        await world.access.on_request(world.alice, iphone())
    device = await world.access.on_request(world.alice, iphone())
    assert (device.state, device.reason) == ("quarantined", "device-rule")
    assert len(await world.inbox_subjects(world.alice)) == 1
    assert len(await world.inbox_subjects(world.bob)) == 1


async def test_a_later_transition_mails_again(world: World) -> None:
    """The key names the transition: the next quarantine of the device gets its own notice."""
    await world.set_mode("recommend-all")
    device = await world.access.on_request(world.alice, iphone())
    await world.access.choose_by_token(device.choice_token, "keep")
    await world.access.set_device_access(
        "contoso.com", rules=[DeviceRule(0, "DeviceType", "iPhone", "quarantine")])
    device = await world.access.on_request(world.alice, iphone())
    assert (device.state, device.reason) == ("quarantined", "device-rule")
    subjects = await world.inbox_subjects(world.alice)
    assert len(subjects) == 2 and device.notice_server_id


async def test_only_the_last_transitions_mail_keys_are_kept(world: World) -> None:
    await world.set_mode("recommend-all")
    device = await world.access.on_request(world.alice, iphone())  # transition 0: the notice
    await world.access.choose_by_token(device.choice_token, "keep")  # 1, no mail
    await world.access.set_device_access(
        "contoso.com", rules=[DeviceRule(0, "DeviceType", "iPhone", "quarantine")])
    await world.access.on_request(world.alice, iphone())  # 2: the device-rule notice
    assert await _lifecycle_keys(world) == ["2/eac-notice"]


async def _lifecycle_keys(world: World) -> list[str]:
    async with world.store.engine.connect() as connection:
        rows = await connection.execute(text(
            "SELECT key FROM write_keys WHERE scope = :scope"), {"scope": WRITE_SCOPE})
        return sorted(rows.scalars())


def _notices(subjects: list[str]) -> list[str]:
    return [s for s in subjects if s.startswith("Action required")]
