"""graduation: a mentee's mentoring marked as done, its milestones and boosters

Revision ID: 0014_graduation
Revises: 0013_events
Create Date: 2026-12-06 00:20:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014_graduation"
down_revision = "0013_events"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "graduations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("mentee_id", sa.Integer(), nullable=False),
        sa.Column("mentor_id", sa.Integer(), nullable=True),
        sa.Column("match_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("proposed_by", sa.Integer(), nullable=True),
        sa.Column("proposed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("confirmed_by", sa.Integer(), nullable=True),
        sa.Column("graduated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("milestones", sa.Text(), nullable=True),
        sa.Column("summary_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reminders", sa.String(length=8), nullable=True),
        sa.Column("mentor_interest_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("refresher_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("boosters", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["mentee_id"],
            ["users.id"],
            name=op.f("fk_graduations_mentee_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["mentor_id"],
            ["users.id"],
            name=op.f("fk_graduations_mentor_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["match_id"],
            ["matches.id"],
            name=op.f("fk_graduations_match_id_matches"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_graduations")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("graduations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_graduations_mentee_id"), ["mentee_id"])
        batch_op.create_index(
            "uq_graduations_proposed_match",
            ["match_id"],
            unique=True,
            sqlite_where=sa.text("status = 'proposed'"),
            postgresql_where=sa.text("status = 'proposed'"),
        )


def downgrade() -> None:
    with op.batch_alter_table("graduations", schema=None) as batch_op:
        batch_op.drop_index("uq_graduations_proposed_match")
        batch_op.drop_index(batch_op.f("ix_graduations_mentee_id"))
    op.drop_table("graduations")
