"""The device profiles the emulator can play (SPEC §3): who each app says it is, and how it
behaves on the wire.

The identity (User-Agent, DeviceType, EAS version, model …) is the catalogue of
`fixtures/device_profiles.json` that the gateway's own tests use too; the habits beside it
(first-command order, body preferences, window size, Ping heartbeat, query form) are what the
emulator needs to play the app.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Literal

from fixtures import load_device_profiles, read_json

# The steps a profile's script may name. "probe:X" sends X before the device is provisioned.
STEPS = frozenset({
    "autodiscover", "options", "provision", "settings", "foldersync",
    "sync:inbox", "sync:calendar", "sync:contacts", "ping",
})
PROBE_PREFIX = "probe:"


class ProfileError(ValueError):
    """An unknown profile name, a bad profile mix or a malformed catalogue entry."""


@dataclass(frozen=True)
class BodyPreference:
    type: int  # 1 plain text, 2 HTML, 3 RTF, 4 MIME (MS-ASAIRS 2.2.2.22)
    truncation_size: int | None = None


@dataclass(frozen=True)
class Profile:
    name: str
    user_agent: str
    device_type: str
    version: str
    app: Literal["outlook", "third-party"]
    model: str
    os: str
    friendly_name: str
    script: tuple[str, ...]
    body_preferences: tuple[BodyPreference, ...]
    filter_type: int
    window_size: int
    heartbeat: int  # seconds
    query: Literal["plain", "base64"]
    device_id_prefix: str

    @property
    def is_outlook(self) -> bool:
        return self.app == "outlook"

    def device_id(self, *seeds: object) -> str:
        """A DeviceId in this app's style, stable for the same seeds (user, index …), so a
        rerun of the emulator is the same partnership and not a new device."""
        digest = hashlib.sha256("|".join([self.name, *map(str, seeds)]).encode()).hexdigest()
        return (self.device_id_prefix + digest.upper())[:32]


def _check_script(name: str, script: list[str]) -> tuple[str, ...]:
    for step in script:
        if step.removeprefix(PROBE_PREFIX) not in STEPS:
            raise ProfileError(f"profile {name}: unknown script step {step!r}")
    return tuple(script)


def load_profiles() -> dict[str, Profile]:
    """Every profile of the catalogue, by name, in file order."""
    habits = read_json("device_profiles.json")["habits"]
    profiles = {}
    for name, identity in load_device_profiles().items():
        if name not in habits:
            raise ProfileError(f"profile {name} has no habits in device_profiles.json")
        habit = habits[name]
        profiles[name] = Profile(
            name=name, user_agent=identity.user_agent, device_type=identity.device_type,
            version=identity.version, app=identity.app, model=identity.model, os=identity.os,
            friendly_name=identity.friendly_name,
            script=_check_script(name, habit["script"]),
            body_preferences=tuple(BodyPreference(**b) for b in habit["body_preferences"]),
            filter_type=int(habit["filter_type"]), window_size=int(habit["window_size"]),
            heartbeat=int(habit["heartbeat"]), query=habit["query"],
            device_id_prefix=habit["device_id_prefix"],
        )
    return profiles


def get_profile(name: str) -> Profile:
    profiles = load_profiles()
    try:
        return profiles[name]
    except KeyError:
        raise ProfileError(
            f"unknown profile {name!r}; known: {', '.join(profiles)}"
        ) from None


def parse_mix(text: str) -> dict[str, int]:
    """``"outlook-ios=1,iphone-mail=3"`` → weights by profile; a bare name weighs 1."""
    mix: dict[str, int] = {}
    known = load_profiles()
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, _, weight = part.partition("=")
        name = name.strip()
        if name not in known:
            raise ProfileError(f"unknown profile {name!r} in the mix; known: {', '.join(known)}")
        try:
            value = int(weight) if weight else 1
        except ValueError:
            raise ProfileError(f"weight of {name} is not a whole number: {weight!r}") from None
        if value < 0:
            raise ProfileError(f"weight of {name} is negative")
        mix[name] = mix.get(name, 0) + value
    if not mix or sum(mix.values()) == 0:
        raise ProfileError("the profile mix names no profile with a positive weight")
    return mix


def spread(mix: dict[str, int], count: int) -> list[str]:
    """``count`` profile names in the proportions of ``mix``, interleaved (largest remainder),
    so that any prefix of the list keeps roughly the same proportions."""
    total = sum(mix.values())
    names: list[str] = []
    given = dict.fromkeys(mix, 0)
    for n in range(1, count + 1):
        # the profile furthest behind its share after n devices gets the next one
        name = max(mix, key=lambda p: mix[p] * n / total - given[p])
        given[name] += 1
        names.append(name)
    return names
