"""The access decision (SPEC §2–§5): a pure function of the tenant's setting and EAC rules,
the user's individual lists, the device record, what the client says now, and policy time.

``decide(...)`` answers the state the device should be in now, the reason (as Exchange's
DeviceAccessStateReason names it, or the setting's own words), and the side effects the
change implies (deliver a notice, remove it …). It reads nothing and writes nothing: the
lifecycle (``gateway.access.lifecycle``) applies the decision to the store.

Two regimes:
- the **setting** (``off``, ``outlook-only``, ``recommend-all``, ``prompt-new-once``) when the
  tenant is not managed elsewhere;
- the **EAC rules** (individual lists, device access rules, organisation default) when it is:
  ``mdm_authority = intune``, any device rule, or an org default other than ``allow``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from gateway.access.classify import App, classify
from gateway.access.identity import ClientIdentity
from gateway.access.rollout import notice_time
from store.types import AccessLevel, Device, DeviceRule, DeviceState, Tenant, User

PROMPTING_MODES = frozenset({"recommend-all", "prompt-new-once"})
MODES = ("off", "outlook-only", "recommend-all", "prompt-new-once")
# Device.extra key: the rollout id of the mode change that found this device already there.
PREEXISTING = "preexisting_rollout"
# States owned by remote wipe, not by the access decision.
WIPE_STATES = frozenset({"wipe-pending", "wiped"})


class Reason(StrEnum):
    # The mobile email access setting (SPEC §2, §4).
    OUTLOOK = "outlook"  # Outlook for iOS and Android: always allowed by the setting
    SETTING_OFF = "setting-off"
    OUTLOOK_ONLY = "outlook-only"
    ROLLOUT = "rollout"  # previously configured: the notice is scheduled
    NOTICE = "notice"  # quarantined, the notice is in the Inbox, no choice yet
    CHOSE_KEEP = "chose-keep"
    CHOSE_OUTLOOK = "chose-outlook"
    TIMEOUT = "timeout"  # no choice within the quarantine: released
    NOT_PROMPTED = "not-prompted"  # prompt-new-once leaves configured devices alone
    PROMPTED = "prompted"  # already prompted (this rollout, or ever under prompt-new-once)
    # EAC (SPEC §5), as Exchange's DeviceAccessStateReason.
    INDIVIDUAL = "individual"
    DEVICE_RULE = "device-rule"
    GLOBAL = "global"


EAC_REASONS = frozenset({Reason.INDIVIDUAL, Reason.DEVICE_RULE, Reason.GLOBAL})


class Action(StrEnum):
    DELIVER_NOTICE = "deliver-notice"  # the setting's notice; the 24 h quarantine starts
    DELIVER_EAC_NOTICE = "deliver-eac-notice"  # EAC quarantine notice + mail to the admins
    SEND_BLOCK_MAIL = "send-block-mail"  # EAC block: a mail the user reads elsewhere
    REMOVE_NOTICE = "remove-notice"  # an open notice leaves the Inbox


@dataclass(frozen=True)
class Decision:
    state: DeviceState
    reason: str
    rule_id: int | None = None
    notice_at: datetime | None = None
    quarantine_until: datetime | None = None
    actions: frozenset[Action] = field(default_factory=frozenset)

    def changes(self, device: Device) -> bool:
        return bool(self.actions) or (
            self.state, self.reason, self.rule_id, self.notice_at, self.quarantine_until
        ) != (device.state, device.reason, device.rule_id, device.notice_at,
              device.quarantine_until)


def unavailable_reason(tenant: Tenant) -> str | None:
    """Why the setting cannot be used (SPEC §2), or None when it can."""
    if (tenant.mdm_authority or "").lower() == "intune":
        return "the tenant's mobile devices are managed by Microsoft Intune"
    if tenant.device_rules:
        return "mobile device access rules are configured in the Exchange admin center"
    if tenant.org_default_access != "allow":
        return (f"the Exchange admin center's default access level is "
                f"'{tenant.org_default_access}'")
    return None


def decide(tenant: Tenant, user: User, device: Device, identity: ClientIdentity | None,
           now: datetime) -> Decision:
    """The state ``device`` should be in at ``now``. ``identity`` is what the client says on
    the current request (None when the scheduler or an admin change asks)."""
    if device.state in WIPE_STATES:
        return _keep(device)
    facts = _Facts.of(device, identity)
    if unavailable_reason(tenant) is not None:
        return _by_eac_rules(tenant, user, device, facts)
    return _by_setting(tenant, device, facts, now)


def due_time(device: Device) -> datetime | None:
    """The next deadline of this device's lifecycle, if any (notice time or quarantine end)."""
    if device.state == "pending":
        return device.notice_at
    if device.state == "quarantined" and device.reason == Reason.NOTICE:
        return device.quarantine_until
    return None


