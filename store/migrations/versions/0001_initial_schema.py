"""Initial schema: tenants, users, folders, items, change log, devices, sync state, audit, clock.

Revision ID: 0001
Revises: (none)
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# Frozen copies of the types of store.models, so this revision never changes with them.
JSON_DOC = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('clock',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('mode', sa.String(length=8), nullable=False),
    sa.Column('offset_s', sa.Float(), nullable=False),
    sa.Column('frozen_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_clock'))
    )
    op.create_table('tenants',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('domain', sa.String(length=255), nullable=False),
    sa.Column('mode', sa.String(length=32), nullable=False),
    sa.Column('rollout_window_s', sa.Integer(), nullable=False),
    sa.Column('quarantine_s', sa.Integer(), nullable=False),
    sa.Column('enabled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('rollout_id', sa.Integer(), nullable=False),
    sa.Column('mdm_authority', sa.String(length=64), nullable=True),
    sa.Column('org_default_access', sa.String(length=16), nullable=False),
    sa.Column('user_mail_insert', sa.Text(), nullable=False),
    sa.Column('admin_mail_recipients', JSON_DOC, nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tenants')),
    sa.UniqueConstraint('domain', name=op.f('uq_tenants_domain'))
    )
    op.create_table('device_rules',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('field', sa.String(length=32), nullable=False),
    sa.Column('value', sa.String(length=255), nullable=False),
    sa.Column('access', sa.String(length=16), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_device_rules_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_device_rules'))
    )
    op.create_index(op.f('ix_device_rules_tenant_id'), 'device_rules', ['tenant_id'], unique=False)
    op.create_table('users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('address', sa.String(length=320), nullable=False),
    sa.Column('display_name', sa.String(length=255), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('allowed_device_ids', JSON_DOC, nullable=False),
    sa.Column('blocked_device_ids', JSON_DOC, nullable=False),
    sa.Column('oof', JSON_DOC, nullable=False),
    sa.Column('modseq', sa.BigInteger(), nullable=False),
    sa.Column('hierarchy_position', sa.BigInteger(), nullable=False),
    sa.Column('next_folder_no', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_users_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('address', name=op.f('uq_users_address'))
    )
    op.create_index(op.f('ix_users_tenant_id'), 'users', ['tenant_id'], unique=False)
    op.create_table('devices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('device_id', sa.String(length=128), nullable=False),
    sa.Column('device_type', sa.String(length=128), nullable=False),
    sa.Column('user_agent', sa.String(length=512), nullable=False),
    sa.Column('model', sa.String(length=255), nullable=False),
    sa.Column('os', sa.String(length=255), nullable=False),
    sa.Column('friendly_name', sa.String(length=255), nullable=False),
    sa.Column('app', sa.String(length=16), nullable=False),
    sa.Column('protocol_version', sa.String(length=8), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.String(length=64), nullable=False),
    sa.Column('rule_id', sa.Integer(), nullable=True),
    sa.Column('notice_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('quarantine_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('choice', sa.String(length=16), nullable=True),
    sa.Column('choice_token', sa.String(length=128), nullable=True),
    sa.Column('notice_server_id', sa.String(length=64), nullable=True),
    sa.Column('prompted_rollout', sa.Integer(), nullable=True),
    sa.Column('policy_key', sa.String(length=32), nullable=True),
    sa.Column('pending_policy_key', sa.String(length=32), nullable=True),
    sa.Column('wipe', sa.String(length=16), nullable=False),
    sa.Column('first_seen', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_seen', sa.DateTime(timezone=True), nullable=True),
    sa.Column('extra', JSON_DOC, nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_devices_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_devices')),
    sa.UniqueConstraint('choice_token', name=op.f('uq_devices_choice_token')),
    sa.UniqueConstraint('user_id', 'device_id', name='uq_devices_user_device')
    )
    op.create_index(op.f('ix_devices_state'), 'devices', ['state'], unique=False)
    op.create_table('folders',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('folder_id', sa.String(length=32), nullable=False),
    sa.Column('parent_id', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('type', sa.Integer(), nullable=False),
    sa.Column('item_class', sa.String(length=16), nullable=False),
    sa.Column('position', sa.BigInteger(), nullable=False),
    sa.Column('next_item_no', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_folders_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_folders')),
    sa.UniqueConstraint('user_id', 'folder_id', name='uq_folders_user_folder')
    )
    op.create_table('audit_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('device_pk', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('kind', sa.String(length=64), nullable=False),
    sa.Column('detail', JSON_DOC, nullable=False),
    sa.ForeignKeyConstraint(['device_pk'], ['devices.id'], name=op.f('fk_audit_events_device_pk_devices'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_events'))
    )
    op.create_index(op.f('ix_audit_events_device_pk'), 'audit_events', ['device_pk'], unique=False)
    op.create_table('items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('folder_pk', sa.Integer(), nullable=False),
    sa.Column('server_id', sa.String(length=64), nullable=False),
    sa.Column('item_class', sa.String(length=16), nullable=False),
    sa.Column('data', JSON_DOC, nullable=False),
    sa.Column('body_text', sa.Text(), nullable=False),
    sa.Column('body_html', sa.Text(), nullable=True),
    sa.Column('mime', sa.LargeBinary(), nullable=True),
    sa.Column('read', sa.Boolean(), nullable=False),
    sa.Column('flagged', sa.Boolean(), nullable=False),
    sa.Column('categories', JSON_DOC, nullable=False),
    sa.Column('subject', sa.Text(), nullable=False),
    sa.Column('sender', sa.Text(), nullable=False),
    sa.Column('date', sa.DateTime(timezone=True), nullable=True),
    sa.Column('modseq', sa.BigInteger(), nullable=False),
    sa.Column('created_modseq', sa.BigInteger(), nullable=False),
    sa.Column('origin', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['folder_pk'], ['folders.id'], name=op.f('fk_items_folder_pk_folders'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_items_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_items')),
    sa.UniqueConstraint('user_id', 'server_id', name='uq_items_user_server')
    )
    op.create_index('ix_items_folder_modseq', 'items', ['folder_pk', 'modseq'], unique=False)
    op.create_index('ix_items_user_date', 'items', ['user_id', 'date'], unique=False)
    op.create_table('sync_states',
    sa.Column('device_pk', sa.Integer(), nullable=False),
    sa.Column('collection_id', sa.String(length=32), nullable=False),
    sa.Column('sync_key', sa.BigInteger(), nullable=False),
    sa.Column('position', sa.BigInteger(), nullable=False),
    sa.Column('prev_sync_key', sa.BigInteger(), nullable=True),
    sa.Column('prev_position', sa.BigInteger(), nullable=True),
    sa.Column('data', JSON_DOC, nullable=False),
    sa.Column('prev_data', JSON_DOC, nullable=False),
    sa.ForeignKeyConstraint(['device_pk'], ['devices.id'], name=op.f('fk_sync_states_device_pk_devices'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('device_pk', 'collection_id', name=op.f('pk_sync_states'))
    )
    op.create_table('tombstones',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('folder_pk', sa.Integer(), nullable=False),
    sa.Column('server_id', sa.String(length=64), nullable=False),
    sa.Column('modseq', sa.BigInteger(), nullable=False),
    sa.Column('created_modseq', sa.BigInteger(), nullable=False),
    sa.Column('origin', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['folder_pk'], ['folders.id'], name=op.f('fk_tombstones_folder_pk_folders'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_tombstones_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tombstones'))
    )
    op.create_index('ix_tombstones_folder_modseq', 'tombstones', ['folder_pk', 'modseq'], unique=False)
    op.create_table('attachments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('file_reference', sa.String(length=128), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('content_type', sa.String(length=255), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('content_id', sa.String(length=255), nullable=True),
    sa.Column('is_inline', sa.Boolean(), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['items.id'], name=op.f('fk_attachments_item_id_items'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_attachments_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_attachments')),
    sa.UniqueConstraint('user_id', 'file_reference', name='uq_attachments_user_ref')
    )
    op.create_index(op.f('ix_attachments_item_id'), 'attachments', ['item_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_attachments_item_id'), table_name='attachments')
    op.drop_table('attachments')
    op.drop_index('ix_tombstones_folder_modseq', table_name='tombstones')
    op.drop_table('tombstones')
    op.drop_table('sync_states')
    op.drop_index('ix_items_user_date', table_name='items')
    op.drop_index('ix_items_folder_modseq', table_name='items')
    op.drop_table('items')
    op.drop_index(op.f('ix_audit_events_device_pk'), table_name='audit_events')
    op.drop_table('audit_events')
    op.drop_table('folders')
    op.drop_index(op.f('ix_devices_state'), table_name='devices')
    op.drop_table('devices')
    op.drop_index(op.f('ix_users_tenant_id'), table_name='users')
    op.drop_table('users')
    op.drop_index(op.f('ix_device_rules_tenant_id'), table_name='device_rules')
    op.drop_table('device_rules')
    op.drop_table('tenants')
    op.drop_table('clock')
