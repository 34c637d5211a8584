"""The device access lifecycle (SPEC §4, §5): applies decisions and choices to the store.

Everything that moves a device between states lives in this module's TRANSITIONS table:
each reason a device can be put in a state names the state it leads to, the states it may
come from, and the audit row it writes. ``apply`` refuses any transition not in the table,
so the table is the lifecycle (a test prints it and checks it against SPEC §4).

Side effects follow the decision's actions: the notice is delivered into the Inbox as an
ordinary mail (its id and a fresh choice token kept on the device), an open notice is
removed when its quarantine ends any way but a choice, EAC notices go to the user and the
tenant's admins. Every transition is one audit row with policy time, and wakes the user's
held Pings so that a notice arriving or leaving reaches an idle device.
"""
from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from gateway.access.decision import (
    Action,
    Decision,
    Reason,
    decide,
    due_time,
)
from gateway.access.errors import ChoiceNotOpen
from gateway.access.identity import ClientIdentity
from gateway.notice import eac_admin_mail, eac_block_mail, eac_quarantine_notice, setting_notice
from store.api import NotFound, Store
from store.types import Device, DeviceState, FolderType, Tenant, User

log = logging.getLogger(__name__)

ANY: frozenset[DeviceState] = frozenset({"allowed", "pending", "quarantined", "blocked"})
MAX_STEPS = 8  # scheduled -> notice -> expired is three; more would mean a loop (a bug)
Trigger = Literal["request", "scheduler", "setting", "choice", "admin"]


@dataclass(frozen=True)
class Transition:
    to: frozenset[DeviceState]
    sources: frozenset[DeviceState]
    event: str  # the audit row's kind


def _t(to: str | set[str], sources: frozenset[DeviceState] | set[str], event: str) -> Transition:
    targets = {to} if isinstance(to, str) else to
    return Transition(frozenset(targets), frozenset(sources), event)  # type: ignore[arg-type]


# reason                  leads to         from                                      audit row
TRANSITIONS: dict[Reason, Transition] = {
    Reason.OUTLOOK:       _t("allowed",     ANY - {"allowed"},                       "allowed"),
    Reason.SETTING_OFF:   _t("allowed",     ANY - {"allowed"},                       "released"),
    Reason.OUTLOOK_ONLY:  _t("blocked",     ANY,                                     "blocked"),
    Reason.ROLLOUT:       _t("pending",     ANY - {"pending"},                       "notice-scheduled"),
    Reason.NOTICE:        _t("quarantined", ANY,                                     "notice-delivered"),
    Reason.CHOSE_KEEP:    _t("allowed",     {"quarantined"},                         "chose-keep"),
    Reason.CHOSE_OUTLOOK: _t("quarantined", {"quarantined"},                         "chose-outlook"),
    Reason.TIMEOUT:       _t("allowed",     {"quarantined"},                         "quarantine-expired"),
    Reason.NOT_PROMPTED:  _t("allowed",     ANY - {"allowed"},                       "released"),
    Reason.PROMPTED:      _t("allowed",     ANY - {"allowed"},                       "released"),
    Reason.INDIVIDUAL:    _t({"allowed", "blocked"}, ANY,                            "access-individual"),
    Reason.DEVICE_RULE:   _t({"allowed", "blocked", "quarantined"}, ANY,             "access-rule"),
    Reason.GLOBAL:        _t({"allowed", "blocked", "quarantined"}, ANY,             "access-default"),
}


class TransitionError(RuntimeError):
    """A decision asked for a move the lifecycle table does not have (a bug, not bad input)."""


def check_transition(before: DeviceState, decision: Decision) -> Transition:
    transition = TRANSITIONS.get(Reason(decision.reason))
    if transition is None or decision.state not in transition.to:
        raise TransitionError(f"reason {decision.reason} cannot lead to {decision.state}")
    if before not in transition.sources:
        raise TransitionError(f"{before} -> {decision.state} ({decision.reason}) is not allowed")
    return transition


