"""A fault rule as people write it (admin API, CLI, scenario files), checked field by field.

A rule is one flat JSON object::

    {"command": "Sync", "user": "alice@contoso.com", "action": "http", "status": 503,
     "retry_after": 5, "count": 1}

- **match** (each optional, compared exactly and case-insensitively): ``user``,
  ``device_id``, ``device_type``, ``command``;
- **action** and its parameters (`ACTIONS`): ``http`` (``status``, ``retry_after``,
  ``throttle``, ``location``), ``status`` (``status``), ``delay`` (``ms``), ``slow``
  (``bytes_per_s``), ``truncate`` and ``corrupt`` (``bytes``), ``drop-before``,
  ``drop-after`` and ``reset-state`` (none);
- **when**: ``after`` (let the first N matching requests through), ``count`` (fire N times,
  then retire; absent = until removed), ``probability`` (0–1) with ``seed``, ``starts_at``
  and ``expires_at`` (gateway clock, ISO 8601 with an offset), and a free ``note``.

`parse_rule` answers a `store.types.FaultRule` or raises `RuleError` naming the field: an
unknown field, action or status code, a value out of range, or a rule that could match no
request (an unknown command, an expiry already past). Pure: whether the user exists is the
caller's question.
"""
from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from enum import IntEnum
from typing import Any
from urllib.parse import urlsplit

from gateway import commands
from gateway.errors import TOP_LEVEL
from protocol import status as eas
from store.types import FaultRule

ACTIONS = ("http", "status", "delay", "slow", "truncate", "corrupt", "drop-before",
           "drop-after", "reset-state")
MATCH_FIELDS = ("user", "device_id", "device_type", "command")
WHEN_FIELDS = ("after", "count", "probability", "seed", "starts_at", "expires_at", "note")

# Each action's parameters: name → (required, check). Checks raise RuleError.
HTTP_STATUSES = {  # what each answer means to a client (MS-ASHTTP 3.2.5.1)
    400: "bad request", 401: "credentials refused", 403: "forbidden",
    449: "provision again", 451: "go to another server (X-MS-Location)",
    500: "server error", 502: "bad gateway", 503: "unavailable or throttled (Retry-After)",
    504: "gateway timeout", 507: "mailbox full",
}
# X-MS-ASThrottle values Exchange sends with a throttling 503.
THROTTLE_REASONS = ("CommandFrequency", "RecentCommands", "DeviceQuarantined",
                    "ConcurrentConnections", "MaxDevicePartnership")
DEFAULT_RETRY_AFTER_S = 30
MAX_DELAY_MS = 600_000
MAX_BYTES = 100_000_000
MAX_AFTER = 1_000_000_000
MAX_SEED = 2**63 - 1
MAX_TEXT = 320
MAX_NOTE = 255

# The command's own Status values (below 100) a `status` fault may send; the global ones
# (101–177, MS-ASCMD 2.2.2) are valid for every command that answers a document.
COMMAND_STATUSES: dict[str, type[IntEnum]] = {
    "Sync": eas.SyncStatus, "FolderSync": eas.FolderSyncStatus,
    "FolderCreate": eas.FolderCreateStatus, "FolderDelete": eas.FolderDeleteStatus,
    "FolderUpdate": eas.FolderUpdateStatus, "GetItemEstimate": eas.GetItemEstimateStatus,
    "ItemOperations": eas.ItemOperationsStatus, "MeetingResponse": eas.MeetingResponseStatus,
    "MoveItems": eas.MoveItemsStatus, "Ping": eas.PingStatus,
    "Provision": eas.ProvisionStatus, "ResolveRecipients": eas.ResolveRecipientsStatus,
    "Search": eas.SearchStatus, "Settings": eas.SettingsStatus, "Find": eas.FindStatus,
}
_ADDRESS = re.compile(r"[^@\s]+@[^@\s]+")


class RuleError(ValueError):
    """A rule that cannot be kept: ``field`` names what is wrong, ``detail`` says why."""

    def __init__(self, field: str, detail: str) -> None:
        super().__init__(f"{field}: {detail}")
        self.field = field
        self.detail = detail


