"""Writes made once: a client's Add (by SyncKey and ClientId), a submitted message (by
ClientId) and the mails of an access transition are stored with their key in one
transaction, so a resend or a re-run after a crash finds them instead of writing again.

Revision ID: 0003
Revises: 0002
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# A frozen copy of the JSON type of store.models, so this revision never changes with it.
JSON_DOC = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('write_keys',
    sa.Column('device_pk', sa.Integer(), nullable=False),
    sa.Column('scope', sa.String(length=64), nullable=False),
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('server_ids', JSON_DOC, nullable=False),
    sa.ForeignKeyConstraint(['device_pk'], ['devices.id'],
                            name=op.f('fk_write_keys_device_pk_devices'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('device_pk', 'scope', 'key', name=op.f('pk_write_keys'))
    )


def downgrade() -> None:
    op.drop_table('write_keys')
