"""`AccessService`: the access decision and lifecycle as the rest of the gateway sees them.

- ``on_request(user, identity)``: called by the dispatcher for every EAS command; gets or
  creates the device record, refreshes what the client says about itself (re-classifying the
  app when it changes), and settles the lifecycle at policy time. Returns the device with its
  current ``state``; the dispatcher answers ``blocked`` itself.
- the **scheduler**: acts on deadlines while devices are idle (a rollout notice delivered, an
  expired quarantine released), so their held Pings wake. It sleeps until the store's next
  deadline in real clock mode; in manual mode ``clock.advance`` runs it before returning.
- ``choose``, ``choose_by_token``, ``set_mode``, ``set_device_access``,
  ``set_individual_access``: what the admin API, the CLI and the choice page change.

One asyncio lock per device keeps a Ping, a Sync and the scheduler from acting on the same
device at once (so a notice is never delivered twice). When several processes share the
database, ``device_guard`` (gateway/leader.py) extends that lock across them: a transition
runs under it, on the device as re-read once the guard is held.
"""
from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import weakref
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Any, Literal

from gateway.access.classify import classify
from gateway.access.decision import (
    MODES,
    PREEXISTING,
    PROMPTING_MODES,
    Reason,
    decide,
    due_time,
    unavailable_reason,
)
from gateway.access.errors import (
    ChoiceExpired,
    ChoiceUsed,
    InvalidSetting,
    NotManagedInEac,
    SettingUnavailable,
    UnknownDevice,
    UnknownTenant,
    UnknownToken,
)
from gateway.access.identity import ClientIdentity
from gateway.access.lifecycle import Lifecycle, Trigger
from gateway.tasks import cancel_and_wait
from store.api import Conflict, NotFound, Store
from store.types import AccessLevel, Device, DeviceRule, Tenant, User

log = logging.getLogger(__name__)

MAX_WINDOW_S = 30 * 86400  # a rollout or quarantine longer than a month is a typo
MIN_QUARANTINE_S = 60
LAST_SEEN_RESOLUTION_S = 60  # last_seen is written at most once a minute per device
SCHEDULER_IDLE_S = 60.0  # re-check this often even without a known deadline
Choice = Literal["keep", "outlook"]


