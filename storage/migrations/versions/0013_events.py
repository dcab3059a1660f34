"""events: a program group's events and the RSVPs to them

Revision ID: 0013_events
Revises: 0012_groups
Create Date: 2026-12-06 00:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013_events"
down_revision = "0012_groups"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "group_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("place", sa.Text(), nullable=False),
        sa.Column("access", sa.JSON(), nullable=False),
        sa.Column("access_note", sa.Text(), nullable=True),
        sa.Column("capacity", sa.Integer(), nullable=True),
        sa.Column("post_chat_id", sa.BigInteger(), nullable=True),
        sa.Column("post_message_id", sa.Integer(), nullable=True),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["program_groups.id"],
            name=op.f("fk_group_events_group_id_program_groups"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
            name=op.f("fk_group_events_created_by_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_group_events")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("group_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_group_events_group_id"), ["group_id"])
        batch_op.create_index(batch_op.f("ix_group_events_starts_at"), ["starts_at"])
    op.create_table(
        "event_rsvps",
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["group_events.id"],
            name=op.f("fk_event_rsvps_event_id_group_events"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_event_rsvps_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("event_id", "user_id", name=op.f("pk_event_rsvps")),
    )
    with op.batch_alter_table("event_rsvps", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_event_rsvps_user_id"), ["user_id"])


def downgrade() -> None:
    with op.batch_alter_table("event_rsvps", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_event_rsvps_user_id"))
    op.drop_table("event_rsvps")
    with op.batch_alter_table("group_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_group_events_starts_at"))
        batch_op.drop_index(batch_op.f("ix_group_events_group_id"))
    op.drop_table("group_events")
