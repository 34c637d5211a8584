"""Persistence: the mailbox store, device and policy records, behind one async API.

``store = await open_store(url)`` gives a `Store` for a SQLAlchemy URL
(``sqlite+aiosqlite:///./var/easgate.db`` by default, or ``postgresql+asyncpg://…``),
with its schema migrated to the current revision. Everything it hands out is a plain
dataclass of `store.types`.
"""
from __future__ import annotations

from store.api import ChangeListener, Conflict, NotFound, Store, StoreBusy, StoreError
from store.engine import DEFAULT_URL, default_url
from store.opening import open_store, upgrade_database
from store.types import (
    AccessLevel,
    Attachment,
    AuditEvent,
    Change,
    ChangePage,
    ClockRow,
    Device,
    DeviceRule,
    DeviceState,
    Folder,
    FolderType,
    Item,
    ItemClass,
    NewItem,
    PlacedItems,
    Placement,
    SyncState,
    Tenant,
    User,
    WriteKey,
)

__all__ = [
    "DEFAULT_URL", "AccessLevel", "Attachment", "AuditEvent", "Change", "ChangeListener",
    "ChangePage", "ClockRow", "Conflict", "Device", "DeviceRule", "DeviceState", "Folder",
    "FolderType", "Item", "ItemClass", "NewItem", "NotFound", "PlacedItems", "Placement",
    "Store", "StoreBusy", "StoreError", "SyncState", "Tenant", "User", "WriteKey", "default_url",
    "open_store", "upgrade_database",
]