class AccessService:
    def __init__(self, store: Store, clock: Any, pushhub: Any, config: Any) -> None:
        self.store = store
        self.clock = clock
        self.pushhub = pushhub
        self.config = config
        self.lifecycle = Lifecycle(store, public_url=_public_url(config), wake_user=self._wake)
        self._locks: weakref.WeakValueDictionary[Any, asyncio.Lock] = weakref.WeakValueDictionary()
        self._task: asyncio.Task[None] | None = None
        self._wakeup = asyncio.Event()
        # Held around every transition; gateway.crossprocess sets a cross-process one.
        self.device_guard: Callable[[int], AbstractAsyncContextManager[None]] = _unguarded
        clock.on_advance(self._on_clock_advance)

    # --- the request path -------------------------------------------------------------
    async def on_request(self, user: User, identity: ClientIdentity) -> Device:
        now = self.clock.now()
        async with self._lock(user.id, identity.device_id):
            device = await self._device_for(user, identity, now)
            tenant = await self.store.get_tenant(user.tenant)
            user = await self._fresh_user(tenant, user)
            if _unsettled(tenant, user, device, identity, now):
                async with self.device_guard(device.id):
                    device = await self._device(device.id)  # as another process left it
                    device = await self.lifecycle.settle(tenant, user, device, identity, now,
                                                         "request")
        self._note_deadline(device)
        return device

    async def _device_for(self, user: User, identity: ClientIdentity, now: datetime) -> Device:
        device = await self.store.get_device(user.id, identity.device_id)
        if device is None:
            try:
                return await self._create(user, identity, now)
            except Conflict:  # another process created it a moment ago
                device = await self.store.get_device(user.id, identity.device_id)
                if device is None:
                    raise
        return await self._refresh(device, identity, now)

    async def _create(self, user: User, identity: ClientIdentity, now: datetime) -> Device:
        info = identity.device_information()
        device = await self.store.create_device(Device(
            id=0, user_id=user.id, user_address=user.address, device_id=identity.device_id,
            device_type=identity.device_type, user_agent=identity.user_agent,
            model=info.get("model", ""), os=info.get("os", ""),
            friendly_name=info.get("friendly_name", ""),
            app=classify(identity.device_type, identity.model, identity.user_agent),
            protocol_version=identity.protocol_version, first_seen=now, last_seen=now,
            extra=_extra_information(info),
        ))
        await self.store.add_event(device.id, now, "first-seen", {
            "device_type": device.device_type, "user_agent": device.user_agent,
            "app": device.app, "protocol_version": device.protocol_version,
        })
        return device

    async def _refresh(self, device: Device, identity: ClientIdentity, now: datetime) -> Device:
        """Record what the client says now; re-take the classification when it changes."""
        changes = _identity_changes(device, identity)
        app = classify(changes.get("device_type", device.device_type),
                       changes.get("model", device.model),
                       changes.get("user_agent", device.user_agent))
        if app != device.app:
            changes["app"] = app
        stale = device.last_seen is None or (
            (now - device.last_seen).total_seconds() >= LAST_SEEN_RESOLUTION_S)
        if not changes and not stale:
            return device
        updated = await self.store.update_device(device.id, last_seen=now, **changes)
        if "user_agent" in changes or "app" in changes:
            await self.store.add_event(device.id, now, "reclassified", {
                "user_agent": updated.user_agent, "previous_user_agent": device.user_agent,
                "app": updated.app, "previous_app": device.app,
            })
        return updated

    async def _fresh_user(self, tenant: Tenant, user: User) -> User:
        """Under EAC the user's allow/block lists count: read them fresh, not from the
        login cache."""
        if unavailable_reason(tenant) is None:
            return user
        return await self.store.get_user_by_id(user.id)

    # --- the scheduler ----------------------------------------------------------------
    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="access-scheduler")

    async def stop(self) -> None:
        task, self._task = self._task, None
        await cancel_and_wait(task)

    async def run_due(self, until: datetime) -> int:
        """Act on every deadline at or before ``until``; returns how many devices moved."""
        moved = 0
        for device in await self.store.due_devices(until):
            await self._settle(device.id, until, "scheduler")
            moved += 1
        return moved

    def wake_scheduler(self) -> None:
        """Look at the deadlines again now (the clock or a device changed elsewhere)."""
        self._wakeup.set()

    async def _run(self) -> None:
        while True:
            self._wakeup.clear()  # before the round: a wake-up during it is kept
            try:
                await self.clock.load()  # another process may have moved it
                await self.run_due(self.clock.now())
                delay = await self._sleep_time()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # keep the scheduler alive; the next round retries
                log.error("access scheduler round failed: %s: %s", type(exc).__name__, exc)
                delay = 5.0
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), delay)

    async def _sleep_time(self) -> float:
        if self.clock.mode == "manual":  # time moves only by advance, which runs run_due
            return SCHEDULER_IDLE_S
        deadline = await self.store.next_deadline()
        if deadline is None:
            return SCHEDULER_IDLE_S
        seconds = (deadline - self.clock.now()).total_seconds()
        return min(max(seconds, 0.01), SCHEDULER_IDLE_S)

    async def _on_clock_advance(self, before: datetime, after: datetime) -> None:
        await self.run_due(after)
        self._wakeup.set()

    def _note_deadline(self, device: Device) -> None:
        if due_time(device) is not None:
            self._wakeup.set()  # the scheduler recomputes how long to sleep

    # --- choices ----------------------------------------------------------------------
    async def choose(self, device_pk: int, choice: Choice, *, trigger: Trigger = "admin") -> Device:
        device = await self._device(device_pk)
        async with self._lock(device.user_id, device.device_id), self.device_guard(device_pk):
            device = await self._device(device_pk)
            user = await self.store.get_user_by_id(device.user_id)
            tenant = await self.store.get_tenant(user.tenant)
            device = await self.lifecycle.choose(tenant, user, device, choice,
                                                 self.clock.now(), trigger)
        return device

    async def device_for_token(self, token: str) -> Device:
        """The device a choice link belongs to, if its choice is still open; otherwise
        UnknownToken (never issued), ChoiceUsed or ChoiceExpired."""
        device = await self.store.get_device_by_token(token) if _plausible_token(token) else None
        if device is None:
            raise UnknownToken("this link is not valid")
        if device.choice is not None:
            raise ChoiceUsed(f"a choice was already made for this device: {device.choice}")
        if device.state != "quarantined" or device.reason != Reason.NOTICE:
            raise ChoiceExpired("this notice has expired; the device is no longer waiting")
        return device

    async def choose_by_token(self, token: str, choice: Choice) -> Device:
        device = await self.device_for_token(token)
        return await self.choose(device.id, choice, trigger="choice")

    # --- admin changes ----------------------------------------------------------------
    async def set_mode(self, domain: str, mode: str | None = None, *,
                       rollout_window_s: int | None = None,
                       quarantine_s: int | None = None) -> Tenant:
        """Change the mobile email access setting (SPEC §2) and re-evaluate every device of
        the tenant at once (notices scheduled, cancelled or removed)."""
        tenant = await self._tenant(domain)
        reason = unavailable_reason(tenant)
        if reason is not None:
            raise SettingUnavailable(reason)
        changes = _setting_changes(tenant, mode, rollout_window_s, quarantine_s, self.clock.now())
        if not changes:
            return tenant
        tenant = await self.store.put_tenant(dataclasses.replace(tenant, **changes))
        if "mode" in changes:
            if tenant.mode in PROMPTING_MODES:
                await self._mark_preexisting(tenant)
            await self.reevaluate(tenant.domain, "setting")
        return tenant

    async def add_tenant(self, domain: str, mode: str | None = None, *,
                         rollout_window_s: int | None = None,
                         quarantine_s: int | None = None) -> Tenant:
        """A new tenant with its setting, checked before anything is written. It has no
        device yet, so there is nothing to re-evaluate."""
        blank = Tenant(domain=domain)
        changes = _setting_changes(blank, mode, rollout_window_s, quarantine_s, self.clock.now())
        return await self.store.put_tenant(dataclasses.replace(blank, **changes))

    async def _mark_preexisting(self, tenant: Tenant) -> None:
        """Every device there when a prompting mode is turned on is 'previously configured'."""
        for device in await self.store.list_devices(tenant=tenant.domain):
            await self.store.update_device(device.id, extra={PREEXISTING: tenant.rollout_id})

    async def set_device_access(self, domain: str, *, mdm_authority: str | None = None,
                                org_default_access: AccessLevel | None = None,
                                rules: list[DeviceRule] | None = None,
                                user_mail_insert: str | None = None,
                                admin_mail_recipients: list[str] | None = None,
                                clear_mdm_authority: bool = False) -> Tenant:
        """Change the EAC side (SPEC §5) and re-evaluate every device of the tenant."""
        tenant = await self._tenant(domain)
        changes: dict[str, Any] = {}
        if mdm_authority is not None or clear_mdm_authority:
            changes["mdm_authority"] = mdm_authority or None
        if org_default_access is not None:
            changes["org_default_access"] = org_default_access
        if rules is not None:
            changes["device_rules"] = tuple(rules)
        if user_mail_insert is not None:
            changes["user_mail_insert"] = user_mail_insert
        if admin_mail_recipients is not None:
            changes["admin_mail_recipients"] = tuple(admin_mail_recipients)
        tenant = await self.store.put_tenant(dataclasses.replace(tenant, **changes))
        await self.reevaluate(tenant.domain, "admin")
        return tenant

    async def set_individual_access(self, device_pk: int, access: Literal["allow", "block"],
                                    ) -> Device:
        """Put the DeviceId on the user's allowed or blocked list (EAC step 1)."""
        device = await self._device(device_pk)
        user = await self.store.get_user_by_id(device.user_id)
        tenant = await self.store.get_tenant(user.tenant)
        if unavailable_reason(tenant) is None:
            raise NotManagedInEac(
                f"{tenant.domain} uses the mobile email access setting; individual access "
                "applies when the tenant is managed in the Exchange admin center")
        allowed = [d for d in user.allowed_device_ids if d != device.device_id]
        blocked = [d for d in user.blocked_device_ids if d != device.device_id]
        (allowed if access == "allow" else blocked).append(device.device_id)
        await self.store.update_user(user.id, allowed_device_ids=allowed,
                                     blocked_device_ids=blocked)
        return await self._settle(device_pk, self.clock.now(), "admin")

    async def reevaluate(self, domain: str, trigger: Trigger) -> None:
        now = self.clock.now()
        for device in await self.store.list_devices(tenant=domain):
            await self._settle(device.id, now, trigger)

    # --- helpers ----------------------------------------------------------------------
    async def _settle(self, device_pk: int, now: datetime, trigger: Trigger) -> Device:
        device = await self._device(device_pk)
        async with self._lock(device.user_id, device.device_id), self.device_guard(device_pk):
            device = await self._device(device_pk)
            user = await self.store.get_user_by_id(device.user_id)
            tenant = await self.store.get_tenant(user.tenant)
            device = await self.lifecycle.settle(tenant, user, device, None, now, trigger)
        self._note_deadline(device)
        return device

    async def _device(self, pk: int) -> Device:
        try:
            return await self.store.get_device_by_pk(pk)
        except NotFound:
            raise UnknownDevice(f"no device {pk}") from None

    async def _tenant(self, domain: str) -> Tenant:
        try:
            return await self.store.get_tenant(domain)
        except NotFound:
            raise UnknownTenant(f"no tenant {domain}") from None

    def _lock(self, user_id: int, device_id: str) -> asyncio.Lock:
        key = (user_id, device_id)
        lock = self._locks.get(key)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[key] = lock
        return lock

    def _wake(self, user_id: int) -> None:
        if self.pushhub is not None:
            self.pushhub.wake_user(user_id)


