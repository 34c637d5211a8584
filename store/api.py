"""The one async interface the gateway uses to reach persistence.

Every method is one unit of work (one transaction). Values in and out are the plain
dataclasses of `store.types`; nothing of SQLAlchemy leaks out. `open_store(url)` in
`store/__init__.py` gives an implementation for a SQLAlchemy URL.
"""
from __future__ import annotations

import abc
from collections.abc import Awaitable, Callable, Collection, Sequence
from datetime import datetime
from typing import Any

from store.types import (
    AuditEvent,
    ChangePage,
    ClockRow,
    Device,
    FaultRule,
    Folder,
    FolderType,
    Item,
    NewItem,
    PlacedItems,
    Placement,
    SyncState,
    Tenant,
    User,
    WriteKey,
)

# Called after each committed change to a folder: (user id, folder id, new position).
ChangeListener = Callable[[int, str, int], Awaitable[None] | None]
# Called after each audit row is committed (metrics count access events from them).
AuditListener = Callable[[AuditEvent], Awaitable[None] | None]


class StoreError(Exception):
    """A store operation failed for a reason the caller can name to a client."""


class NotFound(StoreError):
    pass


class Conflict(StoreError):
    """The write clashes with the current state (duplicate address, stale version …)."""


class StoreBusy(StoreError):
    """No database connection came free in time (every one of the pool is in use): the
    request may be tried again shortly (the gateway answers HTTP 503 with Retry-After)."""


