"""`SqlStore`: the `Store` interface on SQLAlchemy 2 async, over SQLite or PostgreSQL.

Each public method is one unit of work: one session, one transaction, committed before the
method returns (and before change listeners are called). Writes to a mailbox are ordered by
`store.changelog.allocate`; on SQLite an in-process lock also keeps this process's writers
from queueing on the database file's lock. On a SQLite file, the statements every Sync
makes skip SQLAlchemy's execution machinery (store/sqlite_direct.py), and the WAL is
checkpointed off the event loop (store/checkpoint.py).
"""
from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import sqlite3
from collections.abc import AsyncIterator, Collection, Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, delete, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import DBAPIError, IntegrityError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from store import convert, fault_rules, queries
from store.api import Conflict, NotFound, Store, StoreBusy, StoreError
from store.changelog import allocate, change_page, count_log, lock_mailbox, read_log
from store.checkpoint import WalCheckpointer
from store.engine import WRITE_OPTION, connect_sqlite, is_sqlite, sqlite_file
from store.models import (
    AttachmentRow,
    AuditRow,
    ClockDbRow,
    DeviceRow,
    DeviceRuleRow,
    FolderRow,
    ItemRow,
    SyncStateRow,
    TenantRow,
    TombstoneRow,
    UserRow,
    WriteKeyRow,
    as_utc,
)
from store.passwords import (
    UNUSABLE_HASH,
    dummy_hash,
    hash_password_async,
    verify_password_async,
)
from store.sqlite_direct import SqliteDirect
from store.types import (
    Attachment,
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

ROOT_FOLDER_ID = "0"
HIERARCHY = ""  # the collection id of the folder hierarchy (as in SyncState)
# The standard folder set every mailbox gets; a default folder's id is its type number.
DEFAULT_FOLDERS: tuple[tuple[FolderType, str], ...] = (
    (FolderType.INBOX, "Inbox"),
    (FolderType.DRAFTS, "Drafts"),
    (FolderType.DELETED_ITEMS, "Deleted Items"),
    (FolderType.SENT_ITEMS, "Sent Items"),
    (FolderType.OUTBOX, "Outbox"),
    (FolderType.TASKS, "Tasks"),
    (FolderType.CALENDAR, "Calendar"),
    (FolderType.CONTACTS, "Contacts"),
    (FolderType.NOTES, "Notes"),
)
_DEFAULT_TYPES = frozenset(t for t, _ in DEFAULT_FOLDERS)
_USER_FIELDS = frozenset({"display_name", "allowed_device_ids", "blocked_device_ids", "oof",
                          "password"})
_ITEM_FIELDS = frozenset({"data", "body_text", "body_html", "mime", "read", "flagged",
                          "categories"})
_BULK_CHUNK = 5000
MAX_ROW_ID = 2**63 - 1  # ids are 64-bit: a larger one names no row (and SQLite would overflow)


class SqlStore(Store):
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)
        self._write_lock: asyncio.Lock | None = asyncio.Lock() if is_sqlite(engine) else None
        # get_tenant's answers: the access check reads the tenant on every request, and a
        # tenant changes only by put_tenant (here, or in another process: forget_tenants).
        self._tenants: dict[str, Tenant] = {}
        self._tenants_forgotten = 0  # a read begun before the last forgetting is not kept
        self._direct: SqliteDirect | None = None
        self._checkpointer: WalCheckpointer | None = None
        if sqlite_file(engine):
            self._direct = SqliteDirect(functools.partial(connect_sqlite, engine))
            self._checkpointer = WalCheckpointer(functools.partial(connect_sqlite, engine),
                                                 writers=self._write_lock)
            self._checkpointer.start()

    # --- units of work ----------------------------------------------------------------
    @contextlib.asynccontextmanager
    async def _read(self) -> AsyncIterator[AsyncSession]:
        with _translate_errors():
            async with self._sessions() as session, session.begin():
                yield session

    @contextlib.asynccontextmanager
    async def _snapshot(self) -> AsyncIterator[AsyncSession]:
        """A read whose statements all see one snapshot. PostgreSQL's default (READ
        COMMITTED) gives each statement its own: a change log read in two statements could
        then pair a folder's position with items committed after it (delivered twice) or
        skip one committed between them. A SQLite read transaction is one snapshot already."""
        if is_sqlite(self.engine):
            async with self._read() as session:
                yield session
            return
        with _translate_errors():
            async with self._sessions() as session, session.begin():
                await session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
                yield session

    @contextlib.asynccontextmanager
    async def _fetch(self) -> AsyncIterator[AsyncConnection]:
        """A read of Core statements only (store/queries.py) on a bare connection: the hot
        reads skip the ORM session's own cost too. Nothing is written, so nothing is
        committed: the pool rolls the connection back as it takes it back. On PostgreSQL
        no transaction is begun at all: under READ COMMITTED each statement takes its own
        snapshot inside a transaction too, so BEGIN and ROLLBACK would buy nothing but two
        round trips (a read that needs one snapshot uses `_fetch_snapshot`)."""
        async with self._bare_read("AUTOCOMMIT") as connection:
            yield connection

    @contextlib.asynccontextmanager
    async def _fetch_snapshot(self) -> AsyncIterator[AsyncConnection]:
        """`_fetch` seeing one snapshot (see `_snapshot`)."""
        async with self._bare_read("REPEATABLE READ") as connection:
            yield connection

    @contextlib.asynccontextmanager
    async def _bare_read(self, postgres_isolation: str) -> AsyncIterator[AsyncConnection]:
        """A pooled connection for reads, at ``postgres_isolation`` on PostgreSQL (a SQLite
        read transaction is one snapshot as it is)."""
        with _translate_errors():
            async with self.engine.connect() as connection:
                if not is_sqlite(self.engine):
                    await connection.execution_options(isolation_level=postgres_isolation)
                yield connection

    @contextlib.asynccontextmanager
    async def _write(self) -> AsyncIterator[AsyncSession]:
        lock = self._write_lock or contextlib.nullcontext()
        with _translate_errors():
            async with lock, self._sessions() as session, session.begin():
                await session.connection(execution_options={WRITE_OPTION: True})
                yield session

    @contextlib.asynccontextmanager
    async def _write_core(self) -> AsyncIterator[AsyncConnection]:
        """`_write` on a bare connection, for Core statements only (store/queries.py): the
        hot write skips the ORM session's identity map and flush."""
        lock = self._write_lock or contextlib.nullcontext()
        with _translate_errors():
            async with lock, self.engine.connect() as connection:
                await connection.execution_options(**{WRITE_OPTION: True})
                async with connection.begin():
                    yield connection

    # --- life cycle -------------------------------------------------------------------
    async def close(self) -> None:
        if self._checkpointer is not None:
            await self._checkpointer.stop()
        if self._direct is not None:
            self._direct.close()
        await self.engine.dispose()

    async def ping(self) -> bool:
        try:
            async with self._read() as s:
                await s.execute(select(1))
        except StoreError:
            return False
        return True

    # --- tenants ----------------------------------------------------------------------
    async def get_tenant(self, domain: str) -> Tenant:
        remembered = self._tenants.get(domain.lower())
        if remembered is not None:
            return remembered
        forgotten = self._tenants_forgotten
        async with self._read() as s:
            row = await _tenant_row(s, domain)
            tenant = convert.tenant(row, await _rules(s, row.id))
        if forgotten == self._tenants_forgotten:
            self._tenants[tenant.domain] = tenant
        return tenant

    def forget_tenants(self) -> None:
        self._tenants.clear()
        self._tenants_forgotten += 1

    async def list_tenants(self) -> list[Tenant]:
        async with self._read() as s:
            rows = (await s.scalars(select(TenantRow).order_by(TenantRow.domain))).all()
            return [convert.tenant(row, await _rules(s, row.id)) for row in rows]

    async def put_tenant(self, tenant: Tenant) -> Tenant:
        async with self._write() as s:
            domain = tenant.domain.lower()
            row = await s.scalar(select(TenantRow).where(TenantRow.domain == domain))
            if row is None:
                row = TenantRow(domain=domain)
                s.add(row)
            row.mode = tenant.mode
            row.rollout_window_s = tenant.rollout_window_s
            row.quarantine_s = tenant.quarantine_s
            row.enabled_at = tenant.enabled_at
            row.rollout_id = tenant.rollout_id
            row.mdm_authority = tenant.mdm_authority
            row.org_default_access = tenant.org_default_access
            row.user_mail_insert = tenant.user_mail_insert
            row.admin_mail_recipients = list(tenant.admin_mail_recipients)
            await s.flush()
            await _replace_rules(s, row.id, tenant)
            stored = convert.tenant(row, await _rules(s, row.id))
        self.forget_tenants()
        for listener in list(self._tenant_listeners()):
            listener()
        return stored

    # --- users ------------------------------------------------------------------------
    async def create_user(self, address: str, password: str | None, display_name: str) -> User:
        address = _check_address(address)
        password_hash = (await hash_password_async(password)  # before the transaction: slow
                         if password is not None else UNUSABLE_HASH)
        async with self._write() as s:
            tenant = await _tenant_row(s, address.partition("@")[2])
            if await s.scalar(select(UserRow.id).where(UserRow.address == address)):
                raise Conflict(f"user {address} exists")
            row = UserRow(tenant_id=tenant.id, address=address, display_name=display_name,
                          password_hash=password_hash, allowed_device_ids=[],
                          blocked_device_ids=[], oof={}, modseq=0, hierarchy_position=0,
                          next_folder_no=11)
            s.add(row)
            await s.flush()
            s.add_all(
                FolderRow(user_id=row.id, folder_id=str(int(ftype)), parent_id=ROOT_FOLDER_ID,
                          name=name, type=int(ftype), item_class=convert.folder_item_class(ftype),
                          position=0, next_item_no=1)
                for ftype, name in DEFAULT_FOLDERS
            )
            return convert.user(row, tenant.domain)

    async def get_user(self, address: str) -> User:
        async with self._read() as s:
            row = await s.scalar(select(UserRow).where(UserRow.address == address.lower()))
            if row is None:
                raise NotFound(f"no user {address}")
            return await _user(s, row)

    async def get_user_by_id(self, user_id: int) -> User:
        async with self._read() as s:
            return await _user(s, await _user_row(s, user_id))

    async def authenticate(self, login: str, password: str) -> User | None:
        async with self._read() as s:
            address = await _resolve_login(s, login)
            row = None
            if address is not None:
                row = await s.scalar(select(UserRow).where(UserRow.address == address))
            user = await _user(s, row) if row is not None else None
        stored = row.password_hash if row is not None else dummy_hash()
        if await verify_password_async(password, stored) and user is not None:
            return user
        return None

    async def login_stamp(self, login: str) -> tuple[User, str] | None:
        async with self._read() as s:
            address = await _resolve_login(s, login)
            if address is None:
                return None
            row = await s.scalar(select(UserRow).where(UserRow.address == address))
            if row is None:
                return None
            stamp = hashlib.sha256(row.password_hash.encode("ascii")).hexdigest()
            return await _user(s, row), stamp

    async def list_users(self, tenant: str | None = None) -> list[User]:
        async with self._read() as s:
            query = select(UserRow, TenantRow.domain).join(TenantRow).order_by(UserRow.address)
            if tenant is not None:
                query = query.where(TenantRow.domain == tenant.lower())
            return [convert.user(row, domain) for row, domain in (await s.execute(query)).all()]

    async def update_user(self, user_id: int, **fields: Any) -> User:
        _check_fields(fields, _USER_FIELDS, "user")
        if "password" in fields:
            fields["password_hash"] = await hash_password_async(fields.pop("password"))
        async with self._write() as s:
            row = await _user_row(s, user_id)
            for name, value in fields.items():
                if name in ("allowed_device_ids", "blocked_device_ids"):
                    value = list(value)
                setattr(row, name, value)
            return await _user(s, row)

    # --- folders ----------------------------------------------------------------------
    async def list_folders(self, user_id: int) -> list[Folder]:
        if self._direct is not None:
            with _translate_errors():
                return self._direct.folders(user_id)
        parameters = {"user_id": user_id}
        async with self._fetch_snapshot() as s:
            if (await s.execute(queries.USER_EXISTS, parameters)).first() is None:
                raise NotFound(f"no user with id {user_id}")
            rows = (await s.execute(queries.FOLDERS, parameters)).all()
            return [convert.folder(row) for row in rows]

    async def get_folder(self, user_id: int, folder_id: str) -> Folder:
        if self._direct is not None:
            with _translate_errors():
                return self._direct.folder(user_id, folder_id)
        async with self._fetch() as s:
            return convert.folder(await _folder(s, user_id, folder_id))

    async def find_folder(self, user_id: int, folder_type: FolderType) -> Folder | None:
        async with self._read() as s:
            row = await s.scalar(
                select(FolderRow)
                .where(FolderRow.user_id == user_id, FolderRow.type == int(folder_type))
                .order_by(FolderRow.id)
                .limit(1)
            )
            return convert.folder(row) if row is not None else None

    async def create_folder(
        self, user_id: int, parent_id: str, name: str, folder_type: FolderType
    ) -> Folder:
        async with self._write() as s:
            position = await allocate(s, user_id)
            user = await _user_row(s, user_id)
            await _check_folder_place(s, user_id, parent_id, name, moving=None)
            folder_type = FolderType(folder_type)
            row = FolderRow(user_id=user_id, folder_id=str(user.next_folder_no),
                            parent_id=parent_id, name=name, type=int(folder_type),
                            item_class=convert.folder_item_class(folder_type),
                            position=0, next_item_no=1)
            user.next_folder_no += 1
            user.hierarchy_position = position
            s.add(row)
            await s.flush()
            result = convert.folder(row)
        await self._notify(user_id, HIERARCHY, position)
        return result

    async def update_folder(
        self, user_id: int, folder_id: str, *, name: str, parent_id: str
    ) -> Folder:
        async with self._write() as s:
            position = await allocate(s, user_id)
            row = await _folder_row(s, user_id, folder_id)
            if row.type in _DEFAULT_TYPES:
                raise Conflict(f"folder {folder_id} is a default folder")
            await _check_folder_place(s, user_id, parent_id, name, moving=row)
            row.name, row.parent_id = name, parent_id
            (await _user_row(s, user_id)).hierarchy_position = position
            result = convert.folder(row)
        await self._notify(user_id, HIERARCHY, position)
        return result

    async def delete_folder(self, user_id: int, folder_id: str) -> None:
        """As `Store.delete_folder`; Conflict for a default folder (Inbox, Calendar …)."""
        async with self._write() as s:
            position = await allocate(s, user_id)
            row = await _folder_row(s, user_id, folder_id)
            if row.type in _DEFAULT_TYPES:
                raise Conflict(f"folder {folder_id} is a default folder")
            await _delete_folders(s, user_id, await _subtree(s, user_id, row))
            (await _user_row(s, user_id)).hierarchy_position = position
        await self._notify(user_id, HIERARCHY, position)

    # --- items ------------------------------------------------------------------------
    async def add_item(
        self, user_id: int, folder_id: str, item: NewItem, *, origin: int | None = None
    ) -> Item:
        async with self._write() as s:
            position = await allocate(s, user_id)
            folder = await _folder_row(s, user_id, folder_id)
            row = _new_item_row(folder, item, position, origin)
            s.add(row)
            await s.flush()
            attachments = await _add_attachments(s, row, item.attachments)
            folder.position = position
            result = convert.item(row, folder_id, attachments)
        await self._notify(user_id, folder_id, position)
        return result

    async def add_items_bulk(
        self, user_id: int, folder_id: str, items: Sequence[NewItem], *,
        origin: int | None = None,
    ) -> list[str]:
        """Add many items in one transaction (fixtures, benchmarks, imports); returns their
        server ids in order. Same result as calling `add_item` for each, much faster."""
        if not items:
            return []
        async with self._write() as s:
            first = await allocate(s, user_id, len(items))
            folder = await _folder_row(s, user_id, folder_id)
            rows = [_item_values(folder, item, first + i, origin) for i, item in enumerate(items)]
            folder.position = first + len(items) - 1
            await s.flush()
            for start in range(0, len(rows), _BULK_CHUNK):
                await s.execute(insert(ItemRow), rows[start : start + _BULK_CHUNK])
            with_attachments = [(r["server_id"], i.attachments) for r, i in zip(rows, items, strict=True)
                                if i.attachments]
            await _add_bulk_attachments(s, user_id, with_attachments)
        await self._notify(user_id, folder_id, first + len(items) - 1)
        return [r["server_id"] for r in rows]

    async def add_placed_items(
        self, placements: Sequence[Placement], *, once: WriteKey | None = None,
        origin: int | None = None,
    ) -> PlacedItems:
        async with self._write() as s:
            if once is not None:
                earlier = await _claim(s, once, sqlite=is_sqlite(self.engine))
                if earlier is not None:
                    return PlacedItems(tuple(earlier), first_time=False)
            server_ids, positions = await _place(s, placements, origin)
            if once is not None:
                await s.execute(update(WriteKeyRow).where(*_write_key_is(once))
                                .values(server_ids=server_ids))
        for (user_id, folder_id), position in positions.items():
            await self._notify(user_id, folder_id, position)
        return PlacedItems(tuple(server_ids), first_time=True)

    async def forget_write_keys(self, device_pk: int, scope: str, *,
                                keeping: Collection[str]) -> None:
        async with self._write() as s:
            await s.execute(delete(WriteKeyRow).where(
                WriteKeyRow.device_pk == device_pk, WriteKeyRow.scope == scope,
                *(~WriteKeyRow.key.startswith(f"{prefix}/", autoescape=True)
                  for prefix in keeping)))

    async def update_item(
        self, user_id: int, server_id: str, *, origin: int | None = None, **fields: Any
    ) -> Item:
        _check_fields(fields, _ITEM_FIELDS, "item")
        async with self._write() as s:
            position = await allocate(s, user_id)
            row, folder = await _item_and_folder(s, user_id, server_id)
            _apply_item_fields(row, fields)
            row.modseq, row.origin = position, origin
            folder.position = position
            result = convert.item(row, folder.folder_id, await _attachments_of(s, [row.id]))
        await self._notify(user_id, folder.folder_id, position)
        return result

    async def delete_item(self, user_id: int, server_id: str, *, origin: int | None = None) -> None:
        async with self._write() as s:
            position = await allocate(s, user_id)
            row, folder = await _item_and_folder(s, user_id, server_id)
            s.add(_tombstone(row, position, origin))
            await s.execute(delete(ItemRow).where(ItemRow.id == row.id))
            folder.position = position
        await self._notify(user_id, folder.folder_id, position)

    async def move_item(
        self, user_id: int, server_id: str, dest_folder_id: str, *, origin: int | None = None
    ) -> Item:
        async with self._write() as s:
            gone = await allocate(s, user_id, 2)
            arrived = gone + 1
            row, source = await _item_and_folder(s, user_id, server_id)
            dest = await _folder_row(s, user_id, dest_folder_id)
            if dest.id == source.id:
                raise Conflict("source and destination are the same folder")
            s.add(_tombstone(row, gone, origin))
            row.folder_pk, row.server_id = dest.id, _next_server_id(dest)
            row.modseq = row.created_modseq = arrived
            row.origin = origin
            source.position, dest.position = gone, arrived
            result = convert.item(row, dest.folder_id, await _attachments_of(s, [row.id]))
        await self._notify(user_id, source.folder_id, gone)
        await self._notify(user_id, dest.folder_id, arrived)
        return result

    async def get_item(self, user_id: int, server_id: str) -> Item:
        async with self._read() as s:
            row, folder = await _item_and_folder(s, user_id, server_id)
            return convert.item(row, folder.folder_id, await _attachments_of(s, [row.id]))

    async def list_items(self, user_id: int, folder_id: str) -> list[Item]:
        async with self._read() as s:
            folder = await _folder_row(s, user_id, folder_id)
            rows = (await s.scalars(
                select(ItemRow).where(ItemRow.folder_pk == folder.id).order_by(ItemRow.modseq)
            )).all()
            return await _items(s, rows, {folder.id: folder.folder_id})

    async def get_attachment(self, user_id: int, file_reference: str) -> tuple[Item, bytes]:
        async with self._read() as s:
            att = await s.scalar(select(AttachmentRow).where(
                AttachmentRow.user_id == user_id, AttachmentRow.file_reference == file_reference
            ))
            if att is None:
                raise NotFound(f"no attachment {file_reference}")
            row = await s.get_one(ItemRow, att.item_id)
            folder = await s.get_one(FolderRow, row.folder_pk)
            item = convert.item(row, folder.folder_id, await _attachments_of(s, [row.id]))
            return item, att.content

    async def empty_folder(
        self, user_id: int, folder_id: str, *, include_subfolders: bool = False,
        origin: int | None = None,
    ) -> int:
        """As `Store.empty_folder`: every item leaves a tombstone; with
        ``include_subfolders`` the subfolders themselves are deleted too. Returns the
        number of items removed."""
        async with self._write() as s:
            await lock_mailbox(s, user_id)  # before reading what to delete
            folder = await _folder_row(s, user_id, folder_id)
            doomed = (await s.scalars(
                select(ItemRow).where(ItemRow.folder_pk == folder.id).order_by(ItemRow.modseq)
            )).all()
            subfolders = (await _subtree(s, user_id, folder))[1:] if include_subfolders else []
            first = await allocate(s, user_id, len(doomed) + 1)
            last = first + len(doomed)  # the extra position marks the hierarchy change
            s.add_all(_tombstone(row, first + i, origin) for i, row in enumerate(doomed))
            await s.execute(delete(ItemRow).where(ItemRow.folder_pk == folder.id))
            removed = len(doomed) + await _delete_folders(s, user_id, subfolders)
            if doomed:
                folder.position = last - 1
            if subfolders:
                (await _user_row(s, user_id)).hierarchy_position = last
        if doomed:
            await self._notify(user_id, folder_id, last - 1)
        if subfolders:
            await self._notify(user_id, HIERARCHY, last)
        return removed

    async def changes_since(
        self, user_id: int, folder_id: str, after: int, *, limit: int,
        exclude_origin: int | None = None,
    ) -> ChangePage:
        if self._direct is not None:
            with _translate_errors():
                return self._direct.changes_since(user_id, folder_id, after, limit, exclude_origin)
        async with self._fetch_snapshot() as s:
            folder = await _folder(s, user_id, folder_id)
            entries = await read_log(s, folder.id, after, limit, exclude_origin)
            items = await _items(s, [e.row for e in entries[:limit] if e.row is not None],
                                 {folder.id: folder.folder_id})
            return change_page(entries, items, folder.position, after, limit)

    async def count_changes_since(
        self, user_id: int, folder_id: str, after: int, *, exclude_origin: int | None = None
    ) -> int:
        if self._direct is not None:
            with _translate_errors():
                return self._direct.count_changes_since(user_id, folder_id, after,
                                                        exclude_origin)
        async with self._fetch_snapshot() as s:
            folder = await _folder(s, user_id, folder_id)
            return await count_log(s, folder.id, after, exclude_origin)

    async def folder_position(self, user_id: int, folder_id: str) -> int:
        """As `Store.folder_position`; ``""`` gives the folder hierarchy's position (it
        moves with every folder create, rename, move and delete)."""
        async with self._read() as s:
            if folder_id == HIERARCHY:
                return (await _user_row(s, user_id)).hierarchy_position
            return (await _folder_row(s, user_id, folder_id)).position

    async def search_items(
        self, user_id: int, query: str, *, folder_ids: Sequence[str] | None = None,
        item_class: str | None = None, offset: int = 0, limit: int = 100,
    ) -> tuple[list[Item], int]:
        pattern = "%" + _escape_like(query) + "%"
        conditions = [
            ItemRow.user_id == user_id,
            ItemRow.subject.ilike(pattern, escape="\\")
            | ItemRow.body_text.ilike(pattern, escape="\\")
            | ItemRow.sender.ilike(pattern, escape="\\"),
        ]
        if item_class is not None:
            conditions.append(ItemRow.item_class == item_class)
        async with self._read() as s:
            folders = (await s.scalars(select(FolderRow).where(FolderRow.user_id == user_id))).all()
            names = {f.id: f.folder_id for f in folders}
            if folder_ids is not None:
                wanted = [pk for pk, fid in names.items() if fid in set(folder_ids)]
                conditions.append(ItemRow.folder_pk.in_(wanted))
            total = await s.scalar(select(func.count()).select_from(ItemRow).where(*conditions))
            rows = (await s.scalars(
                select(ItemRow).where(*conditions)
                .order_by(ItemRow.date.desc().nulls_last(), ItemRow.id.desc())
                .offset(offset).limit(limit)
            )).all()
            return await _items(s, rows, names), total or 0

    async def prune_tombstones(self) -> int:
        """Delete the tombstones every device has passed: those at or below the lowest
        position (current or previous) of any sync state of their folder, or all of a
        folder's when no device syncs it (a first sync never shows deletes). Returns how
        many were deleted. Optional housekeeping: correctness never depends on it."""
        removed = 0
        async with self._write() as s:
            folders = (await s.execute(
                select(FolderRow.id, FolderRow.user_id, FolderRow.folder_id)
                .where(FolderRow.id.in_(select(TombstoneRow.folder_pk).distinct()))
            )).all()
            for folder_pk, user_id, folder_id in folders:
                floor = await _lowest_position(s, user_id, folder_id)
                query = delete(TombstoneRow).where(TombstoneRow.folder_pk == folder_pk)
                if floor is not None:
                    query = query.where(TombstoneRow.modseq <= floor)
                removed += (await s.execute(query)).rowcount or 0
        return removed

    # --- devices ----------------------------------------------------------------------
    async def get_device(self, user_id: int, device_id: str) -> Device | None:
        if self._direct is not None:
            with _translate_errors():
                return self._direct.device(user_id, device_id)
        async with self._fetch() as s:
            found = (await s.execute(queries.DEVICE, {"user_id": user_id,
                                                       "device_id": device_id})).first()
            return convert.device(found, found.address) if found else None

    async def get_device_by_pk(self, pk: int) -> Device:
        if not 0 < pk <= MAX_ROW_ID:
            raise NotFound(f"no device {pk}")
        if self._direct is not None:
            with _translate_errors():
                device = self._direct.device_by_pk(pk)
            if device is None:
                raise NotFound(f"no device {pk}")
            return device
        async with self._fetch() as s:
            found = (await s.execute(queries.DEVICE_BY_PK, {"pk": pk})).first()
            if found is None:
                raise NotFound(f"no device {pk}")
            return convert.device(found, found.address)

    async def get_device_by_token(self, choice_token: str) -> Device | None:
        async with self._read() as s:
            found = (await s.execute(
                _device_query().where(DeviceRow.choice_token == choice_token)
            )).first()
            return convert.device(*found) if found else None

    async def create_device(self, device: Device) -> Device:
        async with self._write() as s:
            user = await _user_row(s, device.user_id)
            if await s.scalar(select(DeviceRow.id).where(
                DeviceRow.user_id == user.id, DeviceRow.device_id == device.device_id
            )):
                raise Conflict(f"device {device.device_id} of {user.address} exists")
            values = {name: getattr(device, name) for name in convert.DEVICE_FIELDS}
            values["extra"] = dict(device.extra)
            row = DeviceRow(user_id=user.id, **values)
            if device.id:
                row.id = device.id
            s.add(row)
            await s.flush()
            return convert.device(row, user.address)

    async def update_device(self, pk: int, **fields: Any) -> Device:
        _check_fields(fields, convert.DEVICE_FIELDS, "device")
        async with self._write() as s:
            row = await s.get(DeviceRow, pk)
            if row is None:
                raise NotFound(f"no device {pk}")
            for name, value in fields.items():
                if name == "extra":
                    value = {**row.extra, **value}
                setattr(row, name, value)
            await s.flush()
            return convert.device(row, (await _user_row(s, row.user_id)).address)

    async def list_devices(
        self, *, user: str | None = None, state: str | None = None, tenant: str | None = None
    ) -> list[Device]:
        query = _device_query().join(TenantRow, TenantRow.id == UserRow.tenant_id)
        if user is not None:
            query = query.where(UserRow.address == user.lower())
        if state is not None:
            query = query.where(DeviceRow.state == state)
        if tenant is not None:
            query = query.where(TenantRow.domain == tenant.lower())
        async with self._read() as s:
            return [convert.device(*found) for found in (await s.execute(query)).all()]

    async def count_devices_by_state(self) -> dict[str, int]:
        query = select(DeviceRow.state, func.count()).group_by(DeviceRow.state)
        async with self._read() as s:
            return {state: count for state, count in (await s.execute(query)).all()}

    async def due_devices(self, now: datetime) -> list[Device]:
        async with self._read() as s:
            query = _device_query().where(
                ((DeviceRow.state == "pending") & (DeviceRow.notice_at <= now))
                | ((DeviceRow.state == "quarantined") & (DeviceRow.quarantine_until <= now))
            )
            return [convert.device(*found) for found in (await s.execute(query)).all()]

    async def next_deadline(self) -> datetime | None:
        """As `Store.next_deadline`; deadlines already passed but not yet acted on are
        included, so the scheduler runs at once for them."""
        async with self._read() as s:
            notice = await s.scalar(select(func.min(DeviceRow.notice_at)).where(
                DeviceRow.state == "pending"
            ))
            release = await s.scalar(select(func.min(DeviceRow.quarantine_until)).where(
                DeviceRow.state == "quarantined"
            ))
        found = [t for t in (notice, release) if t is not None]
        return min(found) if found else None

    # --- sync state -------------------------------------------------------------------
    async def get_sync_state(self, device_pk: int, collection_id: str) -> SyncState | None:
        if self._direct is not None:
            with _translate_errors():
                return self._direct.sync_state(device_pk, collection_id)
        async with self._fetch() as s:
            row = (await s.execute(queries.SYNC_STATE, {"device_pk": device_pk,
                                                        "collection_id": collection_id})).first()
            return convert.sync_state(row) if row is not None else None

    async def get_folder_and_sync_state(
        self, user_id: int, device_pk: int, folder_id: str
    ) -> tuple[Folder, SyncState | None]:
        if self._direct is not None:
            with _translate_errors():
                return self._direct.folder_and_sync_state(user_id, device_pk, folder_id)
        async with self._fetch() as s:
            folder = convert.folder(await _folder(s, user_id, folder_id))
            row = (await s.execute(queries.SYNC_STATE, {"device_pk": device_pk,
                                                        "collection_id": folder_id})).first()
            return folder, convert.sync_state(row) if row is not None else None

    async def put_sync_state(self, state: SyncState) -> None:
        async with self._write() as s:
            row = await s.get(SyncStateRow, (state.device_pk, state.collection_id))
            await _store_sync_state(s, row, state)

    async def replace_sync_state(self, state: SyncState, previous: SyncState | None) -> None:
        """As `Store.replace_sync_state`: the row is locked from the check to the commit
        (two first writes of one collection clash on its primary key: Conflict too)."""
        if self._direct is not None:
            async with self._write_lock or contextlib.nullcontext():
                with _translate_errors():
                    self._direct.replace_sync_state(state, previous)
            return
        key = {"device_pk": state.device_pk, "collection_id": state.collection_id}
        async with self._write_core() as c:
            row = (await c.execute(queries.SYNC_STATE_FOR_UPDATE, key)).first()
            stored = convert.sync_state(row) if row is not None else None
            if stored != previous:
                raise Conflict(f"the sync state of collection {state.collection_id!r} changed")
            if row is None and (await c.execute(queries.DEVICE_EXISTS,
                                                {"pk": state.device_pk})).first() is None:
                raise NotFound(f"no device {state.device_pk}")
            values = convert.sync_state_values(state)
            if row is None:  # a first write clashing with another on the key: Conflict
                await c.execute(queries.INSERT_SYNC_STATE, {**key, **values})
            else:
                await c.execute(queries.UPDATE_SYNC_STATE, {
                    "b_device_pk": state.device_pk, "b_collection_id": state.collection_id,
                    **values})

    async def delete_sync_states(self, device_pk: int, collection_id: str | None = None) -> None:
        async with self._write() as s:
            query = delete(SyncStateRow).where(SyncStateRow.device_pk == device_pk)
            if collection_id is not None:
                query = query.where(SyncStateRow.collection_id == collection_id)
            await s.execute(query)

    # --- audit log --------------------------------------------------------------------
    async def add_event(self, device_pk: int, at: datetime, kind: str, detail: dict) -> AuditEvent:
        async with self._write() as s:
            row = AuditRow(device_pk=device_pk, at=at, kind=kind, detail=dict(detail))
            s.add(row)
            await s.flush()
            event = convert.audit_event(row)
        await self._notify_audit(event)
        return event

    async def list_events(self, device_pk: int) -> list[AuditEvent]:
        async with self._read() as s:
            rows = await s.scalars(
                select(AuditRow).where(AuditRow.device_pk == device_pk).order_by(AuditRow.id)
            )
            return [convert.audit_event(row) for row in rows]

    # --- clock ------------------------------------------------------------------------
    async def get_clock(self) -> ClockRow:
        async with self._read() as s:
            row = await s.get(ClockDbRow, 1)
            if row is None:
                return ClockRow(mode="real", offset_s=0, frozen_at=None)
            return ClockRow(mode=row.mode, offset_s=row.offset_s, frozen_at=as_utc(row.frozen_at))  # type: ignore[arg-type]

    async def put_clock(self, row: ClockRow) -> None:
        async with self._write() as s:
            db_row = await s.get(ClockDbRow, 1)
            if db_row is None:
                db_row = ClockDbRow(id=1)
                s.add(db_row)
            db_row.mode, db_row.offset_s, db_row.frozen_at = row.mode, row.offset_s, row.frozen_at


    # --- fault injection rules (SQL in store/fault_rules.py) -------------------------
    async def list_fault_rules(self, *, active_only: bool = False) -> list[FaultRule]:
        async with self._read() as s:
            return await fault_rules.list_rules(s, active_only=active_only)

    async def add_fault_rule(self, rule: FaultRule) -> FaultRule:
        async with self._write() as s:
            return await fault_rules.add_rule(s, rule)

    async def delete_fault_rules(self, rule_id: int | None = None) -> int:
        async with self._write() as s:
            if rule_id is None:
                return await fault_rules.delete_all(s)
            if not 0 < rule_id <= MAX_ROW_ID or not await fault_rules.delete_rule(s, rule_id):
                raise NotFound(f"no fault rule {rule_id}")
            return 1

    async def count_fault_match(self, rule_id: int) -> FaultRule | None:
        async with self._write() as s:
            return await fault_rules.count_match(s, rule_id)

    async def count_fault_fired(self, rule_id: int, now: datetime) -> FaultRule | None:
        async with self._write() as s:
            return await fault_rules.count_fired(s, rule_id, now)


