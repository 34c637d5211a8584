"""Which app a device is (SPEC §3): Outlook for iOS and Android, or a third-party app.

Only what the client says about itself counts — DeviceType, the DeviceInformation model and
the User-Agent — never the IP address. Comparisons ignore case.
"""
from __future__ import annotations

from typing import Literal

App = Literal["outlook", "third-party"]

OUTLOOK_DEVICE_TYPE = "outlook"
OUTLOOK_MODEL = "outlook for ios and android"
OUTLOOK_USER_AGENT_PREFIXES = ("outlook-ios/", "outlook-android/", "outlook-ios-android/")


def classify(device_type: str, model: str | None, user_agent: str) -> App:
    if device_type.strip().lower() == OUTLOOK_DEVICE_TYPE:
        return "outlook"
    if model is not None and model.strip().lower() == OUTLOOK_MODEL:
        return "outlook"
    if user_agent.strip().lower().startswith(OUTLOOK_USER_AGENT_PREFIXES):
        return "outlook"
    return "third-party"
