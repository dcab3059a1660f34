"""how alerts were raised: alerts.raised_by, and per hit its detector and why

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-05 18:10:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op



revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Server defaults: the alerts and hits stored before this came from words, through the
    # lexicon (the only detector there was).
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('raised_by', sa.String(length=8), server_default='words', nullable=False))

    with op.batch_alter_table('alert_hits', schema=None) as batch_op:
        batch_op.add_column(sa.Column('detector', sa.String(length=16), server_default='lexicon', nullable=False))
        batch_op.add_column(sa.Column('why', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('alert_hits', schema=None) as batch_op:
        batch_op.drop_column('why')
        batch_op.drop_column('detector')

    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.drop_column('raised_by')