# --- helpers: errors and checks ----------------------------------------------------------
@contextlib.contextmanager
def _translate_errors() -> Any:
    """Database failures become StoreError with one line (no driver traceback leaks)."""
    try:
        yield
    except IntegrityError as exc:
        raise Conflict(f"conflicting write: {_first_line(exc.orig or exc)}") from None
    except PoolTimeout as exc:  # every pooled connection in use for the whole pool timeout
        raise StoreBusy(f"database busy: {_first_line(exc)}") from None
    except DBAPIError as exc:
        raise StoreError(f"database error: {_first_line(exc.orig or exc)}") from None
    except SQLAlchemyError as exc:
        raise StoreError(f"database error: {_first_line(exc)}") from None
    except sqlite3.IntegrityError as exc:  # the statements of store/sqlite_direct.py
        raise Conflict(f"conflicting write: {_first_line(exc)}") from None
    except sqlite3.Error as exc:
        raise StoreError(f"database error: {_first_line(exc)}") from None
    except OSError as exc:
        raise StoreError(f"database unreachable: {exc}") from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _check_fields(fields: dict[str, Any], allowed: frozenset[str], what: str) -> None:
    unknown = sorted(set(fields) - allowed)
    if unknown:
        raise StoreError(f"unknown {what} field(s): {', '.join(unknown)}")


