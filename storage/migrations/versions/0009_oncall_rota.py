"""rota: the weekly on-call rota (peerbot oncall rota set), handed over by the bot's tick

Revision ID: 0009_rota
Revises: 0008_durable
Create Date: 2026-12-05 21:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_rota"
down_revision = "0008_durable"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rota_shifts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("weekday", sa.SmallInteger(), nullable=False),
        sa.Column("starts", sa.Time(), nullable=False),
        sa.Column("ends", sa.Time(), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("primary_id", sa.Integer(), nullable=False),
        sa.Column("backup_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["primary_id"],
            ["users.id"],
            name=op.f("fk_rota_shifts_primary_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["backup_id"],
            ["users.id"],
            name=op.f("fk_rota_shifts_backup_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rota_shifts")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("rota_shifts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_rota_shifts_primary_id"), ["primary_id"])
        batch_op.create_index(batch_op.f("ix_rota_shifts_backup_id"), ["backup_id"])


def downgrade() -> None:
    with op.batch_alter_table("rota_shifts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rota_shifts_backup_id"))
        batch_op.drop_index(batch_op.f("ix_rota_shifts_primary_id"))
    op.drop_table("rota_shifts")
