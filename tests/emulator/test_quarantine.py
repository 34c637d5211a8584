"""With Outlook recommended to all (SPEC §2, §4), every third-party profile ends its first
sync in quarantine having seen the notice, Outlook never does; a person's choice on the
notice's page is followed through."""
import pytest

from emulator.profiles import load_profiles

THIRD_PARTY = [n for n, p in load_profiles().items() if p.app == "third-party"]


@pytest.fixture
async def recommend_all(live_server):
    status, _ = await live_server.admin(
        "PUT", "/tenants/contoso.com/mobile-access", {"mode": "recommend-all"})
    assert status == 200
    return live_server


@pytest.mark.parametrize("profile_name", THIRD_PARTY)
async def test_third_party_profile_ends_in_quarantine_with_the_notice_seen(
        recommend_all, play, profile_name):
    session = await play(profile_name)
    assert session.outcome == "quarantined"
    notice = session.notice
    assert notice.subject.startswith("Action required: choose how to get your contoso.com email")
    assert notice.keep_url and notice.keep_url.endswith("?app=keep")
    assert notice.outlook_url and notice.outlook_url.endswith("?app=outlook")
    assert list(session.inbox.items) == [notice.server_id]  # the one item it receives
    for collection in session.collections.values():
        if collection is not session.inbox:
            assert collection.items == {}
    notes = [e.detail for e in session.events if e.kind == "note"]
    assert any(n.startswith("notice seen") for n in notes)


@pytest.mark.parametrize("profile_name", ["outlook-ios", "outlook-android"])
async def test_outlook_is_never_quarantined(recommend_all, play, profile_name):
    session = await play(profile_name)
    assert session.outcome == "synced"
    assert session.notice is None
    assert len(session.inbox.items) >= 30


async def test_choosing_keep_on_the_page_releases_the_mailbox(recommend_all, play):
    session = await play("iphone-mail")
    outcome = await session.choose("keep")
    assert outcome.page_status == 200 and outcome.submit_status < 400
    assert session.outcome == "synced"
    assert len(session.inbox.items) >= 31  # the whole Inbox, the notice kept as ordinary mail
    status, device = await recommend_all.admin("GET", "/devices?user=alice@contoso.com")
    [record] = [d for d in device if d["device_id"] == session.client.device_id]
    assert (record["state"], record["choice"]) == ("allowed", "keep")


async def test_choosing_outlook_keeps_the_app_in_quarantine(recommend_all, play):
    session = await play("android-gmail")
    await session.choose("outlook")
    assert session.outcome == "quarantined"
    assert list(session.inbox.items) == [session.notice.server_id]


async def test_outlook_only_blocks_third_party_apps(live_server, play):
    status, _ = await live_server.admin(
        "PUT", "/tenants/contoso.com/mobile-access", {"mode": "outlook-only"})
    assert status == 200
    for name in ("iphone-mail", "legacy-12"):
        session = await play(name)
        assert session.outcome == "blocked"
        assert session.inbox is None or session.inbox.items == {}
    session = await play("outlook-ios")
    assert session.outcome == "synced"