# --- what the client is ---------------------------------------------------------------
@dataclass(frozen=True)
class _Facts:
    user_agent: str
    device_type: str
    model: str
    os: str
    app: App

    @classmethod
    def of(cls, device: Device, identity: ClientIdentity | None) -> _Facts:
        user_agent = identity.user_agent if identity else device.user_agent
        device_type = identity.device_type if identity else device.device_type
        model = (identity.model if identity and identity.model else None) or device.model
        os = (identity.os if identity and identity.os else None) or device.os
        return cls(user_agent, device_type, model, os, classify(device_type, model, user_agent))

    def field(self, name: str) -> str:
        return {"UserAgent": self.user_agent, "DeviceType": self.device_type,
                "DeviceModel": self.model, "DeviceOS": self.os}[name]


# --- the setting (SPEC §2, §4) ----------------------------------------------------------
def _by_setting(tenant: Tenant, device: Device, facts: _Facts, now: datetime) -> Decision:
    if facts.app == "outlook":
        return _allowed(device, Reason.OUTLOOK)
    if tenant.mode == "off":
        return _allowed(device, Reason.SETTING_OFF)
    if tenant.mode == "outlook-only":
        return _leave(device, Decision("blocked", Reason.OUTLOOK_ONLY))
    return _prompting(tenant, device, now)


def _prompting(tenant: Tenant, device: Device, now: datetime) -> Decision:
    if device.state == "quarantined" and device.reason == Reason.NOTICE:
        if device.quarantine_until is not None and now >= device.quarantine_until:
            return Decision("allowed", Reason.TIMEOUT, actions=frozenset({Action.REMOVE_NOTICE}))
        return _keep(device)
    if device.state == "quarantined" and device.reason == Reason.CHOSE_OUTLOOK:
        return _keep(device)
    if _already_prompted(tenant, device):
        return _allowed(device, Reason.PROMPTED)
    if device.state == "pending" and tenant.mode == "recommend-all":
        return _rollout(tenant, device, now)
    if _first_seen_while_on(tenant, device):
        return _quarantine_with_notice(tenant, now)
    if tenant.mode == "prompt-new-once":
        return _allowed(device, Reason.NOT_PROMPTED)
    return _rollout(tenant, device, now)


def _already_prompted(tenant: Tenant, device: Device) -> bool:
    if tenant.mode == "prompt-new-once":
        return device.prompted_rollout is not None  # at most once in its life
    return device.prompted_rollout == tenant.rollout_id  # once per rollout


def _first_seen_while_on(tenant: Tenant, device: Device) -> bool:
    """New since the mode was turned on? Devices that existed then carry the rollout's id
    (a frozen clock can give a device and the mode change the very same instant)."""
    if device.extra.get(PREEXISTING) == tenant.rollout_id:
        return False
    if tenant.enabled_at is None or device.first_seen is None:
        return True
    return device.first_seen >= tenant.enabled_at