# --- pure helpers -----------------------------------------------------------------------
@contextlib.asynccontextmanager
async def _unguarded(device_pk: int) -> AsyncIterator[None]:
    """One process: the asyncio lock per device is guard enough."""
    yield


def _unsettled(tenant: Tenant, user: User, device: Device, identity: ClientIdentity | None,
               now: datetime) -> bool:
    """Whether settling would move the device (the lifecycle's first look, without writes):
    most requests find nothing to do and need no cross-process guard."""
    deadline = due_time(device)
    moments = {now} if deadline is None else {min(deadline, now), now}
    return any(decide(tenant, user, device, identity, at).changes(device) for at in moments)


def _public_url(config: Any) -> str:
    base = getattr(config, "base_url", None) or getattr(config, "public_url", None)
    return base or "http://127.0.0.1:8080"


_EXTRA_FIELDS = ("imei", "phone_number", "mobile_operator", "os_language")


def _extra_information(info: dict[str, str]) -> dict[str, str]:
    return {name: info[name] for name in _EXTRA_FIELDS if name in info}


def _identity_changes(device: Device, identity: ClientIdentity) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    for name in ("user_agent", "device_type", "protocol_version"):
        value = getattr(identity, name)
        if value and value != getattr(device, name):
            changes[name] = value
    info = identity.device_information()
    for name in ("model", "os", "friendly_name"):
        if name in info and info[name] != getattr(device, name):
            changes[name] = info[name]
    extra = {k: v for k, v in _extra_information(info).items() if device.extra.get(k) != v}
    if extra:
        changes["extra"] = extra
    return changes


def _setting_changes(tenant: Tenant, mode: str | None, rollout_window_s: int | None,
                     quarantine_s: int | None, now: datetime) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    if rollout_window_s is not None:
        changes["rollout_window_s"] = _seconds("rollout_window_s", rollout_window_s, 0)
    if quarantine_s is not None:
        changes["quarantine_s"] = _seconds("quarantine_s", quarantine_s, MIN_QUARANTINE_S)
    if mode is not None:
        if mode not in MODES:
            raise InvalidSetting(f"unknown mode {mode!r}; one of {', '.join(MODES)}")
        if mode != tenant.mode:
            changes["mode"] = mode
            changes["enabled_at"] = None if mode == "off" else now
            if mode in PROMPTING_MODES:
                changes["rollout_id"] = tenant.rollout_id + 1  # a new rollout: prompt again
    return changes


def _seconds(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidSetting(f"{name} must be a whole number of seconds")
    if not minimum <= value <= MAX_WINDOW_S:
        raise InvalidSetting(f"{name} must lie between {minimum} and {MAX_WINDOW_S} seconds")
    return value


def _plausible_token(token: str) -> bool:
    return 16 <= len(token) <= 64 and all(c.isalnum() or c in "-_" for c in token)
