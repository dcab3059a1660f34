"""trends: a low-spoon daily log keeps only symptoms, energy and mood

A three-tap log (on a bad day) saves the day's symptom intensity, energy and mood; the
other answers of the full log stay empty, so their columns may now be NULL.

Revision ID: 0010_trends
Revises: 0009_rota
Create Date: 2026-12-05 22:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_trends"
down_revision = "0009_rota"
branch_labels = None
depends_on = None

OPTIONAL = (
    ("activity", sa.String(length=16)),
    ("rest_breaks", sa.SmallInteger()),
    ("sleep_quality", sa.SmallInteger()),
    ("sleep_hours", sa.Float()),
    ("interference", sa.SmallInteger()),
)


def upgrade() -> None:
    with op.batch_alter_table(
        "daily_logs", table_kwargs={"sqlite_autoincrement": True}
    ) as batch_op:
        for name, kind in OPTIONAL:
            batch_op.alter_column(name, existing_type=kind, nullable=True)


def downgrade() -> None:
    op.execute("DELETE FROM daily_logs WHERE activity IS NULL")  # three-tap logs
    with op.batch_alter_table(
        "daily_logs", table_kwargs={"sqlite_autoincrement": True}
    ) as batch_op:
        for name, kind in OPTIONAL:
            batch_op.alter_column(name, existing_type=kind, nullable=False)