def _check_address(address: str) -> str:
    local, at, domain = address.strip().lower().partition("@")
    if not local or not at or not domain or "@" in domain:
        raise StoreError(f"not a mail address: {address!r}")
    return f"{local}@{domain}"


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


# --- helpers: sync states -----------------------------------------------------------------
async def _store_sync_state(s: AsyncSession, row: SyncStateRow | None, state: SyncState) -> None:
    if row is None:
        if await s.get(DeviceRow, state.device_pk) is None:
            raise NotFound(f"no device {state.device_pk}")
        row = SyncStateRow(device_pk=state.device_pk, collection_id=state.collection_id)
        s.add(row)
    row.sync_key, row.position = state.sync_key, state.position
    row.prev_sync_key, row.prev_position = state.prev_sync_key, state.prev_position
    row.data, row.prev_data = dict(state.data), dict(state.prev_data)
    await s.flush()  # a clash on the primary key is raised here, as Conflict


# --- helpers: writes made once -------------------------------------------------------------
_MAX_KEY_CHARS = 255


def _write_key_is(once: WriteKey) -> tuple[Any, ...]:
    return (WriteKeyRow.device_pk == once.device_pk, WriteKeyRow.scope == once.scope,
            WriteKeyRow.key == _key_text(once.key))


def _key_text(key: str) -> str:
    """The key as stored: a key longer than the column (a client's overlong ClientId) is
    kept as its digest, which names it as well, after its ``prefix/`` when it has a short
    one (`forget_write_keys` goes by the prefix)."""
    if len(key) <= _MAX_KEY_CHARS:
        return key
    digest = "sha256:" + hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()
    prefix, slash, _ = key.partition("/")
    if slash and len(prefix) + 1 + len(digest) <= _MAX_KEY_CHARS:
        return f"{prefix}/{digest}"
    return digest


