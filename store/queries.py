"""The reads every request makes, as SQLAlchemy Core statements built once.

A Sync reads its device, its folder, its sync state and a page of the change log. Built per
call through the ORM, each such read spent most of its time building the statement, hashing
it into a cache key and loading ORM objects that are turned into `store.types` values at
once anyway. These statements are built at import with bound parameters (their cache key is
computed once), and their rows (attribute access by column name, values already converted
by the column types) go straight to `store.convert`.
"""
from __future__ import annotations

from sqlalchemy import bindparam, or_, select

from store.models import AttachmentRow, DeviceRow, FolderRow, SyncStateRow, UserRow

_devices = DeviceRow.__table__
_users = UserRow.__table__
_folders = FolderRow.__table__
_sync_states = SyncStateRow.__table__
_attachments = AttachmentRow.__table__

_DEVICE_WITH_ADDRESS = select(_devices, _users.c.address).join(
    _users, _users.c.id == _devices.c.user_id)

# A device by its owner and DeviceId (params: user_id, device_id), or by its key (pk).
DEVICE = _DEVICE_WITH_ADDRESS.where(_devices.c.user_id == bindparam("user_id"),
                                    _devices.c.device_id == bindparam("device_id"))
DEVICE_BY_PK = _DEVICE_WITH_ADDRESS.where(_devices.c.id == bindparam("pk"))

# A folder of a mailbox (params: user_id, folder_id).
FOLDER = select(_folders).where(_folders.c.user_id == bindparam("user_id"),
                                _folders.c.folder_id == bindparam("folder_id"))

# A mailbox's folders in the order they were made (param: user_id), and whether the user is
# there at all (an empty list and an unknown user are told apart).
FOLDERS = select(_folders).where(_folders.c.user_id == bindparam("user_id")).order_by(
    _folders.c.id)
USER_EXISTS = select(_users.c.id).where(_users.c.id == bindparam("user_id"))

# A collection's sync state (params: device_pk, collection_id).
SYNC_STATE = select(_sync_states).where(_sync_states.c.device_pk == bindparam("device_pk"),
                                        _sync_states.c.collection_id == bindparam("collection_id"))

# The descriptions (never the bytes) of the attachments of some items (param: ids, a list).
_ATTACHMENT_DESCRIPTIONS = select(
    *(column for column in _attachments.c if column.name != "content")).order_by(_attachments.c.id)
ATTACHMENTS_OF = _ATTACHMENT_DESCRIPTIONS.where(
    _attachments.c.item_id.in_(bindparam("ids", expanding=True)))


def attachments_of_each(count: int):  # type: ignore[no-untyped-def]
    """`ATTACHMENTS_OF` for exactly ``count`` ids, as the parameters id0, id1 … (a list of
    fixed length, for a statement compiled once per length)."""
    ids = [bindparam(f"id{n}") for n in range(count)]
    return _ATTACHMENT_DESCRIPTIONS.where(_attachments.c.item_id.in_(ids))


def not_from(column, origin_param: str = "origin"):  # type: ignore[no-untyped-def]
    """Rows not written by the origin the parameter names (rows of no origin included)."""
    return or_(column.is_(None), column != bindparam(origin_param))


# --- the write every changing Sync makes: its new sync state ------------------------------
# The state row locked from the check to the commit (FOR UPDATE; SQLite's BEGIN IMMEDIATE
# holds the whole database already, and its dialect leaves the clause out).
SYNC_STATE_FOR_UPDATE = SYNC_STATE.with_for_update()

_STATE_VALUES = {name: bindparam(name) for name in (
    "sync_key", "position", "prev_sync_key", "prev_position", "data", "prev_data")}

# A collection's sync state written over (params: the values, and the row's key as
# b_device_pk, b_collection_id: an UPDATE keeps the column names for its SET clause).
UPDATE_SYNC_STATE = (
    _sync_states.update()
    .where(_sync_states.c.device_pk == bindparam("b_device_pk"),
           _sync_states.c.collection_id == bindparam("b_collection_id"))
    .values(_STATE_VALUES)
)
INSERT_SYNC_STATE = _sync_states.insert().values(
    device_pk=bindparam("device_pk"), collection_id=bindparam("collection_id"), **_STATE_VALUES)

# Whether a device exists (param: pk).
DEVICE_EXISTS = select(_devices.c.id).where(_devices.c.id == bindparam("pk"))
