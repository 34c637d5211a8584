"""Rules as people write them: what is kept, what is refused with the field named (pure, and
through the admin API's 400), and the engine's matching and seeded draw."""
from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from faults_helpers import add_rule

from gateway.faults.engine import Request, RuleIndex, draw, fires, matches
from gateway.faults.rules import RuleError, parse_rule
from store.types import FaultRule

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def test_a_rule_is_normalised():
    rule = parse_rule({"command": "sync", "user": "Alice@Contoso.com", "device_id": "ABC",
                       "device_type": "iPhone", "action": "http", "status": 503,
                       "throttle": "CommandFrequency", "count": 2, "probability": 0.5,
                       "seed": 9, "expires_at": "2026-11-21T09:00:00Z"}, NOW)
    assert (rule.command, rule.user, rule.device_id, rule.device_type) == (
        "Sync", "alice@contoso.com", "abc", "iphone")
    assert rule.params == {"status": 503, "retry_after": 30, "throttle": "CommandFrequency"}
    assert rule.expires_at == NOW + timedelta(days=1) and rule.created_at == NOW


@pytest.mark.parametrize("body, field", [
    ({"action": "explode"}, "action"),
    ({}, "action"),
    ({"action": "delay", "ms": 10, "colour": "red"}, "colour"),
    ({"action": "delay", "ms": 10, "status": 503}, "status"),
    ({"action": "http", "status": 418}, "status"),
    ({"action": "http", "status": 500, "retry_after": 5}, "retry_after"),
    ({"action": "http", "status": 451}, "location"),
    ({"action": "http", "status": 503, "throttle": "Because"}, "throttle"),
    ({"action": "status", "command": "Sync", "status": 99}, "status"),
    ({"action": "status", "command": "Sync", "status": 1}, "status"),
    ({"action": "status", "status": 3}, "status"),
    ({"action": "status", "command": "GetAttachment", "status": 142}, "command"),
    ({"action": "drop-after", "command": "Fly"}, "command"),
    ({"action": "drop-after", "probability": 1.5}, "probability"),
    ({"action": "drop-after", "probability": -0.1}, "probability"),
    ({"action": "drop-after", "probability": True}, "probability"),
    ({"action": "drop-after", "count": 0}, "count"),
    ({"action": "drop-after", "after": -1}, "after"),
    ({"action": "drop-after", "user": "nobody"}, "user"),
    ({"action": "drop-after", "device_id": ""}, "device_id"),
    ({"action": "drop-after", "expires_at": "2026-11-20T08:00:00Z"}, "expires_at"),
    ({"action": "drop-after", "expires_at": "2026-11-21T08:00:00"}, "expires_at"),
    ({"action": "delay"}, "ms"),
    ({"action": "slow", "bytes_per_s": 0}, "bytes_per_s"),
    ({"action": "corrupt", "bytes": "4"}, "bytes"),
])
def test_a_bad_rule_names_its_field(body, field):
    with pytest.raises(RuleError) as refused:
        parse_rule(body, NOW)
    assert refused.value.field == field


def test_status_tables_follow_the_command():
    assert parse_rule({"action": "status", "command": "FolderSync", "status": 9}, NOW)
    assert parse_rule({"action": "status", "command": "Ping", "status": 1}, NOW)  # expired
    assert parse_rule({"action": "status", "status": 177}, NOW)  # global: any command


async def test_the_admin_api_refuses_with_400_naming_the_field(live_server):
    for body, field in [({"action": "explode"}, "action"),
                        ({"action": "http", "status": 503, "colour": 1}, "colour"),
                        ({"action": "status", "command": "Sync", "status": 99}, "status"),
                        ({"action": "delay", "ms": 5, "probability": 2}, "probability"),
                        ({"action": "drop-after", "user": "zed@contoso.com"}, "user")]:
        status, error = await live_server.admin("POST", "/faults", body)
        assert status == 400 and error["error"] == "invalid-rule", (body, error)
        assert error["detail"].startswith(f"{field}:"), error
    status, error = await live_server.admin("POST", "/faults", [1, 2])
    assert status == 400 and error["error"] == "bad-json"


async def test_rules_listed_deleted_and_cleared(live_server):
    one = await add_rule(live_server, action="delay", ms=5, command="Ping")
    await add_rule(live_server, action="drop-before", user="bob@contoso.com")
    status, listed = await live_server.admin("GET", "/faults")
    assert [r["id"] for r in listed] == [one["id"], one["id"] + 1]
    assert listed[0]["summary"] == "delay 5 ms" and listed[0]["command"] == "Ping"
    assert (await live_server.admin("DELETE", f"/faults/{one['id']}")) == (200, {"deleted": 1})
    assert (await live_server.admin("DELETE", f"/faults/{one['id']}"))[0] == 404
    other_digits = str(one["id"] + 1).translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))
    assert (await live_server.admin("DELETE", f"/faults/{other_digits}"))[0] == 404
    assert (await live_server.admin("DELETE", "/faults")) == (200, {"deleted": 1})


# --- the engine's pure parts ---------------------------------------------------------------
def rule(id: int = 1, **fields) -> FaultRule:
    return FaultRule(id=id, action="drop-after", **fields)


def test_matching_is_exact_and_case_insensitive_per_field():
    request = Request.of("Alice@contoso.com", "DEV1", "iPhone", "sync")
    assert matches(rule(user="alice@contoso.com", command="Sync", device_id="dev1",
                        device_type="iphone"), request, NOW)
    assert not matches(rule(device_id="dev"), request, NOW)
    assert not matches(rule(command="FolderSync"), request, NOW)
    assert not matches(rule(starts_at=NOW + timedelta(seconds=1)), request, NOW)
    assert not matches(rule(expires_at=NOW), request, NOW)


def test_after_and_probability_decide_by_position():
    assert [fires(rule(after=2), seen) for seen in range(1, 5)] == [False, False, True, True]
    sometimes = rule(probability=0.2, seed=42)
    pattern = [fires(sometimes, seen) for seen in range(1, 1001)]
    assert pattern == [fires(sometimes, seen) for seen in range(1, 1001)]
    assert 150 < sum(pattern) < 250
    assert draw(1, 1) != draw(2, 1)


def test_a_thousand_rules_cost_a_few_lookups():
    rules = [rule(id=n, user=f"user{n}@contoso.com", command="Sync") for n in range(1, 400)]
    rules += [rule(id=n, user="alice@contoso.com", command="Sync", device_id=f"other{n}")
              for n in range(400, 700)]
    rules += [rule(id=n, user="alice@contoso.com", device_type=f"type{n}")
              for n in range(700, 1001)]
    index = RuleIndex(rules + [rule(id=2000, command="Ping")])
    request = Request.of("alice@contoso.com", "DEV1", "iPhone", "Sync")
    assert index.candidates(request) == []
    started = time.perf_counter()
    for _ in range(10_000):
        index.candidates(request)
    assert time.perf_counter() - started < 0.5  # microseconds each, not a scan of 1,000
    assert [r.id for r in index.candidates(Request.of("user7@contoso.com", "d", "t",
                                                      "sync"))] == [7]
