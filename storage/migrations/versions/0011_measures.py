"""measures: weekly validated questionnaires' scores (SSS-8, WSAS, UCLA 3-item, PSEQ-2)

Revision ID: 0011_measures
Revises: 0010_trends
Create Date: 2026-12-06 00:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011_measures"
down_revision = "0010_trends"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "measure_scores",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("measure", sa.String(length=16), nullable=False),
        sa.Column("local_date", sa.Date(), nullable=False),
        sa.Column("score", sa.SmallInteger(), nullable=False),
        sa.Column("out_of", sa.SmallInteger(), nullable=False),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_measure_scores_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_measure_scores")),
        sa.UniqueConstraint(
            "user_id", "measure", "local_date", name=op.f("uq_measure_scores_user_id")
        ),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("measure_scores", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_measure_scores_user_id"), ["user_id"])


def downgrade() -> None:
    with op.batch_alter_table("measure_scores", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_measure_scores_user_id"))
    op.drop_table("measure_scores")