class Lifecycle:
    def __init__(self, store: Store, *, public_url: str, wake_user: Any = None) -> None:
        self.store = store
        self.public_url = public_url
        self._wake_user = wake_user or (lambda user_id: None)

    # --- decisions --------------------------------------------------------------------
    async def settle(self, tenant: Tenant, user: User, device: Device,
                     identity: ClientIdentity | None, now: datetime, trigger: Trigger) -> Device:
        """Bring ``device`` up to ``now``: every deadline that has passed is acted on at its
        own time (a notice delivered at its rollout time, a quarantine ended 24 h later),
        then the decision for ``now`` itself."""
        for _ in range(MAX_STEPS):
            deadline = due_time(device)
            at = min(deadline, now) if deadline is not None else now
            decision = decide(tenant, user, device, identity, at)
            if not decision.changes(device) and at < now:
                at, decision = now, decide(tenant, user, device, identity, now)
            if not decision.changes(device):
                break
            device = await self.apply(tenant, user, device, decision, at,
                                      trigger if at == now else "scheduler")
        return device

    async def apply(self, tenant: Tenant, user: User, device: Device, decision: Decision,
                    at: datetime, trigger: Trigger, **extra_fields: Any) -> Device:
        transition = check_transition(device.state, decision)
        fields: dict[str, Any] = {
            "state": decision.state, "reason": str(decision.reason), "rule_id": decision.rule_id,
            "notice_at": decision.notice_at, "quarantine_until": decision.quarantine_until,
            **extra_fields,
        }
        detail: dict[str, Any] = {}
        if Action.REMOVE_NOTICE in decision.actions:
            detail["notice_removed"] = await self._remove_notice(device)
            fields["notice_server_id"] = None
        if Action.DELIVER_NOTICE in decision.actions:
            fields.update(await self._deliver_notice(tenant, user, device, decision, at))
            detail["notice_server_id"] = fields["notice_server_id"]
        if Action.DELIVER_EAC_NOTICE in decision.actions:
            fields["notice_server_id"] = await self._deliver_eac_notice(tenant, user, device, at)
            detail["notice_server_id"] = fields["notice_server_id"]
        if Action.SEND_BLOCK_MAIL in decision.actions:
            detail["block_mail"] = await self._send_block_mail(tenant, user, device, decision, at)
        updated = await self.store.update_device(device.id, **fields)
        await self._audit(device, updated, transition.event, at, trigger, detail)
        self._wake_user(user.id)
        return updated

    # --- choices ----------------------------------------------------------------------
    async def choose(self, tenant: Tenant, user: User, device: Device,
                     choice: Literal["keep", "outlook"], at: datetime, trigger: Trigger) -> Device:
        """The user's (or an admin's) answer to the notice (SPEC §4 steps 4 and 5)."""
        waiting = device.state == "quarantined" and device.reason in (
            Reason.NOTICE, Reason.CHOSE_OUTLOOK)
        if not waiting:
            raise ChoiceNotOpen(f"device {device.id} is {device.state} ({device.reason or '-'})"
                                ", not waiting for a choice")
        if choice == "outlook" and device.reason == Reason.CHOSE_OUTLOOK:
            raise ChoiceNotOpen(f"device {device.id} already chose Outlook")
        if choice == "keep":
            decision = Decision("allowed", Reason.CHOSE_KEEP)
        else:
            decision = Decision("quarantined", Reason.CHOSE_OUTLOOK)
        return await self.apply(tenant, user, device, decision, at, trigger, choice=choice)

    # --- side effects -----------------------------------------------------------------
    async def _inbox(self, user: User) -> str:
        folder = await self.store.find_folder(user.id, FolderType.INBOX)
        if folder is None:
            raise NotFound(f"{user.address} has no Inbox")
        return folder.id

    async def _deliver_notice(self, tenant: Tenant, user: User, device: Device,
                              decision: Decision, at: datetime) -> dict[str, Any]:
        token = secrets.token_urlsafe(24)
        notice = setting_notice(tenant=tenant, user=user, device=device, token=token,
                                public_url=self.public_url, now=at,
                                quarantine_until=decision.quarantine_until or at)
        item = await self.store.add_item(user.id, await self._inbox(user), notice.item)
        return {"notice_server_id": item.server_id, "choice_token": token, "choice": None,
                "prompted_rollout": tenant.rollout_id}

    async def _deliver_eac_notice(self, tenant: Tenant, user: User, device: Device,
                                  at: datetime) -> str:
        mail = eac_quarantine_notice(tenant=tenant, user=user, device=device, now=at)
        item = await self.store.add_item(user.id, await self._inbox(user), mail)
        for address in tenant.admin_mail_recipients:
            await self._mail_admin(tenant, address, user, device, at)
        return item.server_id

    async def _mail_admin(self, tenant: Tenant, address: str, user: User, device: Device,
                          at: datetime) -> None:
        try:
            admin = await self.store.get_user(address)
        except NotFound:
            log.warning("admin mail recipient %s has no mailbox here; mail not delivered", address)
            return
        mail = eac_admin_mail(tenant=tenant, admin=admin, user=user, device=device, now=at,
                              reason=device.reason or "quarantine")
        await self.store.add_item(admin.id, await self._inbox(admin), mail)

    async def _send_block_mail(self, tenant: Tenant, user: User, device: Device,
                               decision: Decision, at: datetime) -> str:
        rule = None
        if decision.rule_id is not None:
            rule = next((f"{r.field} = {r.value}" for r in tenant.device_rules
                         if r.id == decision.rule_id), None)
        mail = eac_block_mail(tenant=tenant, user=user, device=device, now=at, rule=rule)
        return (await self.store.add_item(user.id, await self._inbox(user), mail)).server_id

    async def _remove_notice(self, device: Device) -> str | None:
        """Delete the open notice (a Sync Delete for the devices that hold it); the user may
        have deleted it already."""
        if device.notice_server_id is None:
            return None
        try:
            await self.store.delete_item(device.user_id, device.notice_server_id)
        except NotFound:
            return None
        return device.notice_server_id

    async def _audit(self, before: Device, after: Device, event: str, at: datetime,
                     trigger: Trigger, extra: dict[str, Any]) -> None:
        detail: dict[str, Any] = {
            "from": before.state, "to": after.state, "reason": after.reason,
            "trigger": trigger,
        }
        if after.rule_id is not None:
            detail["rule_id"] = after.rule_id
        for name in ("notice_at", "quarantine_until"):
            value = getattr(after, name)
            if value is not None:
                detail[name] = value.isoformat()
        detail.update({k: v for k, v in extra.items() if v is not None})
        await self.store.add_event(after.id, at, event, detail)
