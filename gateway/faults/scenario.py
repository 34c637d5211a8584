"""Scenario files: a set of fault rules for a repeatable chaos run, in JSON or TOML.

    # chaos.toml
    replace = true     # remove the gateway's rules first
    seed = 7           # the seed of every rule that names none

    [[rules]]
    command = "Sync"
    action = "http"
    status = 503
    retry_after = 10
    probability = 0.2

    [[rules]]
    at = "10m"         # active 10 minutes of gateway time after the load …
    for = "5m"         # … for 5 minutes
    command = "Ping"
    action = "drop-after"

JSON holds the same object (``{"replace": …, "seed": …, "rules": […]}``) or a bare list of
rules. ``at`` and ``for`` (durations such as ``90s``, ``10m``, ``1h30m``) are read against
the gateway clock at load time and become ``starts_at`` / ``expires_at``; every other key
of a rule is the admin API's (gateway/faults/rules.py), which checks it.
"""
from __future__ import annotations

import json
import re
import tomllib
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from gateway.faults.rules import RuleError, parse_rule

SCENARIO_KEYS = {"replace", "seed", "rules"}
_DURATION = re.compile(r"(\d+(?:\.\d+)?)([dhms])")
_UNIT_S = {"d": 86400, "h": 3600, "m": 60, "s": 1}


class ScenarioError(ValueError):
    """A scenario that cannot be loaded; the message says where."""


@dataclass(frozen=True)
class Scenario:
    replace: bool
    rules: list[dict[str, Any]]  # admin API bodies, times resolved


def read_scenario(path: Path, now: datetime) -> Scenario:
    """The file's rules, checked, with ``at``/``for`` turned into times after ``now``."""
    try:
        raw = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ScenarioError(f"{path}: cannot read it ({error})") from None
    return scenario_of(_decode(raw, path), now)


def scenario_of(document: Any, now: datetime) -> Scenario:
    if isinstance(document, list):
        document = {"rules": document}
    if not isinstance(document, dict):
        raise ScenarioError("a scenario is an object with rules, or a list of rules")
    unknown = sorted(set(document) - SCENARIO_KEYS)
    if unknown:
        raise ScenarioError(f"unknown key {unknown[0]!r}; a scenario has "
                            f"{', '.join(sorted(SCENARIO_KEYS))}")
    rules = document.get("rules")
    if not isinstance(rules, list) or not rules:
        raise ScenarioError("rules: give at least one rule")
    seed = document.get("seed")
    resolved = [_rule(n, entry, seed, now) for n, entry in enumerate(rules)]
    return Scenario(replace=bool(document.get("replace", False)), rules=resolved)


def _rule(n: int, entry: Any, seed: Any, now: datetime) -> dict[str, Any]:
    if not isinstance(entry, dict):
        raise ScenarioError(f"rules[{n}]: a rule is an object")
    body = dict(entry)
    if seed is not None:
        body.setdefault("seed", seed)
    starts = now + _duration(n, "at", body.pop("at", None))
    if "at" in entry:
        body["starts_at"] = starts.isoformat()
    if "for" in entry:
        body["expires_at"] = (starts + _duration(n, "for", body.pop("for"))).isoformat()
    try:
        parse_rule(body, now)  # the server checks again (and that the user exists)
    except RuleError as error:
        raise ScenarioError(f"rules[{n}]: {error.field}: {error.detail}") from None
    return body


def _duration(n: int, key: str, value: Any) -> timedelta:
    if value is None:
        return timedelta(0)
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0:
        return timedelta(seconds=value)
    text = str(value).strip().lower()
    if not text or _DURATION.sub("", text):
        raise ScenarioError(f"rules[{n}]: {key}: {value!r} is not a duration like 90s, "
                            "10m or 1h30m")
    return timedelta(seconds=sum(float(v) * _UNIT_S[u] for v, u in _DURATION.findall(text)))


def _decode(raw: str, path: Path) -> Any:
    toml_first = path.suffix.lower() == ".toml"
    readers = (_toml, _json) if toml_first else (_json, _toml)
    errors = []
    for reader in readers:
        try:
            return reader(raw)
        except ValueError as error:
            errors.append(str(error))
    raise ScenarioError(f"{path}: neither JSON nor TOML ({errors[0]})")


def _json(raw: str) -> Any:
    return json.loads(raw)


def _toml(raw: str) -> Any:
    return tomllib.loads(raw)
