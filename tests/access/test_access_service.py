"""AccessService over a real store: the request path, the scheduler, choices, mode changes."""
from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
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


async def test_keep_allows_at_once_and_the_notice_stays(world: World) -> None:
    await world.set_mode("recommend-all")
    device = await world.access.on_request(world.alice, iphone())
    kept = await world.access.choose_by_token(device.choice_token, "keep")
    assert (kept.state, kept.reason, kept.choice) == ("allowed", "chose-keep", "keep")
    assert await world.store.get_item(world.alice.id, device.notice_server_id)  # still there
    await world.advance_hours(30)
    assert (await world.access.on_request(world.alice, iphone())).state == "allowed"
    assert await world.events(device.id) == ["first-seen", "notice-delivered", "chose-keep"]


async def test_outlook_keeps_the_app_quarantined_past_the_deadline(world: World) -> None:
    await world.set_mode("recommend-all")
    device = await world.access.on_request(world.alice, iphone())
    chosen = await world.access.choose_by_token(device.choice_token, "outlook")
    assert (chosen.state, chosen.reason, chosen.quarantine_until) == (
        "quarantined", "chose-outlook", None)
    await world.advance_hours(25)
    assert (await world.access.on_request(world.alice, iphone())).state == "quarantined"
    assert (await world.access.on_request(world.alice, outlook())).state == "allowed"


async def test_a_used_or_unknown_token_is_refused_and_changes_nothing(world: World) -> None:
    from gateway.access.errors import ChoiceExpired, ChoiceUsed, UnknownToken
    await world.set_mode("recommend-all")
    device = await world.access.on_request(world.alice, iphone())
    await world.access.choose_by_token(device.choice_token, "outlook")
    with pytest.raises(ChoiceUsed):
        await world.access.choose_by_token(device.choice_token, "keep")
    with pytest.raises(UnknownToken):
        await world.access.choose_by_token("x" * 32, "keep")
    with pytest.raises(UnknownToken):
        await world.access.choose_by_token("../../etc", "keep")
    other = await world.access.on_request(world.bob, iphone("BOBPHONE"))
    await world.advance_hours(24)  # bob's quarantine ends without a choice
    with pytest.raises(ChoiceExpired):
        await world.access.choose_by_token(other.choice_token, "keep")
    assert (await world.store.get_device_by_pk(device.id)).state == "quarantined"


async def test_choices_for_devices_not_waiting_are_refused(world: World) -> None:
    from gateway.access.errors import ChoiceNotOpen
    device = await world.access.on_request(world.alice, iphone())
    with pytest.raises(ChoiceNotOpen):
        await world.access.choose(device.id, "keep")
    assert await world.events(device.id) == ["first-seen"]


async def test_timeout_removes_the_notice_and_wakes_the_user(world: World) -> None:
    await world.set_mode("recommend-all")
    device = await world.access.on_request(world.alice, iphone())
    subject = (await world.store.get_item(world.alice.id, device.notice_server_id)).data["Subject"]
    await world.advance_hours(23)
    assert (await world.store.get_device_by_pk(device.id)).state == "quarantined"
    world.hub.woken.clear()
    await world.advance_hours(1)  # the scheduler acts although the device sends nothing
    released = await world.store.get_device_by_pk(device.id)
    assert (released.state, released.reason, released.notice_server_id) == (
        "allowed", "timeout", None)
    assert subject not in await world.inbox_subjects(world.alice)
    assert world.hub.woken == [world.alice.id]
    events = await world.store.list_events(device.id)
    assert (events[-1].kind, events[-1].at) == ("quarantine-expired", START + timedelta(hours=24))


async def test_previously_configured_devices_get_their_notice_inside_48_hours(world: World) -> None:
    device = await world.access.on_request(world.alice, iphone())
    await world.advance_hours(1)
    await world.set_mode("recommend-all")
    pending = await world.store.get_device_by_pk(device.id)
    assert pending.state == "pending"
    on = START + timedelta(hours=1)
    assert on <= pending.notice_at < on + timedelta(hours=48)
    assert (await world.access.on_request(world.alice, iphone())).state == "pending"
    await world.clock.set(pending.notice_at)
    notified = await world.store.get_device_by_pk(device.id)
    assert notified.state == "quarantined" and notified.notice_server_id
    assert notified.quarantine_until == pending.notice_at + timedelta(hours=24)


async def test_a_long_jump_acts_on_each_deadline_at_its_own_time(world: World) -> None:
    device = await world.access.on_request(world.alice, iphone())
    await world.set_mode("recommend-all", rollout_window_s=3600)
    notice_at = (await world.store.get_device_by_pk(device.id)).notice_at
    await world.advance_hours(100)
    after = await world.store.get_device_by_pk(device.id)
    assert (after.state, after.reason) == ("allowed", "timeout")
    events = await world.store.list_events(device.id)
    assert [(e.kind, e.at) for e in events[1:]] == [
        ("notice-scheduled", START),
        ("notice-delivered", notice_at),
        ("quarantine-expired", notice_at + timedelta(hours=24)),
    ]


async def test_prompt_new_once_prompts_a_device_once_in_its_life(world: World) -> None:
    old = await world.access.on_request(world.alice, iphone("OLD"))
    await world.set_mode("prompt-new-once")
    assert (await world.access.on_request(world.alice, iphone("OLD"))).state == "allowed"
    new = await world.access.on_request(world.alice, iphone("NEW"))
    assert new.state == "quarantined"
    await world.advance_hours(24)
    again = await world.access.on_request(world.alice, iphone("NEW"))  # re-paired, same id
    assert (again.state, again.notice_server_id) == ("allowed", None)
    await world.set_mode("off")
    await world.set_mode("prompt-new-once")
    assert (await world.access.on_request(world.alice, iphone("NEW"))).state == "allowed"
    assert old.id != new.id


