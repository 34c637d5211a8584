"""The decision table of SPEC §2–§5, one row per case, with no store and no server.

Each row: the tenant (mode or EAC facts), the device record, the client's identity, how long
after the mode was turned on the decision is asked, and the expected state, reason and
actions. The lifecycle applies exactly what these rows say."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from gateway.access.decision import Action, decide, due_time, unavailable_reason
from gateway.access.identity import ClientIdentity
from gateway.access.lifecycle import TRANSITIONS, TransitionError, check_transition
from gateway.access.rollout import notice_time
from store.types import Device, DeviceRule, Tenant, User

ON = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)  # when the mode was turned on
BEFORE = ON - timedelta(days=3)
AFTER = ON + timedelta(minutes=5)
H = timedelta(hours=1)
DELIVER = {Action.DELIVER_NOTICE}
REMOVE = {Action.REMOVE_NOTICE}
EAC_NOTICE = {Action.DELIVER_EAC_NOTICE}
BLOCK_MAIL = {Action.SEND_BLOCK_MAIL}

ALICE = User(1, "alice@contoso.com", "Alice Wood", "contoso.com")
IPHONE = ClientIdentity("IPHONE1", "iPhone", "Apple-iPhone14C2/2104.92", "16.1",
                        model="iPhone14C2", os="iOS 17.4.1")
OUTLOOK = ClientIdentity("OUTLOOK1", "Outlook", "Outlook-iOS/2.0", "16.1")


def tenant(mode: str = "recommend-all", **more: Any) -> Tenant:
    enabled = None if mode == "off" else ON
    return Tenant(domain="contoso.com", mode=mode, enabled_at=enabled, rollout_id=2,  # type: ignore[arg-type]
                  **more)


def device(state: str = "allowed", first_seen: datetime = BEFORE, **more: Any) -> Device:
    return Device(id=1, user_id=1, user_address="alice@contoso.com", device_id="IPHONE1",
                  device_type="iPhone", user_agent="Apple-iPhone14C2/2104.92",
                  model="iPhone14C2", os="iOS 17.4.1", state=state,  # type: ignore[arg-type]
                  first_seen=first_seen, **more)


NEW = device(first_seen=AFTER)
OPEN_NOTICE = dict(reason="notice", quarantine_until=ON + 24 * H, notice_server_id="2:40",
                   prompted_rollout=2)
ROLLOUT_AT = notice_time("contoso.com", "alice@contoso.com", "IPHONE1", ON, 172800)


@dataclass(frozen=True)
class Row:
    name: str
    tenant: Tenant
    device: Device
    now: datetime
    state: str
    reason: str
    actions: set[Action] = field(default_factory=set)
    identity: ClientIdentity | None = IPHONE
    user: User = ALICE
    rule_id: int | None = None


def rule(id: int, field_: str, value: str, access: str) -> DeviceRule:
    return DeviceRule(id=id, field=field_, value=value, access=access)  # type: ignore[arg-type]


ROWS = [
    # --- §2 off: no change ----------------------------------------------------------
    Row("off: a third-party device syncs", tenant("off"), device(), AFTER, "allowed", ""),
    Row("off: open quarantine released, notice removed",
        tenant("off"), device("quarantined", **OPEN_NOTICE), AFTER, "allowed", "setting-off",
        REMOVE),
    Row("off: chose-outlook released, the notice stays (a choice was made)",
        tenant("off"), device("quarantined", reason="chose-outlook", notice_server_id="2:40"),
        AFTER, "allowed", "setting-off"),
    Row("off: blocked by outlook-only released", tenant("off"),
        device("blocked", reason="outlook-only"), AFTER, "allowed", "setting-off"),
    Row("off: a scheduled notice is cancelled", tenant("off"),
        device("pending", reason="rollout", notice_at=ON + 5 * H), AFTER, "allowed",
        "setting-off"),
    # --- §2 outlook-only ------------------------------------------------------------
    Row("outlook-only: a new third-party device is blocked", tenant("outlook-only"), NEW,
        AFTER, "blocked", "outlook-only"),
    Row("outlook-only: blocked whatever the earlier choice", tenant("outlook-only"),
        device(reason="chose-keep", choice="keep"), AFTER, "blocked", "outlook-only"),
    Row("outlook-only: an open quarantine becomes a block, its notice removed",
        tenant("outlook-only"), device("quarantined", **OPEN_NOTICE), AFTER, "blocked",
        "outlook-only", REMOVE),
    Row("outlook-only: Outlook syncs", tenant("outlook-only"),
        replace(NEW, device_type="Outlook", device_id="OUTLOOK1"), AFTER, "allowed", "",
        identity=OUTLOOK),
    # --- §4 recommend-all -----------------------------------------------------------
    Row("recommend-all: a new device gets its notice at first contact", tenant(), NEW, AFTER,
        "quarantined", "notice", DELIVER),
    Row("recommend-all: Outlook is always allowed", tenant(), NEW, AFTER, "allowed", "",
        identity=OUTLOOK),
    Row("recommend-all: Outlook recognised by its DeviceInformation model", tenant(), NEW,
        AFTER, "allowed", "", identity=replace(IPHONE, model="Outlook for iOS and Android")),
    Row("a quarantined app that turns out to be Outlook is released, its notice removed",
        tenant(), device("quarantined", **OPEN_NOTICE), AFTER, "allowed", "outlook", REMOVE,
        identity=replace(IPHONE, user_agent="Outlook-iOS-Android/1.0")),
    Row("recommend-all: a previously configured device is pending until its rollout time",
        tenant(), device(), AFTER, "pending", "rollout"),
    Row("recommend-all: pending before its time keeps syncing", tenant(),
        device("pending", reason="rollout", notice_at=ON + 30 * H), ON + 29 * H, "pending",
        "rollout"),
    Row("recommend-all: pending at its time gets the notice", tenant(),
        device("pending", reason="rollout", notice_at=ON + 30 * H), ON + 30 * H,
        "quarantined", "notice", DELIVER),
    Row("recommend-all: quarantine holds for 24 h", tenant(),
        device("quarantined", **OPEN_NOTICE), ON + 23 * H, "quarantined", "notice"),
    Row("recommend-all: no choice in 24 h: notice removed, device allowed", tenant(),
        device("quarantined", **OPEN_NOTICE), ON + 24 * H, "allowed", "timeout", REMOVE),
    Row("recommend-all: chose Outlook stays quarantined, no end", tenant(),
        device("quarantined", reason="chose-outlook", prompted_rollout=2, choice="outlook"),
        ON + 400 * H, "quarantined", "chose-outlook"),
    Row("recommend-all: chose keep stays allowed (prompted once per rollout)", tenant(),
        device(reason="chose-keep", prompted_rollout=2, choice="keep"), ON + 400 * H,
        "allowed", "chose-keep"),
    Row("recommend-all: a new rollout prompts an earlier-prompted device again", tenant(),
        device(reason="timeout", prompted_rollout=1), AFTER, "pending", "rollout"),
    Row("outlook-only -> recommend-all: blocked devices are previously configured", tenant(),
        device("blocked", reason="outlook-only"), AFTER, "pending", "rollout"),
    Row("recommend-all with a 0 s window: the notice is due at once",
        tenant(rollout_window_s=0), device(), AFTER, "pending", "rollout"),
    # --- §4 prompt-new-once ---------------------------------------------------------
    Row("prompt-new-once: a new device is prompted", tenant("prompt-new-once"), NEW, AFTER,
        "quarantined", "notice", DELIVER),
    Row("prompt-new-once: existing devices untouched", tenant("prompt-new-once"), device(),
        AFTER, "allowed", ""),
    Row("prompt-new-once: never a second notice in a device's life",
        tenant("prompt-new-once"), replace(NEW, reason="timeout", prompted_rollout=1), AFTER,
        "allowed", "timeout"),
    Row("prompt-new-once: a device once prompted under recommend-all is not prompted",
        tenant("prompt-new-once"), replace(NEW, prompted_rollout=0), AFTER, "allowed", ""),
    Row("outlook-only -> prompt-new-once: blocked devices are allowed",
        tenant("prompt-new-once"), device("blocked", reason="outlook-only"), AFTER, "allowed",
        "not-prompted"),
    Row("recommend-all -> prompt-new-once: a scheduled notice is cancelled",
        tenant("prompt-new-once"), device("pending", reason="rollout", notice_at=ON + 5 * H),
        AFTER, "allowed", "not-prompted"),
    Row("prompt-new-once: an open quarantine runs its course", tenant("prompt-new-once"),
        device("quarantined", **OPEN_NOTICE), ON + 2 * H, "quarantined", "notice"),
    # --- §2 unavailable, §5 EAC rules -----------------------------------------------
    Row("Intune: the setting is ignored, the org default (allow) decides",
        tenant(mdm_authority="intune"), NEW, AFTER, "allowed", "global"),
    Row("EAC: a quarantine rule matches DeviceType", tenant(device_rules=(
        rule(7, "DeviceType", "iPhone", "quarantine"),)), NEW, AFTER, "quarantined",
        "device-rule", EAC_NOTICE, rule_id=7),
    Row("EAC: rules match case-insensitively", tenant(device_rules=(
        rule(7, "DeviceType", "IPHONE", "block"),)), NEW, AFTER, "blocked", "device-rule",
        BLOCK_MAIL, rule_id=7),
    Row("EAC: block beats allow", tenant(device_rules=(
        rule(1, "UserAgent", "Apple-iPhone14C2/2104.92", "allow"),
        rule(2, "DeviceType", "iPhone", "block"))), NEW, AFTER, "blocked", "device-rule",
        BLOCK_MAIL, rule_id=2),
    Row("EAC: quarantine beats allow", tenant(device_rules=(
        rule(1, "DeviceModel", "iphone14c2", "allow"),
        rule(2, "DeviceOS", "iOS 17.4.1", "quarantine"))), NEW, AFTER, "quarantined",
        "device-rule", EAC_NOTICE, rule_id=2),
    Row("EAC: the user's allowed list beats a block rule", tenant(device_rules=(
        rule(2, "DeviceType", "iPhone", "block"),)), NEW, AFTER, "allowed", "individual",
        user=replace(ALICE, allowed_device_ids=("IPHONE1",))),
    Row("EAC: the user's blocked list blocks, without a mail", tenant(device_rules=(
        rule(2, "DeviceType", "iPhone", "allow"),)), NEW, AFTER, "blocked", "individual",
        user=replace(ALICE, blocked_device_ids=("IPHONE1",))),
    Row("EAC: no rule matches: the org default decides", tenant(
        org_default_access="quarantine", device_rules=(rule(1, "DeviceType", "Android",
                                                            "block"),)), NEW, AFTER,
        "quarantined", "global", EAC_NOTICE),
    Row("EAC: org default block", tenant(org_default_access="block"), NEW, AFTER, "blocked",
        "global", BLOCK_MAIL),
    Row("EAC: a quarantine waits for an admin (no 24 h end), no second notice",
        tenant(org_default_access="quarantine"),
        device("quarantined", reason="global", notice_server_id="2:41"), ON + 900 * H,
        "quarantined", "global"),
    Row("EAC: a setting quarantine turns into an EAC one: old notice out, EAC notice in",
        tenant(org_default_access="quarantine"), device("quarantined", **OPEN_NOTICE), AFTER,
        "quarantined", "global", EAC_NOTICE | REMOVE),
    Row("EAC without a request: the record's facts are matched", tenant(device_rules=(
        rule(3, "DeviceModel", "iPhone14C2", "block"),)), NEW, AFTER, "blocked",
        "device-rule", BLOCK_MAIL, identity=None, rule_id=3),
    Row("remote wipe owns its states", tenant("outlook-only"), device("wipe-pending"), AFTER,
        "wipe-pending", ""),
]


@pytest.mark.parametrize("row", ROWS, ids=[row.name for row in ROWS])
def test_decision_table(row: Row) -> None:
    decision = decide(row.tenant, row.user, row.device, row.identity, row.now)
    assert (decision.state, decision.reason, set(decision.actions), decision.rule_id) == (
        row.state, row.reason, row.actions, row.rule_id)
    if decision.changes(row.device):  # every move the decision asks for is in the table
        check_transition(row.device.state, decision)


def test_a_notice_starts_a_quarantine_of_the_tenants_length() -> None:
    decision = decide(tenant(quarantine_s=3600), ALICE, NEW, IPHONE, AFTER)
    assert decision.quarantine_until == AFTER + H


def test_the_rollout_time_lies_in_the_window_and_is_kept_once_scheduled() -> None:
    decision = decide(tenant(), ALICE, device(), IPHONE, AFTER)
    assert decision.notice_at == ROLLOUT_AT and ON <= ROLLOUT_AT < ON + 48 * H
    pending = device("pending", reason="rollout", notice_at=ON + 7 * H)
    assert decide(tenant(), ALICE, pending, IPHONE, AFTER).notice_at == ON + 7 * H
    assert due_time(pending) == ON + 7 * H


def test_unavailable_reasons() -> None:
    assert unavailable_reason(tenant()) is None
    assert "Intune" in unavailable_reason(tenant(mdm_authority="Intune"))
    assert "rules" in unavailable_reason(tenant(device_rules=(rule(1, "DeviceType", "x", "allow"),)))
    assert "'block'" in unavailable_reason(tenant(org_default_access="block"))


def test_every_reason_has_a_row_in_the_lifecycle_table() -> None:
    from gateway.access.decision import Reason
    assert set(TRANSITIONS) == set(Reason)


@pytest.mark.parametrize("before, after, reason", [
    ("blocked", "allowed", "chose-keep"),  # a choice needs an open quarantine
    ("allowed", "allowed", "timeout"),
    ("pending", "quarantined", "outlook-only"),
])
def test_the_lifecycle_refuses_moves_not_in_its_table(before: str, after: str, reason: str) -> None:
    from gateway.access.decision import Decision
    with pytest.raises(TransitionError):
        check_transition(before, Decision(after, reason))  # type: ignore[arg-type]