def _rollout(tenant: Tenant, device: Device, now: datetime) -> Decision:
    """A previously configured device under recommend-all: pending until its notice time."""
    if device.state == "pending" and device.notice_at is not None:
        notice_at = device.notice_at
    else:
        notice_at = notice_time(tenant.domain, device.user_address, device.device_id,
                                tenant.enabled_at or now, tenant.rollout_window_s)
    if now >= notice_at and device.state == "pending":
        return _quarantine_with_notice(tenant, now)
    return _leave(device, Decision("pending", Reason.ROLLOUT, notice_at=notice_at))


def _quarantine_with_notice(tenant: Tenant, now: datetime) -> Decision:
    return Decision("quarantined", Reason.NOTICE,
                    quarantine_until=now + timedelta(seconds=tenant.quarantine_s),
                    actions=frozenset({Action.DELIVER_NOTICE}))


# --- EAC rules (SPEC §5) -----------------------------------------------------------------
_LEVEL_STATE: dict[AccessLevel, DeviceState] = {
    "allow": "allowed", "block": "blocked", "quarantine": "quarantined"}
_LEVEL_STRENGTH: dict[AccessLevel, int] = {"allow": 0, "quarantine": 1, "block": 2}


def eac_access(tenant: Tenant, user: User, device_id: str, facts: _Facts,
               ) -> tuple[AccessLevel, Reason, int | None]:
    """First match wins: the user's own lists, then the device rules (block beats quarantine
    beats allow), then the organisation default."""
    if device_id in user.blocked_device_ids:
        return "block", Reason.INDIVIDUAL, None
    if device_id in user.allowed_device_ids:
        return "allow", Reason.INDIVIDUAL, None
    rule = _strongest_matching_rule(tenant.device_rules, facts)
    if rule is not None:
        return rule.access, Reason.DEVICE_RULE, rule.id
    return tenant.org_default_access, Reason.GLOBAL, None


def _strongest_matching_rule(rules: tuple[DeviceRule, ...], facts: _Facts) -> DeviceRule | None:
    matching = [rule for rule in rules
                if facts.field(rule.field).strip().lower() == rule.value.strip().lower()]
    if not matching:
        return None
    return max(matching, key=lambda rule: (_LEVEL_STRENGTH[rule.access], -rule.id))


def _by_eac_rules(tenant: Tenant, user: User, device: Device, facts: _Facts) -> Decision:
    level, reason, rule_id = eac_access(tenant, user, device.device_id, facts)
    state = _LEVEL_STATE[level]
    actions: set[Action] = set()
    entering = state != device.state or (
        state == "quarantined" and device.reason not in EAC_REASONS)
    if entering and state == "quarantined":
        actions.add(Action.DELIVER_EAC_NOTICE)
    if entering and state == "blocked" and reason != Reason.INDIVIDUAL:
        actions.add(Action.SEND_BLOCK_MAIL)
    decision = Decision(state, reason, rule_id, actions=frozenset(actions))
    return _leave(device, decision)


# --- helpers ----------------------------------------------------------------------------
def _keep(device: Device) -> Decision:
    return Decision(device.state, device.reason, device.rule_id, device.notice_at,
                    device.quarantine_until)


def _allowed(device: Device, reason: Reason) -> Decision:
    """Allowed for ``reason``; a device already allowed keeps the reason it got then (its
    history: a choice, a timeout), and no transition is recorded."""
    if device.state == "allowed":
        return _keep(device)
    return _leave(device, Decision("allowed", reason))


def _leave(device: Device, decision: Decision) -> Decision:
    """Add the removal of the device's open notice when the decision ends that quarantine
    any way but a choice (an ended quarantine's links must not linger in the Inbox)."""
    open_notice = device.state == "quarantined" and device.reason == Reason.NOTICE
    if open_notice and decision.reason != Reason.NOTICE:
        return Decision(decision.state, decision.reason, decision.rule_id, decision.notice_at,
                        decision.quarantine_until, decision.actions | {Action.REMOVE_NOTICE})
    return decision
