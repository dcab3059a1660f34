"""roles at consent: people who opened an invite but never consented hold it, not its role

Revision ID: 0005_honest
Revises: 0004
Create Date: 2026-12-05 19:00:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0005_honest"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Before this, opening an invite link gave its role at once: someone who opened a
    # supervisor link and never agreed was paged with alerts. They keep the invite
    # (users.invite_id) and get its role when they consent, if it is still valid then.
    op.execute(
        "UPDATE users SET role = 'mentee' WHERE consent_version IS NULL AND invite_id IS NOT NULL"
    )


def downgrade() -> None:
    # Data only: who held which invite is kept, so nothing needs undoing.
    pass