def parse_rule(body: Mapping[str, Any], now: datetime) -> FaultRule:
    """The rule ``body`` describes, checked against the clock's ``now``."""
    if not isinstance(body, Mapping):
        raise RuleError("rule", "a rule is a JSON object")
    action = _action(body.get("action"))
    allowed = {*MATCH_FIELDS, *WHEN_FIELDS, "action", *PARAMETERS[action]}
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise RuleError(unknown[0], f"unknown field for action {action}; allowed: "
                        f"{', '.join(sorted(allowed))}")
    command = _command(body.get("command"))
    starts_at = _time(body, "starts_at")
    expires_at = _time(body, "expires_at")
    _check_window(starts_at, expires_at, now)
    return FaultRule(
        id=0, action=action, params=_params(action, body, command), command=command,
        user=_user(body.get("user")),
        device_id=_text(body, "device_id"), device_type=_text(body, "device_type"),
        after=_whole(body, "after", 0, MAX_AFTER) or 0,
        count=_whole(body, "count", 1, MAX_AFTER),
        probability=_probability(body.get("probability", 1.0)),
        seed=_whole(body, "seed", 0, MAX_SEED) or 0,
        starts_at=starts_at, expires_at=expires_at,
        note=_text(body, "note", limit=MAX_NOTE) or "", created_at=now,
    )


# --- match fields ------------------------------------------------------------------------
def _action(value: Any) -> str:
    if value is None:
        raise RuleError("action", f"missing; one of {', '.join(ACTIONS)}")
    if value not in ACTIONS:
        raise RuleError("action", f"unknown action {value!r}; one of {', '.join(ACTIONS)}")
    return value