async def _claim(s: AsyncSession, once: WriteKey, *, sqlite: bool) -> list[str] | None:
    """Store ``once`` as taken by this transaction; None when it is new, else the server ids
    of the write that took it before. The insert does nothing on a clash, so a twin writing
    the same key at this moment waits for it (PostgreSQL: the unique index; SQLite: one
    writer at a time) and then reads what it wrote."""
    dialect_insert = sqlite_insert if sqlite else postgresql_insert
    claimed = await s.execute(
        dialect_insert(WriteKeyRow)
        .values(device_pk=once.device_pk, scope=once.scope, key=_key_text(once.key),
                server_ids=[])
        .on_conflict_do_nothing()
        .returning(WriteKeyRow.device_pk)
    )
    if claimed.first() is not None:
        return None
    earlier = await s.scalar(select(WriteKeyRow.server_ids).where(*_write_key_is(once)))
    return list(earlier or [])


async def _place(
    s: AsyncSession, placements: Sequence[Placement], origin: int | None
) -> tuple[list[str], dict[tuple[int, str], int]]:
    """Add the items; returns their server ids in order, and each folder's new position.
    Mailboxes are locked in the order of their ids, so two writers to several mailboxes
    never wait for each other in a circle."""
    by_user: dict[int, list[int]] = {}
    for index, placement in enumerate(placements):
        by_user.setdefault(placement.user_id, []).append(index)
    server_ids = [""] * len(placements)
    positions: dict[tuple[int, str], int] = {}
    for user_id in sorted(by_user):
        indexes = by_user[user_id]
        first = await allocate(s, user_id, len(indexes))
        for position, index in enumerate(indexes, start=first):
            placement = placements[index]
            folder = await _folder_row(s, user_id, placement.folder_id)
            row = _new_item_row(folder, placement.item, position, origin)
            s.add(row)
            await s.flush()
            await _add_attachments(s, row, placement.item.attachments)
            folder.position = position
            server_ids[index] = row.server_id
            positions[(user_id, placement.folder_id)] = position
    return server_ids, positions


