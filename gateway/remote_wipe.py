"""Remote wipe (MS-ASPROV 3.2.5.1.2.2), as an operator orders it and a device obeys.

- `request_wipe`: the device's state becomes ``wipe-pending`` (its state before is kept, so
  a cancel can give it back). Every command but Provision answers Status 140
  RemoteWipeRequested (HTTP 449 on 12.1) from then on, a held Ping ends at once, and the
  next Provision carries the order: ``RemoteWipe``, or ``AccountOnlyRemoteWipe`` (EAS 16.1:
  remove this account's data only).
- `acknowledge`: the client's ``RemoteWipe/Status`` (or ``AccountOnlyRemoteWipe/Status``)
  is recorded in the audit rows; Status 1 makes the device ``wiped``. As Exchange does, a
  wiped partnership is ordered to wipe again whenever it comes back, until an operator
  clears the wipe.
- `cancel_wipe`: a pending wipe is withdrawn before it is sent (or a completed one cleared,
  so the DeviceId may sync again); the device gets its earlier state back.

The access decision leaves the ``wipe-pending`` and ``wiped`` states alone
(gateway/access/decision.py); faults never touch them.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gateway.access.errors import AccessError, UnknownDevice
from protocol import versions
from store.api import NotFound
from store.types import Device

if TYPE_CHECKING:
    from gateway.services import Services

PENDING = ("pending", "account-pending")
EXTRA_KEY = "wipe"  # Device.extra: the state before the wipe and the times, for the record


class WipeConflict(AccessError):
    status = 409
    error = "wipe-conflict"


async def request_wipe(services: Services, device_pk: int, *, account_only: bool) -> Device:
    device = await _device(services, device_pk)
    wanted = "account-pending" if account_only else "pending"
    if device.wipe == wanted:
        return device  # asked twice: one order
    if device.wipe != "none":
        raise WipeConflict(f"device {device_pk} is already {_wipe_words(device)}; cancel "
                           "that first (DELETE /devices/{id}/wipe)")
    if account_only and not versions.at_least(device.protocol_version or "0", "16.1"):
        raise WipeConflict(f"an account-only wipe needs EAS 16.1; device {device_pk} speaks "
                           f"{device.protocol_version or 'no version yet'}")
    now = services.clock.now()
    before = {"state": device.state, "reason": device.reason, "requested_at": now.isoformat(),
              "account_only": account_only}
    updated = await services.store.update_device(
        device.id, wipe=wanted, state="wipe-pending", reason="remote-wipe",
        extra={EXTRA_KEY: before})
    await services.store.add_event(device.id, now, "wipe-requested",
                                   {"account_only": account_only})
    services.pushhub.end_held(device.user_id, device.id)  # its next request hears the order
    return updated


async def cancel_wipe(services: Services, device_pk: int) -> Device:
    device = await _device(services, device_pk)
    if device.wipe == "none":
        raise WipeConflict(f"device {device_pk} has no wipe to cancel")
    before: dict[str, Any] = device.extra.get(EXTRA_KEY) or {}
    kind = "wipe-cancelled" if device.wipe in PENDING else "wipe-cleared"
    state = before.get("state", "allowed")
    updated = await services.store.update_device(
        device.id, wipe="none", state=state if state not in ("wipe-pending", "wiped") else "allowed",
        reason=before.get("reason", ""), extra={EXTRA_KEY: None})
    await services.store.add_event(device.id, services.clock.now(), kind,
                                   {"was": device.wipe})
    return updated


async def acknowledge(services: Services, device: Device, *, account_only: bool,
                      status: str | None) -> Device:
    """Record the client's answer to a wipe order; Status 1 means it wiped."""
    now = services.clock.now()
    detail = {"status": status, "account_only": account_only, "was": device.wipe}
    if device.wipe == "none":
        await services.store.add_event(device.id, now, "wipe-acknowledged-unasked", detail)
        return device
    if status != "1":
        await services.store.add_event(device.id, now, "wipe-failed", detail)
        return device
    await services.store.add_event(device.id, now, "wiped", detail)
    return await services.store.update_device(
        device.id, wipe="wiped", state="wiped", policy_key=None, pending_policy_key=None,
        extra={EXTRA_KEY: {**(device.extra.get(EXTRA_KEY) or {}),
                           "acknowledged_at": now.isoformat(), "account_only": account_only}})


def ordered_account_only(device: Device) -> bool:
    """Whether the order to send is AccountOnlyRemoteWipe (else the whole device)."""
    if device.wipe == "account-pending":
        return True
    return device.wipe == "wiped" and bool((device.extra.get(EXTRA_KEY) or {}).get("account_only"))


def _wipe_words(device: Device) -> str:
    return {"pending": "waiting for a wipe", "account-pending": "waiting for an account-only "
            "wipe", "wiped": "wiped"}.get(device.wipe, device.wipe)


async def _device(services: Services, device_pk: int) -> Device:
    try:
        return await services.store.get_device_by_pk(device_pk)
    except NotFound:
        raise UnknownDevice(f"no device {device_pk}") from None