def _command(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or commands.canonical(value) is None:
        raise RuleError("command", f"{value!r} is not an EAS command this gateway serves, so "
                        "the rule would match no request")
    return commands.canonical(value)


def _user(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > MAX_TEXT or not _ADDRESS.fullmatch(value.strip()):
        raise RuleError("user", "must be a user's address, e.g. alice@contoso.com")
    return value.strip().lower()


def _text(body: Mapping[str, Any], name: str, *, limit: int = MAX_TEXT) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        raise RuleError(name, f"must be a non-empty string of at most {limit} characters")
    return value.strip() if name == "note" else value.strip().lower()


# --- when --------------------------------------------------------------------------------
def _whole(body: Mapping[str, Any], name: str, low: int, high: int) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise RuleError(name, f"must be a whole number from {low} to {high}")
    return value


def _probability(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or \
            not math.isfinite(value) or not 0 <= value <= 1:
        raise RuleError("probability", "must be a number from 0 to 1")
    return float(value)


def _time(body: Mapping[str, Any], name: str) -> datetime | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, datetime):
        moment = value
    else:
        try:
            moment = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
        except ValueError:
            raise RuleError(name, f"{value!r} is not an ISO 8601 time") from None
    if moment.tzinfo is None:
        raise RuleError(name, "needs a UTC offset, e.g. 2026-11-20T09:00:00Z")
    return moment.astimezone(UTC)


def _check_window(starts_at: datetime | None, expires_at: datetime | None, now: datetime) -> None:
    if expires_at is None:
        return
    if expires_at <= now:
        raise RuleError("expires_at", "is not after the gateway clock's now, so the rule "
                        "would match no request")
    if starts_at is not None and expires_at <= starts_at:
        raise RuleError("expires_at", "must be after starts_at")


# --- action parameters -------------------------------------------------------------------
def _http(body: Mapping[str, Any], command: str | None) -> dict[str, Any]:
    code = body.get("status")
    if isinstance(code, bool) or not isinstance(code, int) or code not in HTTP_STATUSES:
        raise RuleError("status", f"an http fault answers one of "
                        f"{', '.join(map(str, HTTP_STATUSES))}")
    params: dict[str, Any] = {"status": code}
    if code == 503:
        params["retry_after"] = _whole(body, "retry_after", 0, 86400)
        if params["retry_after"] is None:
            params["retry_after"] = DEFAULT_RETRY_AFTER_S
        throttle = body.get("throttle")
        if throttle is not None and throttle not in THROTTLE_REASONS:
            raise RuleError("throttle", f"one of {', '.join(THROTTLE_REASONS)}")
        if throttle is not None:
            params["throttle"] = throttle
    elif "retry_after" in body or "throttle" in body:
        name = "retry_after" if "retry_after" in body else "throttle"
        raise RuleError(name, "only a 503 carries Retry-After and X-MS-ASThrottle")
    if code == 451:
        params["location"] = _location(body.get("location"))
    elif "location" in body:
        raise RuleError("location", "only a 451 carries X-MS-Location")
    return params


def _location(value: Any) -> str:
    parts = urlsplit(value) if isinstance(value, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.netloc \
            or len(value) > 2000:
        raise RuleError("location", "a 451 needs the URL to send the client to, e.g. "
                        "https://mail2.contoso.com/Microsoft-Server-ActiveSync")
    return value


def _status(body: Mapping[str, Any], command: str | None) -> dict[str, Any]:
    code = body.get("status")
    if isinstance(code, bool) or not isinstance(code, int):
        raise RuleError("status", "a status fault needs the EAS Status number to answer")
    if command is not None and command not in TOP_LEVEL:
        raise RuleError("command", f"{command} answers no document to carry a Status; use an "
                        "http fault")
    if code not in allowed_statuses(command):
        where = f"{command}'s status table" if command else "the global statuses (101–177); " \
            "name a command for its own"
        raise RuleError("status", f"{code} is not in {where}")
    return {"status": code}


def allowed_statuses(command: str | None) -> frozenset[int]:
    """The Status values a `status` fault may answer for ``command`` (None: any command):
    the command's own failures (not its success) and the global statuses."""
    own = COMMAND_STATUSES.get(command or "")
    failures = {int(s) for s in own if s.name != "SUCCESS"} if own else set()
    return frozenset(failures | {int(s) for s in eas.GlobalStatus})


def _amount(name: str, low: int, high: int):  # type: ignore[no-untyped-def]
    def check(body: Mapping[str, Any], command: str | None) -> dict[str, Any]:
        value = _whole(body, name, low, high)
        if value is None:
            raise RuleError(name, f"required: a whole number from {low} to {high}")
        return {name: value}

    return check


def _nothing(body: Mapping[str, Any], command: str | None) -> dict[str, Any]:
    return {}


PARAMETERS: dict[str, tuple[str, ...]] = {
    "http": ("status", "retry_after", "throttle", "location"),
    "status": ("status",),
    "delay": ("ms",),
    "slow": ("bytes_per_s",),
    "truncate": ("bytes",),
    "corrupt": ("bytes",),
    "drop-before": (),
    "drop-after": (),
    "reset-state": (),
}
_CHECKS = {
    "http": _http, "status": _status, "delay": _amount("ms", 1, MAX_DELAY_MS),
    "slow": _amount("bytes_per_s", 1, MAX_BYTES), "truncate": _amount("bytes", 0, MAX_BYTES),
    "corrupt": _amount("bytes", 1, MAX_BYTES), "drop-before": _nothing,
    "drop-after": _nothing, "reset-state": _nothing,
}


def _params(action: str, body: Mapping[str, Any], command: str | None) -> dict[str, Any]:
    return _CHECKS[action](body, command)


def describe(rule: FaultRule) -> str:
    """One line a person reads in a trace or a list: ``http 503 (Retry-After 5 s)``."""
    p = rule.params
    if rule.action == "http":
        extra = [f"Retry-After {p['retry_after']} s"] if "retry_after" in p else []
        extra += [f"X-MS-ASThrottle {p['throttle']}"] if "throttle" in p else []
        extra += [f"X-MS-Location {p['location']}"] if "location" in p else []
        return f"http {p['status']}" + (f" ({', '.join(extra)})" if extra else "")
    if rule.action == "status":
        return f"status {p['status']}"
    units = {"delay": ("ms", "ms"), "slow": ("bytes_per_s", "bytes/s"),
             "truncate": ("bytes", "bytes kept"), "corrupt": ("bytes", "bytes flipped")}
    if rule.action in units:
        name, unit = units[rule.action]
        return f"{rule.action} {p[name]} {unit}"
    return rule.action