# --- helpers: tenants and users ----------------------------------------------------------
async def _tenant_row(s: AsyncSession, domain: str) -> TenantRow:
    row = await s.scalar(select(TenantRow).where(TenantRow.domain == domain.lower()))
    if row is None:
        raise NotFound(f"no tenant {domain}")
    return row


async def _rules(s: AsyncSession, tenant_id: int) -> list[DeviceRuleRow]:
    return list(await s.scalars(select(DeviceRuleRow).where(DeviceRuleRow.tenant_id == tenant_id)))


async def _replace_rules(s: AsyncSession, tenant_id: int, tenant: Tenant) -> None:
    existing = {r.id: r for r in await _rules(s, tenant_id)}
    kept = {rule.id for rule in tenant.device_rules if rule.id in existing}
    for rule_id, row in existing.items():
        if rule_id not in kept:
            await s.delete(row)
    for rule in tenant.device_rules:
        row = existing.get(rule.id) if rule.id in kept else None
        if row is None:  # id 0 (or an id we do not know) is a new rule
            row = DeviceRuleRow(tenant_id=tenant_id)
            s.add(row)
        row.field, row.value, row.access = rule.field, rule.value, rule.access
    await s.flush()


async def _user_row(s: AsyncSession, user_id: int) -> UserRow:
    row = await s.get(UserRow, user_id)
    if row is None:
        raise NotFound(f"no user with id {user_id}")
    return row


