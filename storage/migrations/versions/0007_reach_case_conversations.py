"""reach: a supervisor's conversation with the person of an alert, the case's events, where
a hit was said, and who is contacting the person

Revision ID: 0007_reach
Revises: 0006_ids
Create Date: 2026-12-12 10:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0007_reach'
down_revision = '0006_ids'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('contacting_by', sa.BigInteger(), nullable=True))

    with op.batch_alter_table('alert_hits', schema=None) as batch_op:
        batch_op.add_column(sa.Column('said_in', sa.String(length=16), nullable=True))

    op.create_table('case_conversations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('alert_id', sa.Integer(), nullable=False),
    sa.Column('supervisor_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_by', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['alert_id'], ['alerts.id'], name=op.f('fk_case_conversations_alert_id_alerts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['person_id'], ['users.id'], name=op.f('fk_case_conversations_person_id_users'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['supervisor_id'], ['users.id'], name=op.f('fk_case_conversations_supervisor_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_conversations')),
    sqlite_autoincrement=True,
    )
    with op.batch_alter_table('case_conversations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_conversations_alert_id'), ['alert_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_case_conversations_supervisor_id'), ['supervisor_id'], unique=False)
        batch_op.create_index('uq_case_conversations_open_person', ['person_id'], unique=True, sqlite_where=sa.text('closed_at IS NULL'), postgresql_where=sa.text('closed_at IS NULL'))

    op.create_table('case_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('alert_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('text', sa.Text(), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['alert_id'], ['alerts.id'], name=op.f('fk_case_events_alert_id_alerts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_events')),
    sqlite_autoincrement=True,
    )
    with op.batch_alter_table('case_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_events_alert_id'), ['alert_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('case_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_events_alert_id'))
    op.drop_table('case_events')

    with op.batch_alter_table('case_conversations', schema=None) as batch_op:
        batch_op.drop_index('uq_case_conversations_open_person', sqlite_where=sa.text('closed_at IS NULL'), postgresql_where=sa.text('closed_at IS NULL'))
        batch_op.drop_index(batch_op.f('ix_case_conversations_supervisor_id'))
        batch_op.drop_index(batch_op.f('ix_case_conversations_alert_id'))
    op.drop_table('case_conversations')

    with op.batch_alter_table('alert_hits', schema=None) as batch_op:
        batch_op.drop_column('said_in')

    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.drop_column('contacting_by')
