"""Every profile plays its app's first sync against the demo tenant (SPEC §3, issue 8)."""
import pytest

from emulator.profiles import load_profiles

PROFILES = list(load_profiles())


@pytest.mark.parametrize("profile_name", PROFILES)
async def test_profile_completes_its_first_sync_with_mode_off(play, profile_name):
    session = await play(profile_name)
    assert session.outcome == "synced", [(e.step, e.http_status, e.status, e.detail)
                                         for e in session.events]
    profile = session.profile
    exchanges = [e for e in session.events if e.kind == "exchange"]
    # the app's first commands, in its order
    expected = [s.removeprefix("probe:") for s in profile.script if s != "ping"]
    seen = []
    for event in exchanges:
        step = {"OPTIONS": "options", "Autodiscover": "autodiscover",
                "FolderSync": "foldersync", "Settings": "settings"}.get(event.step)
        if event.step.startswith("Provision (policy)"):
            step = "provision"
        elif event.step.startswith("Sync "):
            step = "sync:" + {2: "inbox", 8: "calendar", 9: "contacts"}[
                next(f.type for f in session.folders.values() if f"Sync {f.name}" == event.step)]
        if step and (not seen or seen[-1] != step):
            seen.append(step)
    assert seen == expected
    # the probe before provisioning is refused the way the version says
    if profile.script[1].startswith("probe:"):
        probe = exchanges[1] if profile.script[0] == "options" else exchanges[2]
        if profile.version == "12.1":
            assert probe.http_status == 449
        else:
            assert (probe.http_status, probe.status) == (200, 142)
    inbox = session.inbox
    assert inbox is not None and len(inbox.items) >= 30
    assert session.notice is None
    assert all(e.http_status == 200 for e in exchanges[1:] if e.step != "Autodiscover"
               and e.status not in (142,)) or profile.version == "12.1"


async def test_device_record_carries_the_profile_identity(live_server, play):
    session = await play("samsung-email")
    status, devices = await live_server.admin("GET", "/devices?user=alice@contoso.com")
    assert status == 200
    [device] = [d for d in devices if d["device_id"] == session.client.device_id]
    assert device["device_type"] == "SAMSUNGSMS911B"
    assert device["user_agent"] == "SAMSUNG-SM-S911B/101.140201"
    assert device["protocol_version"] == "16.0"
    assert device["model"] == "SM-S911B"
    assert device["app"] == "third-party"