async def _user(s: AsyncSession, row: UserRow) -> User:
    domain = await s.scalar(select(TenantRow.domain).where(TenantRow.id == row.tenant_id))
    return convert.user(row, domain or "")


async def _resolve_login(s: AsyncSession, login: str) -> str | None:
    """``alice@contoso.com`` as is; ``CONTOSO\\alice`` through the tenant whose domain's
    first label is CONTOSO. None when no tenant matches."""
    if "\\" not in login:
        return login.strip().lower()
    netbios, _, local = login.strip().partition("\\")
    for domain in await s.scalars(select(TenantRow.domain)):
        if domain.split(".")[0].upper() == netbios.upper():
            return f"{local.lower()}@{domain}"
    return None


# --- helpers: folders ---------------------------------------------------------------------
async def _folder_row(s: AsyncSession, user_id: int, folder_id: str) -> FolderRow:
    row = await s.scalar(
        select(FolderRow).where(FolderRow.user_id == user_id, FolderRow.folder_id == folder_id)
    )
    if row is None:
        raise NotFound(f"no folder {folder_id!r}")
    return row


async def _folder(s: AsyncSession | AsyncConnection, user_id: int, folder_id: str) -> Row:
    """The folder's row for reading (`_folder_row` gives one to change)."""
    row = (await s.execute(queries.FOLDER, {"user_id": user_id, "folder_id": folder_id})).first()
    if row is None:
        raise NotFound(f"no folder {folder_id!r}")
    return row


