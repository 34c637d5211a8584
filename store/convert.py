"""Rows to the dataclasses of `store.types`, and item data to the columns queries need."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import fields
from datetime import UTC, datetime
from typing import Any

from store.models import (
    AttachmentRow,
    AuditRow,
    DeviceRow,
    DeviceRuleRow,
    FolderRow,
    ItemRow,
    SyncStateRow,
    TenantRow,
    UserRow,
    as_utc,
)
from store.types import (
    Attachment,
    AuditEvent,
    Device,
    DeviceRule,
    Folder,
    FolderType,
    Item,
    ItemClass,
    SyncState,
    Tenant,
    User,
)

DEVICE_FIELDS = frozenset(f.name for f in fields(Device)) - {"id", "user_id", "user_address"}

# Which data field supplies the subject/date columns, per item class.
_SUBJECT_FIELD = {"Email": "Subject", "Calendar": "Subject", "Tasks": "Subject",
                  "Notes": "Subject", "Contacts": "FileAs"}
_DATE_FIELD = {"Email": "DateReceived", "Calendar": "StartTime", "Tasks": "DueDate",
               "Notes": "LastModifiedDate"}


def folder_item_class(folder_type: FolderType) -> ItemClass:
    """The class of items a folder of this type holds."""
    if folder_type in (FolderType.CALENDAR, FolderType.USER_CALENDAR):
        return "Calendar"
    if folder_type in (FolderType.CONTACTS, FolderType.USER_CONTACTS):
        return "Contacts"
    if folder_type in (FolderType.TASKS, FolderType.USER_TASKS):
        return "Tasks"
    if folder_type in (FolderType.NOTES, FolderType.USER_NOTES):
        return "Notes"
    return "Email"


def parse_eas_datetime(value: Any) -> datetime | None:
    """An EAS date (``2026-11-20T09:15:00.000Z``, or the compact ``20261120T091500Z``
    that calendar fields use) as an aware UTC datetime; None when it is not one."""
    if not isinstance(value, str) or not value:
        return None
    for candidate in (value.replace("Z", "+00:00"), value):
        try:
            parsed = datetime.fromisoformat(candidate)
        except ValueError:
            continue
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    return None


def search_columns(item_class: str, data: dict[str, Any]) -> dict[str, Any]:
    """The typed copies of data fields kept for search and ordering."""
    subject = data.get(_SUBJECT_FIELD.get(item_class, "Subject")) or ""
    sender = data.get("From") or data.get("OrganizerEmail") or ""
    date = parse_eas_datetime(data.get(_DATE_FIELD.get(item_class, "")))
    return {"subject": str(subject), "sender": str(sender), "date": date}


def tenant(row: TenantRow, rules: Iterable[DeviceRuleRow]) -> Tenant:
    return Tenant(
        domain=row.domain,
        mode=row.mode,  # type: ignore[arg-type]
        rollout_window_s=row.rollout_window_s,
        quarantine_s=row.quarantine_s,
        enabled_at=as_utc(row.enabled_at),
        rollout_id=row.rollout_id,
        mdm_authority=row.mdm_authority,
        org_default_access=row.org_default_access,  # type: ignore[arg-type]
        device_rules=tuple(
            DeviceRule(id=r.id, field=r.field, value=r.value, access=r.access)  # type: ignore[arg-type]
            for r in sorted(rules, key=lambda r: r.id)
        ),
        user_mail_insert=row.user_mail_insert,
        admin_mail_recipients=tuple(row.admin_mail_recipients),
    )


def user(row: UserRow, domain: str) -> User:
    return User(
        id=row.id,
        address=row.address,
        display_name=row.display_name,
        tenant=domain,
        allowed_device_ids=tuple(row.allowed_device_ids),
        blocked_device_ids=tuple(row.blocked_device_ids),
        oof=dict(row.oof),
    )


def folder(row: FolderRow) -> Folder:
    return Folder(
        id=row.folder_id,
        user_id=row.user_id,
        parent_id=row.parent_id,
        name=row.name,
        type=FolderType(row.type),
        item_class=row.item_class,  # type: ignore[arg-type]
    )


def attachment(row: AttachmentRow) -> Attachment:
    return Attachment(
        file_reference=row.file_reference,
        name=row.name,
        content_type=row.content_type,
        size=row.size,
        content_id=row.content_id,
        is_inline=row.is_inline,
    )


def item(row: ItemRow, folder_id: str, attachments: Iterable[Attachment] = ()) -> Item:
    return Item(
        server_id=row.server_id,
        folder_id=folder_id,
        item_class=row.item_class,  # type: ignore[arg-type]
        data=dict(row.data),
        body_text=row.body_text,
        body_html=row.body_html,
        mime=row.mime,
        read=row.read,
        flagged=row.flagged,
        categories=tuple(row.categories),
        attachments=tuple(attachments),
        modseq=row.modseq,
        created_modseq=row.created_modseq,
        origin=row.origin,
    )


def device(row: DeviceRow, user_address: str) -> Device:
    values = {name: getattr(row, name) for name in DEVICE_FIELDS}
    values["extra"] = dict(row.extra)
    for name in ("notice_at", "quarantine_until", "first_seen", "last_seen"):
        values[name] = as_utc(values[name])
    return Device(id=row.id, user_id=row.user_id, user_address=user_address, **values)


def sync_state(row: SyncStateRow) -> SyncState:
    return SyncState(
        device_pk=row.device_pk,
        collection_id=row.collection_id,
        sync_key=row.sync_key,
        position=row.position,
        prev_sync_key=row.prev_sync_key,
        prev_position=row.prev_position,
        data=dict(row.data),
        prev_data=dict(row.prev_data),
    )


def sync_state_values(state: SyncState) -> dict[str, Any]:
    """The columns of a sync state's row but its key (device_pk, collection_id)."""
    return {"sync_key": state.sync_key, "position": state.position,
            "prev_sync_key": state.prev_sync_key, "prev_position": state.prev_position,
            "data": dict(state.data), "prev_data": dict(state.prev_data)}


def audit_event(row: AuditRow) -> AuditEvent:
    return AuditEvent(
        id=row.id, device_pk=row.device_pk, at=as_utc(row.at), kind=row.kind, detail=dict(row.detail)
    )
