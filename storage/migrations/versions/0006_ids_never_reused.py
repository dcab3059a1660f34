"""ids never reused; an alert outlives its person (alerts.pseudonym, user_id SET NULL)

On SQLite every table with a surrogate id becomes AUTOINCREMENT (rebuilt by Alembic's
batch mode: SQLite cannot add it to an existing table), and each table's counter starts
above every id the outbox's idempotency keys still name, so an id freed before this
migration is not handed out again either. PostgreSQL's sequences never went back, so
there the ids need nothing.

Alerts: ``user_id`` may become NULL (the person erased their data; the case stays until
it is resolved) and ``pseudonym`` keeps what supervisors call them.

Revision ID: 0006_ids
Revises: 0005_honest
Create Date: 2026-12-05 19:00:00.000000
"""

from __future__ import annotations

import re

import sqlalchemy as sa
from alembic import op

revision = "0006_ids"
down_revision = "0005_honest"
branch_labels = None
depends_on = None

SURROGATE_ID_TABLES = (
    "users",
    "consents",
    "invites",
    "daily_logs",
    "alerts",
    "alert_hits",
    "audit_events",
    "labelled_examples",
    "oncall_shifts",
    "outbox",
    "matches",
    "relays",
    "session_notes",
    "review_items",
)
# Partial unique indexes, written out again after a rebuild: batch mode's reflection of a
# SQLite index does not carry its WHERE clause on every SQLAlchemy version.
PARTIAL_INDEXES = {
    "matches": ("uq_matches_active_mentee", "mentee_id", "status = 'active'"),
    "relays": ("uq_relays_open_match", "match_id", "closed_at IS NULL"),
}
# Outbox keys that name an id: (pattern, table). A counter starts above all of them.
KEYED_IDS = (
    (r"^(?:alert|alertnote|alerttopic|alertedit):(\d+)", "alerts"),
    (r"^(?:match|match_checkin):(\d+)", "matches"),
    (r"^nudge:contact:(\d+)", "matches"),
    (r"^(?:relay|boundary|undelivered:relay):(\d+)", "relays"),
    (r"^relay:\d+:(\d+):", "users"),
    (r"^(?:nudge:queue|digest):(\d+)", "users"),
    (r"^review:(\d+)", "review_items"),
)


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    with op.batch_alter_table(
        "alerts",
        recreate="always" if sqlite else "auto",
        table_kwargs={"sqlite_autoincrement": True},
    ) as batch_op:
        batch_op.add_column(sa.Column("pseudonym", sa.String(length=40), nullable=True))
        batch_op.alter_column("user_id", existing_type=sa.Integer(), nullable=True)
        batch_op.drop_constraint("fk_alerts_user_id_users", type_="foreignkey")
        batch_op.create_foreign_key(
            "fk_alerts_user_id_users", "users", ["user_id"], ["id"], ondelete="SET NULL"
        )
    op.execute(
        "UPDATE alerts SET pseudonym = "
        "(SELECT users.pseudonym FROM users WHERE users.id = alerts.user_id)"
    )
    if sqlite:
        for table in SURROGATE_ID_TABLES:
            if table != "alerts":
                _rebuild_with_autoincrement(table)
        _start_counters_above_keyed_ids()


def _rebuild_with_autoincrement(table: str) -> None:
    with op.batch_alter_table(
        table, recreate="always", table_kwargs={"sqlite_autoincrement": True}
    ):
        pass
    if table in PARTIAL_INDEXES:
        name, column, where = PARTIAL_INDEXES[table]
        op.execute(f"DROP INDEX IF EXISTS {name}")
        op.execute(f"CREATE UNIQUE INDEX {name} ON {table} ({column}) WHERE {where}")


def _start_counters_above_keyed_ids() -> None:
    """Each table's AUTOINCREMENT counter above the highest id its rows or keys ever used."""
    bind = op.get_bind()
    highest: dict[str, int] = {}
    for (key,) in bind.execute(sa.text("SELECT key FROM outbox")):
        for pattern, table in KEYED_IDS:
            if found := re.match(pattern, key):
                highest[table] = max(highest.get(table, 0), int(found.group(1)))
    for table in SURROGATE_ID_TABLES:
        used = bind.execute(sa.text(f"SELECT COALESCE(MAX(id), 0) FROM {table}")).scalar_one()
        start = max(used, highest.get(table, 0))
        bind.execute(sa.text("DELETE FROM sqlite_sequence WHERE name = :t"), {"t": table})
        bind.execute(
            sa.text("INSERT INTO sqlite_sequence (name, seq) VALUES (:t, :seq)"),
            {"t": table, "seq": start},
        )


def downgrade() -> None:
    # The ids stay AUTOINCREMENT (harmless); alerts of erased people cannot go back to a
    # required user_id, so they are removed with their hits.
    op.execute(
        "DELETE FROM alert_hits WHERE alert_id IN (SELECT id FROM alerts WHERE user_id IS NULL)"
    )
    op.execute("DELETE FROM alerts WHERE user_id IS NULL")
    with op.batch_alter_table("alerts") as batch_op:
        batch_op.drop_constraint("fk_alerts_user_id_users", type_="foreignkey")
        batch_op.create_foreign_key(
            "fk_alerts_user_id_users", "users", ["user_id"], ["id"], ondelete="CASCADE"
        )
        batch_op.alter_column("user_id", existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column("pseudonym")