async def test_recommend_all_off_and_on_prompts_again(world: World) -> None:
    await world.set_mode("recommend-all", rollout_window_s=0)
    device = await world.access.on_request(world.alice, iphone())
    await world.access.choose(device.id, "keep")
    await world.set_mode("off")
    await world.set_mode("recommend-all")
    again = await world.store.get_device_by_pk(device.id)
    assert again.state == "quarantined" and again.choice is None
    assert again.notice_server_id != device.notice_server_id


async def test_mode_changes_release_block_and_remove_notices(world: World) -> None:
    await world.set_mode("recommend-all")
    device = await world.access.on_request(world.alice, iphone())
    gmail = await world.access.on_request(world.bob, iphone("BOB"))
    await world.access.choose(gmail.id, "outlook")
    await world.set_mode("outlook-only")
    blocked = await world.store.get_device_by_pk(device.id)
    assert (blocked.state, blocked.reason) == ("blocked", "outlook-only")
    assert not any(s.startswith("Action required") for s in await world.inbox_subjects(world.alice))
    assert (await world.store.get_device_by_pk(gmail.id)).state == "blocked"
    await world.set_mode("off")
    assert (await world.store.get_device_by_pk(device.id)).state == "allowed"
    assert (await world.store.get_device_by_pk(gmail.id)).state == "allowed"


async def test_a_user_agent_change_retakes_the_classification(world: World) -> None:
    await world.set_mode("recommend-all")
    device = await world.access.on_request(world.alice, iphone())
    moved = await world.access.on_request(world.alice, iphone(user_agent="Outlook-iOS/2.1"))
    assert (moved.app, moved.state, moved.reason) == ("outlook", "allowed", "outlook")
    kinds = await world.events(device.id)
    assert kinds[-2:] == ["reclassified", "allowed"]


async def test_outlook_is_recognised_by_its_device_information_at_first_contact(
        world: World) -> None:
    await world.set_mode("recommend-all")
    device = await world.access.on_request(world.alice, iphone(
        device_type="iPhone", model="Outlook for iOS and Android"))
    assert (device.app, device.state) == ("outlook", "allowed")


async def test_the_setting_cannot_change_while_the_tenant_is_managed_elsewhere(
        world: World) -> None:
    from gateway.access.errors import InvalidSetting, SettingUnavailable
    with pytest.raises(InvalidSetting):
        await world.set_mode("sometimes")
    with pytest.raises(InvalidSetting):
        await world.set_mode("recommend-all", rollout_window_s=-1)
    await world.access.set_device_access("contoso.com", mdm_authority="intune")
    with pytest.raises(SettingUnavailable):
        await world.set_mode("recommend-all")
    assert (await world.store.get_tenant("contoso.com")).mode == "off"


async def test_eac_quarantine_waits_for_an_admin_and_mails_the_admins(world: World) -> None:
    from store.types import DeviceRule
    await world.access.set_device_access(
        "contoso.com", rules=[DeviceRule(0, "DeviceType", "iPhone", "quarantine")],
        user_mail_insert="Call the help desk at 555-0100.",
        admin_mail_recipients=["bob@contoso.com"])
    device = await world.access.on_request(world.alice, iphone())
    assert (device.state, device.reason, device.rule_id) == ("quarantined", "device-rule",
                                                              device.rule_id)
    assert device.rule_id
    notice = await world.store.get_item(world.alice.id, device.notice_server_id)
    assert "555-0100" in notice.body_text and "temporarily" in notice.body_text
    assert any("waiting for access" in s for s in await world.inbox_subjects(world.bob))
    await world.advance_hours(500)
    assert (await world.access.on_request(world.alice, iphone())).state == "quarantined"
    allowed = await world.access.set_individual_access(device.id, "allow")
    assert (allowed.state, allowed.reason) == ("allowed", "individual")
    blocked = await world.access.set_individual_access(device.id, "block")
    assert (blocked.state, blocked.reason) == ("blocked", "individual")


async def test_individual_access_needs_eac(world: World) -> None:
    from gateway.access.errors import NotManagedInEac
    device = await world.access.on_request(world.alice, iphone())
    with pytest.raises(NotManagedInEac):
        await world.access.set_individual_access(device.id, "block")


async def test_concurrent_requests_deliver_one_notice(world: World) -> None:
    await world.set_mode("recommend-all")
    devices = await asyncio.gather(*(world.access.on_request(world.alice, iphone())
                                     for _ in range(5)))
    assert len({d.notice_server_id for d in devices}) == 1
    notices = [s for s in await world.inbox_subjects(world.alice) if s.startswith("Action")]
    assert len(notices) == 1


async def test_the_scheduler_acts_on_its_own_in_real_mode(world: World) -> None:
    await world.set_mode("recommend-all", quarantine_s=60)
    device = await world.access.on_request(world.alice, iphone())
    await world.clock.set_mode("real")
    await world.clock.set(device.quarantine_until - timedelta(seconds=0.3))
    world.access.start()
    try:
        for _ in range(50):
            await asyncio.sleep(0.05)
            if (await world.store.get_device_by_pk(device.id)).state == "allowed":
                break
        assert (await world.store.get_device_by_pk(device.id)).reason == "timeout"
    finally:
        await world.access.stop()
