"""Fault injection rules (gateway/faults): stored so that they survive a restart and every
worker process sees the same rules and counts.

Revision ID: 0002
Revises: 0001
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# A frozen copy of the JSON type of store.models, so this revision never changes with it.
JSON_DOC = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('fault_rules',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_address', sa.String(length=320), nullable=True),
    sa.Column('device_id', sa.String(length=128), nullable=True),
    sa.Column('device_type', sa.String(length=128), nullable=True),
    sa.Column('command', sa.String(length=32), nullable=True),
    sa.Column('action', sa.String(length=16), nullable=False),
    sa.Column('params', JSON_DOC, nullable=False),
    sa.Column('after', sa.Integer(), nullable=False),
    sa.Column('count', sa.Integer(), nullable=True),
    sa.Column('probability', sa.Float(), nullable=False),
    sa.Column('seed', sa.BigInteger(), nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('note', sa.String(length=255), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('seen', sa.BigInteger(), nullable=False),
    sa.Column('fired', sa.BigInteger(), nullable=False),
    sa.Column('retired_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_fault_rules'))
    )


def downgrade() -> None:
    op.drop_table('fault_rules')