async def _check_folder_place(
    s: AsyncSession, user_id: int, parent_id: str, name: str, moving: FolderRow | None
) -> None:
    if not name.strip():
        raise StoreError("a folder needs a name")
    if parent_id != ROOT_FOLDER_ID:
        parent = await _folder_row(s, user_id, parent_id)
        if moving is not None and parent.id in {f.id for f in await _subtree(s, user_id, moving)}:
            raise Conflict("a folder cannot move under itself")
    clash = await s.scalar(select(FolderRow.id).where(
        FolderRow.user_id == user_id, FolderRow.parent_id == parent_id,
        func.lower(FolderRow.name) == name.lower(),
    ))
    if clash is not None and (moving is None or clash != moving.id):
        raise Conflict(f"a folder named {name!r} exists there")


async def _subtree(s: AsyncSession, user_id: int, top: FolderRow) -> list[FolderRow]:
    """The folder and all its descendants, top first."""
    folders = (await s.scalars(select(FolderRow).where(FolderRow.user_id == user_id))).all()
    children: dict[str, list[FolderRow]] = {}
    for f in folders:
        children.setdefault(f.parent_id, []).append(f)
    found, queue = [], [top]
    while queue:
        folder = queue.pop(0)
        found.append(folder)
        queue.extend(children.get(folder.folder_id, []))
    return found


async def _delete_folders(s: AsyncSession, user_id: int, folders: Iterable[FolderRow]) -> int:
    """Delete folders with their items and sync states; returns the items removed."""
    pks = [f.id for f in folders]
    if not pks:
        return 0
    count = await s.scalar(select(func.count()).select_from(ItemRow).where(
        ItemRow.folder_pk.in_(pks)
    ))
    device_pks = select(DeviceRow.id).where(DeviceRow.user_id == user_id)
    await s.execute(delete(SyncStateRow).where(
        SyncStateRow.device_pk.in_(device_pks),
        SyncStateRow.collection_id.in_([f.folder_id for f in folders]),
    ))
    await s.execute(delete(WriteKeyRow).where(  # the Adds of its collections, by ClientId
        WriteKeyRow.device_pk.in_(device_pks),
        WriteKeyRow.scope.in_([f.folder_id for f in folders]),
    ))
    await s.execute(delete(ItemRow).where(ItemRow.folder_pk.in_(pks)))
    await s.execute(delete(TombstoneRow).where(TombstoneRow.folder_pk.in_(pks)))
    await s.execute(delete(FolderRow).where(FolderRow.id.in_(pks)))
    return count or 0


