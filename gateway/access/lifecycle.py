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

A transition's mails are written before the device row that records the move, so a process
that dies between the two leaves the device where it was, and the transition runs again.
Each mail is therefore written once under a `WriteKey` naming the transition (the device's
count of transitions, kept in ``Device.extra``, which the device update moves on) and the
mail's role: the re-run finds the notice already delivered and records that one. Once a
transition is recorded, only its own keys are kept (a process that read the device before
the record may still be running it); an earlier transition can no longer run again.
"""
from __future__ import annotations

import logging
import re
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
from store.types import (
    Device,
    DeviceState,
    FolderType,
    NewItem,
    Placement,
    Tenant,
    User,
    WriteKey,
)

log = logging.getLogger(__name__)

ANY: frozenset[DeviceState] = frozenset({"allowed", "pending", "quarantined", "blocked"})
MAX_STEPS = 8  # scheduled -> notice -> expired is three; more would mean a loop (a bug)
TRANSITION_COUNT = "transitions"  # Device.extra: how many transitions the device has made
WRITE_SCOPE = "lifecycle"  # the WriteKey scope of a transition's mails
_CHOICE_LINK = re.compile(r"/choice/([A-Za-z0-9_-]+)\?app=")  # in a notice's text
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


@dataclass(frozen=True)
class _TransitionMail:
    """Writes the mails of one transition, each once (see the module's doc)."""

    store: Store
    device: Device
    count: int  # the device's transitions before this one

    async def send(self, role: str, user_id: int, folder_id: str, item: NewItem
                   ) -> tuple[str, bool]:
        """The mail's server id, and whether it was written now (not by an earlier run)."""
        placed = await self.store.add_placed_items(
            [Placement(user_id, folder_id, item)],
            once=WriteKey(self.device.id, WRITE_SCOPE, f"{self.count}/{role}"))
        return placed.server_ids[0], placed.first_time


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
        count = int(device.extra.get(TRANSITION_COUNT, 0))
        fields: dict[str, Any] = {
            "state": decision.state, "reason": str(decision.reason), "rule_id": decision.rule_id,
            "notice_at": decision.notice_at, "quarantine_until": decision.quarantine_until,
            "extra": {TRANSITION_COUNT: count + 1}, **extra_fields,
        }
        mail = _TransitionMail(self.store, device, count)
        detail: dict[str, Any] = {}
        if Action.REMOVE_NOTICE in decision.actions:
            detail["notice_removed"] = await self._remove_notice(device)
            fields["notice_server_id"] = None
        if Action.DELIVER_NOTICE in decision.actions:
            fields.update(await self._deliver_notice(mail, tenant, user, device, decision, at))
            detail["notice_server_id"] = fields["notice_server_id"]
        if Action.DELIVER_EAC_NOTICE in decision.actions:
            fields["notice_server_id"] = await self._deliver_eac_notice(mail, tenant, user,
                                                                        device, at)
            detail["notice_server_id"] = fields["notice_server_id"]
        if Action.SEND_BLOCK_MAIL in decision.actions:
            detail["block_mail"] = await self._send_block_mail(mail, tenant, user, device,
                                                               decision, at)
        updated = await self.store.update_device(device.id, **fields)
        if count:
            await self.store.forget_write_keys(device.id, WRITE_SCOPE, keeping=(str(count),))
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

    async def _deliver_notice(self, mail: _TransitionMail, tenant: Tenant, user: User,
                              device: Device, decision: Decision, at: datetime
                              ) -> dict[str, Any]:
        token = secrets.token_urlsafe(24)
        notice = setting_notice(tenant=tenant, user=user, device=device, token=token,
                                public_url=self.public_url, now=at,
                                quarantine_until=decision.quarantine_until or at)
        server_id, first_time = await mail.send("notice", user.id, await self._inbox(user),
                                                notice.item)
        if not first_time:  # a re-run: the notice delivered then carries its own link
            token = await self._token_of(user, server_id) or token
        return {"notice_server_id": server_id, "choice_token": token, "choice": None,
                "prompted_rollout": tenant.rollout_id}

    async def _token_of(self, user: User, notice_server_id: str) -> str | None:
        """The choice token in the link of a notice delivered before."""
        try:
            notice = await self.store.get_item(user.id, notice_server_id)
        except NotFound:  # the user deleted it meanwhile: a fresh token
            return None
        found = _CHOICE_LINK.search(notice.body_text)
        return found.group(1) if found else None

    async def _deliver_eac_notice(self, mail: _TransitionMail, tenant: Tenant, user: User,
                                  device: Device, at: datetime) -> str:
        notice = eac_quarantine_notice(tenant=tenant, user=user, device=device, now=at)
        server_id, _ = await mail.send("eac-notice", user.id, await self._inbox(user), notice)
        for address in tenant.admin_mail_recipients:
            await self._mail_admin(mail, tenant, address, user, device, at)
        return server_id

    async def _mail_admin(self, mail: _TransitionMail, tenant: Tenant, address: str,
                          user: User, device: Device, at: datetime) -> None:
        try:
            admin = await self.store.get_user(address)
        except NotFound:
            log.warning("admin mail recipient %s has no mailbox here; mail not delivered", address)
            return
        message = eac_admin_mail(tenant=tenant, admin=admin, user=user, device=device, now=at,
                                 reason=device.reason or "quarantine")
        await mail.send(f"admin:{admin.address}", admin.id, await self._inbox(admin), message)

    async def _send_block_mail(self, mail: _TransitionMail, tenant: Tenant, user: User,
                               device: Device, decision: Decision, at: datetime) -> str:
        rule = None
        if decision.rule_id is not None:
            rule = next((f"{r.field} = {r.value}" for r in tenant.device_rules
                         if r.id == decision.rule_id), None)
        message = eac_block_mail(tenant=tenant, user=user, device=device, now=at, rule=rule)
        server_id, _ = await mail.send("block-mail", user.id, await self._inbox(user), message)
        return server_id

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
