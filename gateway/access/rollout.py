"""When a previously configured device gets its notice (SPEC §4 step 2).

Devices that synced before ``recommend-all`` was turned on at T are prompted at a time in
``[T, T + rollout_window_s)``, spread by a stable hash of (tenant, user, DeviceId): the same
device always lands on the same offset, so runs are reproducible, and the devices of a tenant
are spread evenly over the window.
"""
from __future__ import annotations

import hashlib
from datetime import datetime, timedelta


def rollout_offset_s(tenant: str, user: str, device_id: str, window_s: int) -> int:
    """Seconds after the mode was turned on; 0 when the window is 0 (notice at once)."""
    if window_s <= 0:
        return 0
    key = f"{tenant.lower()}\n{user.lower()}\n{device_id}".encode()
    digest = hashlib.sha256(key).digest()
    return int.from_bytes(digest[:8], "big") % window_s


def notice_time(tenant: str, user: str, device_id: str, enabled_at: datetime,
                window_s: int) -> datetime:
    return enabled_at + timedelta(seconds=rollout_offset_s(tenant, user, device_id, window_s))
