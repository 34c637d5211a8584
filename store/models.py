"""The tables, as SQLAlchemy 2 typed declarative models.

These classes never leave `store/`: `store.convert` turns rows into the dataclasses of
`store.types`. The Alembic migrations under `store/migrations/versions/` create exactly this
schema (a test compares the two).

Positions: each user row carries ``modseq``, the mailbox's modification sequence. Every write
to an item takes the next number(s) of it (``store.changelog.allocate``), so positions are
unique per mailbox and the change log of a folder is an index range on (folder, modseq).
"""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Stable constraint names, so migrations can refer to them on every engine.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def as_utc(value: datetime | None) -> datetime | None:
    """Aware UTC; a naive value is taken as UTC."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every engine (SQLite keeps no zone: we add it back)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        value = as_utc(value)
        if value is not None and dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return as_utc(value)


JSONDoc = JSON().with_variant(JSONB(), "postgresql")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSONDoc, list[Any]: JSONDoc}


class TenantRow(Base):
    __tablename__ = "tenants"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    domain: Mapped[str] = mapped_column(String(255), unique=True)  # lower case
    mode: Mapped[str] = mapped_column(String(32), default="off")
    rollout_window_s: Mapped[int] = mapped_column(Integer, default=172800)
    quarantine_s: Mapped[int] = mapped_column(Integer, default=86400)
    enabled_at: Mapped[datetime | None]
    rollout_id: Mapped[int] = mapped_column(Integer, default=0)
    mdm_authority: Mapped[str | None] = mapped_column(String(64))
    org_default_access: Mapped[str] = mapped_column(String(16), default="allow")
    user_mail_insert: Mapped[str] = mapped_column(Text, default="")
    admin_mail_recipients: Mapped[list[Any]] = mapped_column(default=list)


class DeviceRuleRow(Base):
    __tablename__ = "device_rules"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    field: Mapped[str] = mapped_column(String(32))
    value: Mapped[str] = mapped_column(String(255))
    access: Mapped[str] = mapped_column(String(16))


class UserRow(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    address: Mapped[str] = mapped_column(String(320), unique=True)  # lower case
    display_name: Mapped[str] = mapped_column(String(255), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    allowed_device_ids: Mapped[list[Any]] = mapped_column(default=list)
    blocked_device_ids: Mapped[list[Any]] = mapped_column(default=list)
    oof: Mapped[dict[str, Any]] = mapped_column(default=dict)
    modseq: Mapped[int] = mapped_column(BigInteger, default=0)  # the mailbox's last position
    hierarchy_position: Mapped[int] = mapped_column(BigInteger, default=0)
    next_folder_no: Mapped[int] = mapped_column(Integer, default=11)


class FolderRow(Base):
    __tablename__ = "folders"
    __table_args__ = (UniqueConstraint("user_id", "folder_id", name="uq_folders_user_folder"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    folder_id: Mapped[str] = mapped_column(String(32))  # the EAS ServerId
    parent_id: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(255))
    type: Mapped[int] = mapped_column(Integer)
    item_class: Mapped[str] = mapped_column(String(16))
    position: Mapped[int] = mapped_column(BigInteger, default=0)  # modseq of its newest change
    next_item_no: Mapped[int] = mapped_column(BigInteger, default=1)


class ItemRow(Base):
    __tablename__ = "items"
    __table_args__ = (
        UniqueConstraint("user_id", "server_id", name="uq_items_user_server"),
        Index("ix_items_folder_modseq", "folder_pk", "modseq"),
        Index("ix_items_user_date", "user_id", "date"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    folder_pk: Mapped[int] = mapped_column(ForeignKey("folders.id", ondelete="CASCADE"))
    server_id: Mapped[str] = mapped_column(String(64))
    item_class: Mapped[str] = mapped_column(String(16))
    data: Mapped[dict[str, Any]]
    body_text: Mapped[str] = mapped_column(Text, default="")
    body_html: Mapped[str | None] = mapped_column(Text)
    mime: Mapped[bytes | None] = mapped_column(LargeBinary)
    read: Mapped[bool] = mapped_column(Boolean, default=False)
    flagged: Mapped[bool] = mapped_column(Boolean, default=False)
    categories: Mapped[list[Any]] = mapped_column(default=list)
    # Copies of data fields that queries need (search, newest-first ordering).
    subject: Mapped[str] = mapped_column(Text, default="")
    sender: Mapped[str] = mapped_column(Text, default="")
    date: Mapped[datetime | None]
    modseq: Mapped[int] = mapped_column(BigInteger)
    created_modseq: Mapped[int] = mapped_column(BigInteger)
    origin: Mapped[int | None] = mapped_column(Integer)  # device pk of the last write


class AttachmentRow(Base):
    __tablename__ = "attachments"
    __table_args__ = (
        UniqueConstraint("user_id", "file_reference", name="uq_attachments_user_ref"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), index=True)
    file_reference: Mapped[str] = mapped_column(String(128))
    name: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(Integer)
    content_id: Mapped[str | None] = mapped_column(String(255))
    is_inline: Mapped[bool] = mapped_column(Boolean, default=False)
    content: Mapped[bytes] = mapped_column(LargeBinary)


class TombstoneRow(Base):
    """What is left of a deleted (or moved-away) item, so that devices learn of it."""

    __tablename__ = "tombstones"
    __table_args__ = (Index("ix_tombstones_folder_modseq", "folder_pk", "modseq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    folder_pk: Mapped[int] = mapped_column(ForeignKey("folders.id", ondelete="CASCADE"))
    server_id: Mapped[str] = mapped_column(String(64))
    modseq: Mapped[int] = mapped_column(BigInteger)
    created_modseq: Mapped[int] = mapped_column(BigInteger)
    origin: Mapped[int | None] = mapped_column(Integer)


class DeviceRow(Base):
    __tablename__ = "devices"
    __table_args__ = (UniqueConstraint("user_id", "device_id", name="uq_devices_user_device"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    device_id: Mapped[str] = mapped_column(String(128))
    device_type: Mapped[str] = mapped_column(String(128))
    user_agent: Mapped[str] = mapped_column(String(512), default="")
    model: Mapped[str] = mapped_column(String(255), default="")
    os: Mapped[str] = mapped_column(String(255), default="")
    friendly_name: Mapped[str] = mapped_column(String(255), default="")
    app: Mapped[str] = mapped_column(String(16), default="third-party")
    protocol_version: Mapped[str] = mapped_column(String(8), default="")
    state: Mapped[str] = mapped_column(String(16), default="allowed", index=True)
    reason: Mapped[str] = mapped_column(String(64), default="")
    rule_id: Mapped[int | None] = mapped_column(Integer)
    notice_at: Mapped[datetime | None]
    quarantine_until: Mapped[datetime | None]
    choice: Mapped[str | None] = mapped_column(String(16))
    choice_token: Mapped[str | None] = mapped_column(String(128), unique=True)
    notice_server_id: Mapped[str | None] = mapped_column(String(64))
    prompted_rollout: Mapped[int | None] = mapped_column(Integer)
    policy_key: Mapped[str | None] = mapped_column(String(32))
    pending_policy_key: Mapped[str | None] = mapped_column(String(32))
    wipe: Mapped[str] = mapped_column(String(16), default="none")
    first_seen: Mapped[datetime | None]
    last_seen: Mapped[datetime | None]
    extra: Mapped[dict[str, Any]] = mapped_column(default=dict)


class SyncStateRow(Base):
    __tablename__ = "sync_states"

    device_pk: Mapped[int] = mapped_column(
        ForeignKey("devices.id", ondelete="CASCADE"), primary_key=True
    )
    collection_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    sync_key: Mapped[int] = mapped_column(BigInteger)
    position: Mapped[int] = mapped_column(BigInteger)
    prev_sync_key: Mapped[int | None] = mapped_column(BigInteger)
    prev_position: Mapped[int | None] = mapped_column(BigInteger)
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    prev_data: Mapped[dict[str, Any]] = mapped_column(default=dict)


class WriteKeyRow(Base):
    """A write made once (store.types.WriteKey), with the server ids it made."""

    __tablename__ = "write_keys"

    device_pk: Mapped[int] = mapped_column(
        ForeignKey("devices.id", ondelete="CASCADE"), primary_key=True
    )
    scope: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    server_ids: Mapped[list[Any]] = mapped_column(default=list)


class AuditRow(Base):
    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    device_pk: Mapped[int] = mapped_column(
        ForeignKey("devices.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime]
    kind: Mapped[str] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)


class ClockDbRow(Base):
    """The deployment's one clock (SPEC §6): a single row with id 1."""

    __tablename__ = "clock"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    mode: Mapped[str] = mapped_column(String(8), default="real")
    offset_s: Mapped[float] = mapped_column(Float, default=0.0)
    frozen_at: Mapped[datetime | None]


class FaultRuleRow(Base):
    """A fault injection rule (store.types.FaultRule); match fields are kept lower-case."""

    __tablename__ = "fault_rules"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_address: Mapped[str | None] = mapped_column(String(320))
    device_id: Mapped[str | None] = mapped_column(String(128))
    device_type: Mapped[str | None] = mapped_column(String(128))
    command: Mapped[str | None] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(16))
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    after: Mapped[int] = mapped_column(Integer, default=0)
    count: Mapped[int | None] = mapped_column(Integer)
    probability: Mapped[float] = mapped_column(Float, default=1.0)
    seed: Mapped[int] = mapped_column(BigInteger, default=0)
    starts_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]
    note: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[datetime | None]
    seen: Mapped[int] = mapped_column(BigInteger, default=0)
    fired: Mapped[int] = mapped_column(BigInteger, default=0)
    retired_at: Mapped[datetime | None]
