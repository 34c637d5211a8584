"""The profile catalogue and the command line the emulator writes, read back by the
gateway's own parser."""
import pytest

from emulator.profiles import ProfileError, get_profile, load_profiles, parse_mix, spread
from emulator.query import encode
from protocol.request import EASRequest, parse_request


def test_every_spec_profile_has_habits_and_a_sane_script():
    profiles = load_profiles()
    assert set(profiles) == {"outlook-ios", "outlook-android", "iphone-mail", "ipad-mail",
                             "android-gmail", "samsung-email", "windows-mail", "legacy-12"}
    for profile in profiles.values():
        steps = [s.removeprefix("probe:") for s in profile.script]
        assert "provision" in steps and "foldersync" in steps and steps[-1] == "ping"
        assert steps.index("provision") < len(steps) - steps[::-1].index("foldersync") - 1
        assert profile.window_size > 0 and profile.heartbeat >= 60
    iphone = profiles["iphone-mail"]
    assert iphone.script[:5] == ("options", "probe:foldersync", "provision", "settings",
                                 "foldersync")
    assert iphone.window_size == 25


def test_device_ids_are_stable_and_in_the_apps_style():
    iphone = get_profile("iphone-mail")
    first = iphone.device_id("alice@contoso.com", 0)
    assert first == iphone.device_id("alice@contoso.com", 0)
    assert first != iphone.device_id("alice@contoso.com", 1)
    assert first.startswith("Appl") and len(first) == 32


def test_unknown_profile_is_named():
    with pytest.raises(ProfileError, match="unknown profile 'nokia'"):
        get_profile("nokia")


def test_profile_mix_parses_and_spreads_in_proportion():
    mix = parse_mix("outlook-ios=1, iphone-mail=3")
    assert mix == {"outlook-ios": 1, "iphone-mail": 3}
    names = spread(mix, 8)
    assert names.count("iphone-mail") == 6 and names.count("outlook-ios") == 2
    assert names[:4].count("outlook-ios") == 1  # interleaved, not blocks
    for bad in ("", "nokia=1", "iphone-mail=x", "iphone-mail=0", "iphone-mail=-2"):
        with pytest.raises(ProfileError):
            parse_mix(bad)


@pytest.mark.parametrize("form", ["plain", "base64"])
@pytest.mark.parametrize("version", ["12.1", "14.1", "16.1"])
def test_the_gateway_parser_reads_back_what_the_emulator_writes(form, version):
    request = EASRequest(
        command="SendMail", device_id="ApplF17K3X9Q1A2B", device_type="iPhone",
        protocol_version=version, user="alice@contoso.com", policy_key="3942919513",
        collection_id="5", save_in_sent=True,
    )
    query, headers = encode(request, form)
    parsed = parse_request("POST", "/Microsoft-Server-ActiveSync", query,
                           {"User-Agent": "Apple-iPhone14C2/2104.92", **headers})
    assert (parsed.command, parsed.device_id, parsed.device_type, parsed.protocol_version,
            parsed.policy_key, parsed.collection_id, parsed.save_in_sent, parsed.base64_form) == (
        "SendMail", "ApplF17K3X9Q1A2B", "iPhone", version, "3942919513", "5", True,
        form == "base64")
    assert parsed.user == "alice@contoso.com"


def test_base64_form_without_policy_key_sends_no_headers():
    request = EASRequest(command="Provision", device_id="D1", device_type="WindowsMail",
                         protocol_version="16.1", user="bob@contoso.com")
    query, headers = encode(request, "base64")
    assert headers == {}
    assert "+" not in query and "/" not in query
    assert parse_request("POST", "/microsoft-server-activesync", query, {}).policy_key is None
