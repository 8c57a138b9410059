"""personal data (Law 91/2025/QH15): an offline contributor's agreement to be named, activity dates

- ``opinion.contributor_name_public``: the person who gave an opinion on paper, at a meeting or by
  telephone agreed to be named in public (ticked by the official who entered it). Existing rows
  become false: nobody agreed, so their names are no longer public.
- ``user.last_seen_at`` and ``user.inactivity_notice_at``: the retention command
  (``flask --app app privacy retention``) counts inactivity from the last login (for accounts
  already there, from this migration) and erases an inactive account only after telling its owner.
- The default display name no longer shows residence: accounts still carrying the old default
  "Người dân <village>" become "Người dân"; the name of deleted accounts takes the modern
  spelling of "xóa". Neither is undone on the way down (they are data, not schema).

Frozen: plain SQL and sqlalchemy types only, no application code.

Revision ID: d1a7a91c0f35
Revises: c9d0e1f2a3b4
Create Date: 2026-12-08 09:00:00
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "d1a7a91c0f35"
down_revision = "c9d0e1f2a3b4"
branch_labels = None
depends_on = None


# Plain ALTER TABLE on both databases, as in c9d0e1f2a3b4: a batch copy of opinion or user would
# trip the foreign keys and the triggers that point at them.
COLUMNS = [
    ("opinion", sa.Column("contributor_name_public", sa.Boolean(), nullable=False, server_default=sa.false())),
    ("user", sa.Column("last_seen_at", sa.DateTime(), nullable=True)),
    ("user", sa.Column("inactivity_notice_at", sa.DateTime(), nullable=True)),
]


def upgrade():
    for table, column in COLUMNS:
        op.add_column(table, column)
    # Inactivity counts from now for the accounts already there: no login was recorded before,
    # and nobody may be warned for a silence the platform did not see.
    op.execute(
        sa.text('UPDATE "user" SET last_seen_at = :now WHERE deleted_at IS NULL').bindparams(
            now=datetime.now(UTC).replace(tzinfo=None)
        )
    )
    op.execute(
        sa.text(
            'UPDATE "user" SET display_name = :plain '
            'WHERE locality_id IS NOT NULL AND deleted_at IS NULL AND display_name = '
            "(SELECT :plain || ' ' || locality.name FROM locality WHERE locality.id = \"user\".locality_id)"
        ).bindparams(plain="Người dân")
    )
    op.execute(
        sa.text('UPDATE "user" SET display_name = :new WHERE display_name = :old').bindparams(
            new="Người dân đã xóa tài khoản", old="Người dân đã xoá tài khoản"
        )
    )


def downgrade():
    for table, column in reversed(COLUMNS):
        op.drop_column(table, column.name)
