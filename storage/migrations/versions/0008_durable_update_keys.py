"""durable: each alert hit names the inbox update it came from (a replayed update adds nothing)

Revision ID: 0008_durable
Revises: 0007_reach
Create Date: 2026-12-08 10:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_durable"
down_revision = "0007_reach"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Hits stored before this have no update: they are never replayed again.
    with op.batch_alter_table("alert_hits", schema=None) as batch_op:
        batch_op.add_column(sa.Column("update_id", sa.BigInteger(), nullable=True))
        batch_op.create_index("ix_alert_hits_update_id", ["update_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("alert_hits", schema=None) as batch_op:
        batch_op.drop_index("ix_alert_hits_update_id")
        batch_op.drop_column("update_id")