async def _lowest_position(s: AsyncSession, user_id: int, folder_id: str) -> int | None:
    states = (await s.execute(
        select(SyncStateRow.position, SyncStateRow.prev_position)
        .join(DeviceRow, DeviceRow.id == SyncStateRow.device_pk)
        .where(DeviceRow.user_id == user_id, SyncStateRow.collection_id == folder_id)
    )).all()
    positions = [p for row in states for p in row if p is not None]
    return min(positions) if positions else None


# --- helpers: items -----------------------------------------------------------------------
def _next_server_id(folder: FolderRow) -> str:
    number = folder.next_item_no
    folder.next_item_no = number + 1
    return f"{folder.folder_id}:{number}"


def _item_values(
    folder: FolderRow, item: NewItem, position: int, origin: int | None
) -> dict[str, Any]:
    return {
        "user_id": folder.user_id,
        "folder_pk": folder.id,
        "server_id": _next_server_id(folder),
        "item_class": item.item_class,
        "data": dict(item.data),
        "body_text": item.body_text,
        "body_html": item.body_html,
        "mime": item.mime,
        "read": item.read,
        "flagged": item.flagged,
        "categories": list(item.categories),
        **convert.search_columns(item.item_class, item.data),
        "modseq": position,
        "created_modseq": position,
        "origin": origin,
    }


def _new_item_row(folder: FolderRow, item: NewItem, position: int, origin: int | None) -> ItemRow:
    return ItemRow(**_item_values(folder, item, position, origin))


def _apply_item_fields(row: ItemRow, fields: dict[str, Any]) -> None:
    if "data" in fields:
        data = dict(row.data)
        for key, value in fields.pop("data").items():
            if value is None:
                data.pop(key, None)
            else:
                data[key] = value
        row.data = data
        for name, value in convert.search_columns(row.item_class, data).items():
            setattr(row, name, value)
    if "categories" in fields:
        fields["categories"] = list(fields["categories"])
    for name, value in fields.items():
        setattr(row, name, value)


def _tombstone(row: ItemRow, position: int, origin: int | None) -> TombstoneRow:
    return TombstoneRow(user_id=row.user_id, folder_pk=row.folder_pk, server_id=row.server_id,
                        modseq=position, created_modseq=row.created_modseq, origin=origin)


async def _item_and_folder(s: AsyncSession, user_id: int, server_id: str) -> tuple[ItemRow, FolderRow]:
    found = (await s.execute(
        select(ItemRow, FolderRow).join(FolderRow, FolderRow.id == ItemRow.folder_pk)
        .where(ItemRow.user_id == user_id, ItemRow.server_id == server_id)
    )).first()
    if found is None:
        raise NotFound(f"no item {server_id!r}")
    return found[0], found[1]


def _attachment_row(user_id: int, item_id: int, server_id: str, number: int,
                    attachment: Attachment, content: bytes) -> dict[str, Any]:
    return {
        "user_id": user_id,
        "item_id": item_id,
        "file_reference": attachment.file_reference or f"{server_id}:{number}",
        "name": attachment.name,
        "content_type": attachment.content_type,
        "size": len(content),
        "content_id": attachment.content_id,
        "is_inline": attachment.is_inline,
        "content": content,
    }


async def _add_attachments(
    s: AsyncSession, row: ItemRow, attachments: Sequence[tuple[Attachment, bytes]]
) -> list[Attachment]:
    values = [_attachment_row(row.user_id, row.id, row.server_id, n, att, content)
              for n, (att, content) in enumerate(attachments, start=1)]
    if values:
        await s.execute(insert(AttachmentRow), values)
    return [_attachment_from_values(v) for v in values]


async def _add_bulk_attachments(
    s: AsyncSession, user_id: int,
    items: list[tuple[str, tuple[tuple[Attachment, bytes], ...]]],
) -> None:
    if not items:
        return
    ids = dict((await s.execute(select(ItemRow.server_id, ItemRow.id).where(
        ItemRow.user_id == user_id, ItemRow.server_id.in_([sid for sid, _ in items])
    ))).all())
    values = [_attachment_row(user_id, ids[sid], sid, n, att, content)
              for sid, attachments in items
              for n, (att, content) in enumerate(attachments, start=1)]
    await s.execute(insert(AttachmentRow), values)


def _attachment_from_values(v: dict[str, Any]) -> Attachment:
    return Attachment(file_reference=v["file_reference"], name=v["name"],
                      content_type=v["content_type"], size=v["size"],
                      content_id=v["content_id"], is_inline=v["is_inline"])


async def _attachments_of(s: AsyncSession, item_ids: Sequence[int]) -> list[Attachment]:
    grouped = await _attachments_by_item(s, item_ids)
    return [a for item_id in item_ids for a in grouped.get(item_id, [])]


async def _attachments_by_item(
    s: AsyncSession, item_ids: Sequence[int]
) -> dict[int, list[Attachment]]:
    if not item_ids:
        return {}
    rows = await s.execute(queries.ATTACHMENTS_OF, {"ids": list(item_ids)})
    grouped: dict[int, list[Attachment]] = {}
    for row in rows:
        grouped.setdefault(row.item_id, []).append(convert.attachment(row))
    return grouped


async def _items(s: AsyncSession, rows: Sequence[ItemRow], folder_ids: dict[int, str]) -> list[Item]:
    """Rows as Items, with their attachments' descriptions (not their bytes)."""
    attachments: dict[int, list[Attachment]] = {}
    ids = [row.id for row in rows]
    for start in range(0, len(ids), 1000):  # keep IN lists of a sane size
        attachments.update(await _attachments_by_item(s, ids[start : start + 1000]))
    return [convert.item(row, folder_ids[row.folder_pk], attachments.get(row.id, ()))
            for row in rows]


def _device_query():  # type: ignore[no-untyped-def]
    return (select(DeviceRow, UserRow.address)
            .join(UserRow, UserRow.id == DeviceRow.user_id)
            .order_by(DeviceRow.id))