class Store(abc.ABC):
    # --- life cycle -------------------------------------------------------------------
    @abc.abstractmethod
    async def close(self) -> None: ...

    @abc.abstractmethod
    async def ping(self) -> bool:
        """True once the database answers (used by /healthz)."""

    def add_change_listener(self, listener: ChangeListener) -> None:
        """Subscribe to committed changes (the gateway's push hub does)."""
        self._listeners().append(listener)

    def _listeners(self) -> list[ChangeListener]:
        if not hasattr(self, "_change_listeners"):
            self._change_listeners: list[ChangeListener] = []
        return self._change_listeners

    def add_audit_listener(self, listener: AuditListener) -> None:
        """Subscribe to audit rows as they are committed."""
        self._audit_listeners().append(listener)

    def _audit_listeners(self) -> list[AuditListener]:
        if not hasattr(self, "_audit_listener_list"):
            self._audit_listener_list: list[AuditListener] = []
        return self._audit_listener_list

    def add_tenant_listener(self, listener: Callable[[], None]) -> None:
        """Subscribe to committed tenant changes (the other gateway processes must forget
        the tenants they remember: gateway/crossprocess.py tells them)."""
        self._tenant_listeners().append(listener)

    def _tenant_listeners(self) -> list[Callable[[], None]]:
        if not hasattr(self, "_tenant_listener_list"):
            self._tenant_listener_list: list[Callable[[], None]] = []
        return self._tenant_listener_list

    def forget_tenants(self) -> None:  # noqa: B027 - a store that remembers none has nothing to do
        """Drop the tenants this store remembers: another process changed one."""

    # --- tenants ----------------------------------------------------------------------
    @abc.abstractmethod
    async def get_tenant(self, domain: str) -> Tenant: ...  # NotFound

    @abc.abstractmethod
    async def list_tenants(self) -> list[Tenant]: ...

    @abc.abstractmethod
    async def put_tenant(self, tenant: Tenant) -> Tenant:
        """Create or replace a tenant's settings and rules (rules get ids when they have 0)."""

    # --- users ------------------------------------------------------------------------
    @abc.abstractmethod
    async def create_user(self, address: str, password: str | None, display_name: str) -> User:
        """Creates the user (its tenant must exist) with the standard folder set
        (Inbox, Drafts, Deleted Items, Sent Items, Outbox, Calendar, Contacts, Tasks, Notes).
        Conflict when the address exists. A password of None stores a hash that no password
        matches (proxy mode: the upstream server checks passwords)."""

    @abc.abstractmethod
    async def get_user(self, address: str) -> User: ...  # NotFound; case-insensitive

    @abc.abstractmethod
    async def get_user_by_id(self, user_id: int) -> User: ...

    @abc.abstractmethod
    async def authenticate(self, login: str, password: str) -> User | None:
        """``alice@contoso.com`` or ``CONTOSO\\alice``; None when unknown or wrong."""

    @abc.abstractmethod
    async def login_stamp(self, login: str) -> tuple[User, str] | None:
        """The user a login names and a stamp of its password, None when it names nobody.
        The stamp changes whenever the password does: a caller that remembers a password
        it verified can tell it still holds with this one read instead of hashing again."""

    @abc.abstractmethod
    async def list_users(self, tenant: str | None = None) -> list[User]: ...

    @abc.abstractmethod
    async def update_user(self, user_id: int, **fields: Any) -> User:
        """Fields: display_name, allowed_device_ids, blocked_device_ids, oof, password."""

    # --- folders ----------------------------------------------------------------------
    @abc.abstractmethod
    async def list_folders(self, user_id: int) -> list[Folder]: ...

    @abc.abstractmethod
    async def get_folder(self, user_id: int, folder_id: str) -> Folder: ...  # NotFound

    @abc.abstractmethod
    async def find_folder(self, user_id: int, folder_type: FolderType) -> Folder | None:
        """The first folder of a default type (Inbox, Sent Items …)."""

    @abc.abstractmethod
    async def create_folder(
        self, user_id: int, parent_id: str, name: str, folder_type: FolderType
    ) -> Folder: ...  # Conflict on a duplicate name under one parent

    @abc.abstractmethod
    async def update_folder(
        self, user_id: int, folder_id: str, *, name: str, parent_id: str
    ) -> Folder: ...

    @abc.abstractmethod
    async def delete_folder(self, user_id: int, folder_id: str) -> None:
        """Deletes the folder, its subfolders and their items."""

    # --- items ------------------------------------------------------------------------
    @abc.abstractmethod
    async def add_item(
        self, user_id: int, folder_id: str, item: NewItem, *, origin: int | None = None
    ) -> Item:
        """``origin`` is the device pk whose client made the write (so its own writes are
        not echoed back to it), None for server-side writes."""

    async def add_items_bulk(
        self, user_id: int, folder_id: str, items: Sequence[NewItem], *,
        origin: int | None = None,
    ) -> list[str]:
        """Add many items at once (fixtures, imports, benchmarks); returns their server ids
        in order. Same effect as `add_item` for each; implementations may do it in one
        transaction and notify listeners once."""
        return [
            (await self.add_item(user_id, folder_id, item, origin=origin)).server_id
            for item in items
        ]

    @abc.abstractmethod
    async def add_placed_items(
        self, placements: Sequence[Placement], *, once: WriteKey | None = None,
        origin: int | None = None,
    ) -> PlacedItems:
        """Add each item to its mailbox's folder, all in one transaction (a message to
        several mailboxes and its Sent Items copy arrive together or not at all). With
        ``once``, the key is stored in that same transaction; when it was stored before,
        nothing is written and the server ids then written are returned with
        ``first_time`` False. So a write asked for again — a client resending a request
        whose answer it lost, a transition re-run after the process died between its
        writes — is made once. Two writers of one key at once: one writes, the other
        gets the first one's ids."""

    @abc.abstractmethod
    async def forget_write_keys(self, device_pk: int, scope: str, *,
                                keeping: Collection[str]) -> None:
        """Forget the device's write keys of ``scope`` except those whose key (``prefix/…``)
        starts with one of the prefixes ``keeping``: a collection's Adds, keyed by the
        SyncKey they came with, once the client can no longer send those keys."""

    @abc.abstractmethod
    async def update_item(
        self, user_id: int, server_id: str, *, origin: int | None = None, **fields: Any
    ) -> Item:
        """Fields: data (merged key by key; a None value removes the key), body_text,
        body_html, mime, read, flagged, categories."""

    @abc.abstractmethod
    async def delete_item(self, user_id: int, server_id: str, *, origin: int | None = None) -> None:
        """Deletes the item and leaves a tombstone. NotFound when absent."""

    @abc.abstractmethod
    async def move_item(
        self, user_id: int, server_id: str, dest_folder_id: str, *, origin: int | None = None
    ) -> Item:
        """A move is a delete in the source (tombstone) and an add in the destination; the
        returned item carries its new server id."""

    @abc.abstractmethod
    async def get_item(self, user_id: int, server_id: str) -> Item: ...  # NotFound

    @abc.abstractmethod
    async def list_items(self, user_id: int, folder_id: str) -> list[Item]: ...

    @abc.abstractmethod
    async def get_attachment(self, user_id: int, file_reference: str) -> tuple[Item, bytes]:
        """The attachment's bytes and the item that holds it. NotFound when absent."""

    @abc.abstractmethod
    async def empty_folder(
        self, user_id: int, folder_id: str, *, include_subfolders: bool = False,
        origin: int | None = None,
    ) -> int: ...

    @abc.abstractmethod
    async def changes_since(
        self, user_id: int, folder_id: str, after: int, *, limit: int,
        exclude_origin: int | None = None,
    ) -> ChangePage:
        """Changes of a folder after position ``after``, oldest first, each item once with
        its newest state: ``add`` when created after ``after``, ``change`` when older,
        ``delete`` for tombstones of items that existed at ``after``. Writes whose latest
        origin is ``exclude_origin`` are left out (but the position still passes them).
        Cost follows the number of changes, not the folder size."""

    @abc.abstractmethod
    async def count_changes_since(
        self, user_id: int, folder_id: str, after: int, *, exclude_origin: int | None = None
    ) -> int: ...

    @abc.abstractmethod
    async def folder_position(self, user_id: int, folder_id: str) -> int:
        """The position of the folder's newest change (0 for none)."""

    @abc.abstractmethod
    async def search_items(
        self, user_id: int, query: str, *, folder_ids: Sequence[str] | None = None,
        item_class: str | None = None, offset: int = 0, limit: int = 100,
    ) -> tuple[list[Item], int]:
        """Items whose subject, body or sender contains ``query`` (case-insensitive), newest
        first, and the total count."""

    # --- devices ----------------------------------------------------------------------
    @abc.abstractmethod
    async def get_device(self, user_id: int, device_id: str) -> Device | None: ...

    @abc.abstractmethod
    async def get_device_by_pk(self, pk: int) -> Device: ...  # NotFound

    @abc.abstractmethod
    async def get_device_by_token(self, choice_token: str) -> Device | None: ...

    @abc.abstractmethod
    async def create_device(self, device: Device) -> Device:
        """Insert (id 0 is replaced by the new pk). Conflict when (user, DeviceId) exists."""

    @abc.abstractmethod
    async def update_device(self, pk: int, **fields: Any) -> Device:
        """Any Device field but id and user_id; ``extra`` is merged key by key."""

    @abc.abstractmethod
    async def list_devices(
        self, *, user: str | None = None, state: str | None = None, tenant: str | None = None
    ) -> list[Device]: ...

    @abc.abstractmethod
    async def count_devices_by_state(self) -> dict[str, int]:
        """How many devices are in each access state (states with none left out): counted
        by the database, not by reading every device."""

    @abc.abstractmethod
    async def due_devices(self, now: datetime) -> list[Device]:
        """Devices with a deadline at or before ``now``: ``pending`` whose notice_at has
        come, or ``quarantined`` whose quarantine_until has passed."""

    @abc.abstractmethod
    async def next_deadline(self) -> datetime | None:
        """The earliest notice_at / quarantine_until still ahead, for the scheduler."""

    # --- sync state -------------------------------------------------------------------
    @abc.abstractmethod
    async def get_sync_state(self, device_pk: int, collection_id: str) -> SyncState | None: ...

    async def get_folder_and_sync_state(
        self, user_id: int, device_pk: int, folder_id: str
    ) -> tuple[Folder, SyncState | None]:
        """A folder (NotFound when none) and the device's sync state of it: the first reads
        of every Sync of a collection, which an engine may make in one unit of work."""
        return await self.get_folder(user_id, folder_id), await self.get_sync_state(
            device_pk, folder_id)

    @abc.abstractmethod
    async def put_sync_state(self, state: SyncState) -> None: ...

    async def replace_sync_state(self, state: SyncState, previous: SyncState | None) -> None:
        """Store ``state`` only if the collection's stored state is still ``previous`` (None:
        still none); Conflict when another request of the device stored one first. Two
        requests of one device can run at once (a retried Sync on another process): the
        slower must not overwrite the other's state unseen. Implementations make the check
        and the write one step; this default is for stores that serve one request at a
        time."""
        if await self.get_sync_state(state.device_pk, state.collection_id) != previous:
            raise Conflict(f"the sync state of collection {state.collection_id!r} changed")
        await self.put_sync_state(state)

    @abc.abstractmethod
    async def delete_sync_states(self, device_pk: int, collection_id: str | None = None) -> None:
        """Forget one collection's state, or all of a device's (collection_id None)."""

    # --- audit log --------------------------------------------------------------------
    @abc.abstractmethod
    async def add_event(self, device_pk: int, at: datetime, kind: str, detail: dict) -> AuditEvent: ...

    @abc.abstractmethod
    async def list_events(self, device_pk: int) -> list[AuditEvent]: ...

    # --- clock ------------------------------------------------------------------------
    @abc.abstractmethod
    async def get_clock(self) -> ClockRow: ...

    @abc.abstractmethod
    async def put_clock(self, row: ClockRow) -> None: ...

    # --- fault injection rules (gateway/faults) ---------------------------------------
    @abc.abstractmethod
    async def list_fault_rules(self, *, active_only: bool = False) -> list[FaultRule]:
        """Oldest first; ``active_only`` leaves out retired rules."""

    @abc.abstractmethod
    async def add_fault_rule(self, rule: FaultRule) -> FaultRule:
        """Insert (the id of ``rule`` is ignored); returns the rule with its id."""

    @abc.abstractmethod
    async def delete_fault_rules(self, rule_id: int | None = None) -> int:
        """Delete one rule (NotFound when absent), or every rule (``rule_id`` None);
        returns how many went."""

    @abc.abstractmethod
    async def count_fault_match(self, rule_id: int) -> FaultRule | None:
        """One more request matched the rule: ``seen`` + 1. None when the rule is retired
        or gone."""

    @abc.abstractmethod
    async def count_fault_fired(self, rule_id: int, now: datetime) -> FaultRule | None:
        """Take one shot of the rule: ``fired`` + 1, retired at ``now`` when that was its
        last. None when it has none left (retired or gone): the fault is not injected."""

    # --- notification -----------------------------------------------------------------
    async def _notify(self, user_id: int, folder_id: str, position: int) -> None:
        for listener in list(self._listeners()):
            result = listener(user_id, folder_id, position)
            if result is not None:
                await result

    async def _notify_audit(self, event: AuditEvent) -> None:
        for listener in list(self._audit_listeners()):
            result = listener(event)
            if result is not None:
                await result
