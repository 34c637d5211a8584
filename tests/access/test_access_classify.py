"""Which app is Outlook (SPEC §3), over the emulator profile catalogue and the edge cases."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from gateway.access.classify import classify

PROFILES = json.loads((Path(__file__).parents[2] / "fixtures" / "device_profiles.json")
                      .read_text())["profiles"]


@pytest.mark.parametrize("profile", PROFILES, ids=[p["profile"] for p in PROFILES])
def test_every_catalogued_client_is_classified_as_the_catalogue_says(profile: dict) -> None:
    assert classify(profile["device_type"], profile["model"], profile["user_agent"]) == profile["app"]


@pytest.mark.parametrize("device_type, model, user_agent, app", [
    ("OUTLOOK", None, "anything", "outlook"),  # DeviceType, any case
    ("iPhone", "outlook for iOS and Android", "Apple-iPhone/1", "outlook"),  # the model
    ("iPhone", None, "outlook-ios/4.2", "outlook"),  # the User-Agent prefixes
    ("Android", None, "Outlook-Android/4.2", "outlook"),
    ("Android", None, "Outlook-iOS-Android/1.0", "outlook"),
    ("iPhone", None, "Apple-iPhone14C2/2104.92 Outlook-iOS/2.0", "third-party"),  # prefix only
    ("iPhone", "Outlook", "Apple-iPhone14C2/2104.92", "third-party"),  # the full model name only
    ("OutlookMobile", None, "OutlookMobile/1", "third-party"),
    ("", None, "", "third-party"),
])
def test_classification_rules(device_type: str, model: str | None, user_agent: str, app: str) -> None:
    assert classify(device_type, model, user_agent) == app
