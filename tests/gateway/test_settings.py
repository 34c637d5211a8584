"""Settings over real sockets: Oof get/set kept in the user's record, DeviceInformation,
DevicePassword, UserInformation per version, and pyactivesync's own Oof calls."""
from __future__ import annotations

from pyactivesync import OofState
from server_fixtures import pyactivesync_client

from protocol.xml import E, child, children, local_name, text


def settings(*parts):
    return E("Settings:Settings", *parts)


def oof_set(state, *messages, start=None, end=None):
    put = E("Settings:Set", E("Settings:OofState", state))
    if start:
        put.append(E("Settings:StartTime", start))
    if end:
        put.append(E("Settings:EndTime", end))
    for audience, reply in messages:
        put.append(E("Settings:OofMessage", E(f"Settings:AppliesTo{audience}"),
                     E("Settings:Enabled", "1"), E("Settings:ReplyMessage", reply),
                     E("Settings:BodyType", "Text")))
    return E("Settings:Oof", put)


def oof_get(body_type="Text"):
    return E("Settings:Oof", E("Settings:Get", E("Settings:BodyType", body_type)))


async def test_oof_set_then_get_round_trips_through_the_store(live_server):
    answer = await live_server.eas("Settings", settings(oof_set(
        2, ("Internal", "Back Monday"), ("ExternalUnknown", "Away <until> Monday"),
        start="2026-11-20T00:00:00.000Z", end="2026-11-23T00:00:00.000Z")))
    assert answer.eas_status == 1
    assert text(child(answer.document, "Settings:Oof"), "Settings:Status") == "1"
    user = await live_server.store.get_user("alice@contoso.com")
    assert user.oof["state"] == 2 and user.oof["messages"]["Internal"]["reply"] == "Back Monday"

    answer = await live_server.eas("Settings", settings(oof_get("HTML")))
    get = child(child(answer.document, "Settings:Oof"), "Settings:Get")
    assert text(get, "Settings:OofState") == "2"
    assert text(get, "Settings:StartTime") == "2026-11-20T00:00:00.000Z"
    messages = children(get, "Settings:OofMessage")
    assert len(messages) == 3
    unknown = [m for m in messages if child(m, "Settings:AppliesToExternalUnknown") is not None][0]
    assert text(unknown, "Settings:BodyType") == "HTML"
    assert "Away &lt;until&gt; Monday" in text(unknown, "Settings:ReplyMessage")


async def test_oof_bad_input_gets_an_oof_status_and_changes_nothing(live_server):
    for bad in (oof_set(7), oof_set(2, start="2026-11-20T00:00:00Z"),
                oof_set(2, start="2026-11-23T00:00:00Z", end="2026-11-20T00:00:00Z")):
        answer = await live_server.eas("Settings", settings(bad))
        assert answer.eas_status == 1
        assert text(child(answer.document, "Settings:Oof"), "Settings:Status") in ("2", "5")
    user = await live_server.store.get_user("alice@contoso.com")
    assert user.oof == {}


async def test_device_information_is_recorded_and_answered(live_server):
    info = E("Settings:DeviceInformation", E("Settings:Set", E("Settings:Model", "iPhone14C2"),
                                             E("Settings:OS", "iOS 17.4.1"),
                                             E("Settings:FriendlyName", "Alice's iPhone")))
    answer = await live_server.eas("Settings", settings(info))
    assert text(child(answer.document, "Settings:DeviceInformation"), "Settings:Status") == "1"
    user = await live_server.store.get_user("alice@contoso.com")
    device = await live_server.store.get_device(user.id, "TESTDEVICE0001")
    assert device.model == "iPhone14C2" and device.friendly_name == "Alice's iPhone"


async def test_device_password_is_noted_but_never_kept(live_server):
    put = E("Settings:DevicePassword", E("Settings:Set", E("Settings:Password", "s3cret-pin")))
    answer = await live_server.eas("Settings", settings(put))
    assert text(child(answer.document, "Settings:DevicePassword"), "Settings:Status") == "1"
    user = await live_server.store.get_user("alice@contoso.com")
    device = await live_server.store.get_device(user.id, "TESTDEVICE0001")
    assert "recovery_password_set_at" in device.extra
    assert "s3cret-pin" not in repr(device)


async def test_user_information_shape_follows_the_version(live_server):
    request = settings(E("Settings:UserInformation", E("Settings:Get")))
    new = await live_server.eas("Settings", request, version="16.1")
    get = child(child(new.document, "Settings:UserInformation"), "Settings:Get")
    account = child(child(get, "Settings:Accounts"), "Settings:Account")
    addresses = child(account, "Settings:EmailAddresses")
    assert text(addresses, "Settings:PrimarySmtpAddress") == "alice@contoso.com"
    assert text(account, "Settings:UserDisplayName") == "Alice Wood"

    old = await live_server.eas("Settings", request, version="12.1", device_id="OLDDEVICE1",
                                device_type="Android", user_agent="Android/4.4-EAS-2.0")
    get = child(child(old.document, "Settings:UserInformation"), "Settings:Get")
    assert child(get, "Settings:Accounts") is None
    assert text(child(get, "Settings:EmailAddresses"), "Settings:SmtpAddress") == "alice@contoso.com"


async def test_unknown_part_is_a_protocol_error(live_server):
    answer = await live_server.eas("Settings", settings(E("Settings:Model", "x")))
    assert answer.eas_status == 2
    assert [local_name(e) for e in answer.document] == ["Status"]


async def test_pyactivesync_oof_calls(live_server):
    client = pyactivesync_client(live_server)
    await client.provision()
    await client.set_oof(OofState.ENABLED, reply_message="On leave")
    got = await client.get_oof()
    assert got.state == OofState.ENABLED
    assert {m.applies_to for m in got.messages} == {"Internal", "ExternalKnown", "ExternalUnknown"}
    assert all(m.reply_message == "On leave" and m.enabled for m in got.messages)
    await client.close()
