"""Plain value types the store hands to the gateway (no SQLAlchemy object leaves `store/`)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import IntEnum
from typing import Any, Literal


class FolderType(IntEnum):
    """EAS folder types (MS-ASCMD 2.2.3.186.3)."""

    USER_GENERIC = 1
    INBOX = 2
    DRAFTS = 3
    DELETED_ITEMS = 4
    SENT_ITEMS = 5
    OUTBOX = 6
    TASKS = 7
    CALENDAR = 8
    CONTACTS = 9
    NOTES = 10
    JOURNAL = 11
    USER_MAIL = 12
    USER_CALENDAR = 13
    USER_CONTACTS = 14
    USER_TASKS = 15
    USER_JOURNAL = 16
    USER_NOTES = 17
    UNKNOWN = 18
    RECIPIENT_INFO_CACHE = 19


ItemClass = Literal["Email", "Calendar", "Contacts", "Tasks", "Notes"]
AccessLevel = Literal["allow", "block", "quarantine"]


@dataclass(frozen=True)
class DeviceRule:
    """An EAC-style device access rule: one field matched exactly, case-insensitively."""

    id: int
    field: Literal["UserAgent", "DeviceType", "DeviceModel", "DeviceOS"]
    value: str
    access: AccessLevel


@dataclass(frozen=True)
class Tenant:
    domain: str
    mode: Literal["off", "outlook-only", "recommend-all", "prompt-new-once"] = "off"
    rollout_window_s: int = 172800
    quarantine_s: int = 86400
    enabled_at: datetime | None = None
    rollout_id: int = 0
    mdm_authority: str | None = None  # "intune" makes the setting unavailable
    org_default_access: AccessLevel = "allow"
    device_rules: tuple[DeviceRule, ...] = ()
    user_mail_insert: str = ""
    admin_mail_recipients: tuple[str, ...] = ()


@dataclass(frozen=True)
class User:
    id: int
    address: str
    display_name: str
    tenant: str  # the tenant's domain
    # Individual EAC lists (SPEC §5 step 1).
    allowed_device_ids: tuple[str, ...] = ()
    blocked_device_ids: tuple[str, ...] = ()
    oof: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Folder:
    id: str  # the EAS ServerId of the folder
    user_id: int
    parent_id: str  # "0" for the root
    name: str
    type: FolderType
    item_class: ItemClass


@dataclass(frozen=True)
class Attachment:
    file_reference: str  # unique within the mailbox, used by ItemOperations Fetch
    name: str
    content_type: str
    size: int
    content_id: str | None = None
    is_inline: bool = False


@dataclass(frozen=True)
class Item:
    """One mailbox item. ``data`` holds the class's EAS fields by MS-ASWBXML tag name
    (e.g. ``{"Subject": …, "From": …, "DateReceived": …}`` for Email; ``Recurrence``,
    ``Attendees``, ``Exceptions`` as nested JSON for Calendar)."""

    server_id: str  # "<folder id>:<n>"
    folder_id: str
    item_class: ItemClass
    data: dict[str, Any]
    body_text: str = ""
    body_html: str | None = None
    mime: bytes | None = None
    read: bool = False
    flagged: bool = False
    categories: tuple[str, ...] = ()
    attachments: tuple[Attachment, ...] = ()
    modseq: int = 0  # position of the last write
    created_modseq: int = 0  # position of the write that created it
    origin: int | None = None  # device pk whose client made the last write, None for the server


@dataclass(frozen=True)
class NewItem:
    """What a caller gives to add an item; the store assigns ids and positions."""

    item_class: ItemClass
    data: dict[str, Any]
    body_text: str = ""
    body_html: str | None = None
    mime: bytes | None = None
    read: bool = False
    flagged: bool = False
    categories: tuple[str, ...] = ()
    attachments: tuple[tuple[Attachment, bytes], ...] = ()  # file_reference may be ""


@dataclass(frozen=True)
class Placement:
    """A new item and the mailbox folder it goes to."""

    user_id: int
    folder_id: str
    item: NewItem


@dataclass(frozen=True)
class WriteKey:
    """Names a write that must be made once however often it is asked for: a client's Sync
    Add (its device, the collection, the request's SyncKey and the ClientId), a submitted
    message (the device, ``"ComposeMail"``, the ClientId), a mail of an access transition
    (the device, ``"lifecycle"``, the transition's number and the mail's role)."""

    device_pk: int
    scope: str
    key: str


@dataclass(frozen=True)
class PlacedItems:
    """What `Store.add_placed_items` did: the server ids of the items, in the order they
    were given, and whether they were written now (False: an earlier write under the same
    `WriteKey` made them, and nothing was written this time)."""

    server_ids: tuple[str, ...]
    first_time: bool


@dataclass(frozen=True)
class Change:
    kind: Literal["add", "change", "delete"]
    server_id: str
    modseq: int
    item: Item | None  # None for deletes


@dataclass(frozen=True)
class ChangePage:
    changes: list[Change]
    position: int  # pass this back as ``after`` to continue
    more_available: bool


DeviceState = Literal["allowed", "pending", "quarantined", "blocked", "wipe-pending", "wiped"]


@dataclass(frozen=True)
class Device:
    """One partnership of a user and an app install (SPEC §1)."""

    id: int
    user_id: int
    user_address: str
    device_id: str
    device_type: str
    user_agent: str = ""
    model: str = ""
    os: str = ""
    friendly_name: str = ""
    app: Literal["outlook", "third-party"] = "third-party"
    protocol_version: str = ""
    state: DeviceState = "allowed"
    reason: str = ""
    rule_id: int | None = None
    notice_at: datetime | None = None
    quarantine_until: datetime | None = None
    choice: Literal["keep", "outlook"] | None = None
    choice_token: str | None = None
    notice_server_id: str | None = None
    prompted_rollout: int | None = None  # rollout id of the last prompt, None = never prompted
    policy_key: str | None = None  # the key of the last acknowledged Provision
    pending_policy_key: str | None = None  # issued in phase one, not yet acknowledged
    wipe: Literal["none", "pending", "account-pending", "wiped"] = "none"
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SyncState:
    """What a SyncKey stands for. ``collection_id`` is a folder id, or ``""`` for the
    folder hierarchy (FolderSync). The previous key is kept so that a client resending
    its last request gets the same answer (MS-ASCMD 3.1.5.3)."""

    device_pk: int
    collection_id: str
    sync_key: int
    position: int
    prev_sync_key: int | None = None
    prev_position: int | None = None
    data: dict[str, Any] = field(default_factory=dict)  # gateway-owned extras (e.g. held ids)
    prev_data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AuditEvent:
    id: int
    device_pk: int
    at: datetime
    kind: str
    detail: dict[str, Any]


@dataclass(frozen=True)
class ClockRow:
    mode: Literal["real", "manual"]
    offset_s: float  # real mode: now = wall time + offset
    frozen_at: datetime | None  # manual mode: now = frozen_at


@dataclass(frozen=True)
class FaultRule:
    """A fault injection rule (gateway/faults): which requests it matches (each match field
    None for any, else compared case-insensitively), the action and its parameters, and
    when it fires. ``seen`` and ``fired`` count matching requests and injected faults across
    every worker; a rule whose ``count`` is used up is retired (``retired_at``)."""

    id: int
    action: str
    params: dict[str, Any] = field(default_factory=dict)
    user: str | None = None
    device_id: str | None = None
    device_type: str | None = None
    command: str | None = None
    after: int = 0
    count: int | None = None
    probability: float = 1.0
    seed: int = 0
    starts_at: datetime | None = None
    expires_at: datetime | None = None
    note: str = ""
    created_at: datetime | None = None
    seen: int = 0
    fired: int = 0
    retired_at: datetime | None = None
