"""AccessService over a real store: the request path, the scheduler, choices, mode changes."""
from __future__ import annotations

from datetime import timedelta

from access_world import START, World, iphone, outlook


async def test_a_new_device_is_recorded_classified_and_allowed_when_the_setting_is_off(
        world: World) -> None:
    device = await world.access.on_request(world.alice, iphone())
    assert (device.state, device.app, device.first_seen) == ("allowed", "third-party", START)
    again = await world.access.on_request(world.alice, iphone())
    assert again.id == device.id
    assert await world.events(device.id) == ["first-seen"]


async def test_recommend_all_quarantines_a_new_iphone_with_a_notice(world: World) -> None:
    await world.set_mode("recommend-all")
    device = await world.access.on_request(world.alice, iphone())
    assert device.state == "quarantined" and device.reason == "notice"
    assert device.quarantine_until == START + timedelta(hours=24)
    notice = await world.store.get_item(world.alice.id, device.notice_server_id)
    assert notice.data["Subject"] == (
        "Action required: choose how to get your contoso.com email on iPhone")
    assert f"https://mail.contoso.test/choice/{device.choice_token}?app=keep" in notice.body_text
    assert world.alice.id in world.hub.woken
    outlook_device = await world.access.on_request(world.alice, outlook())
    assert outlook_device.state == "allowed" and outlook_device.app == "outlook"
