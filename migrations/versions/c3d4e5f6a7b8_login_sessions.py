"""server-side login sessions

Logging out now ends a session on the server: each login is a row of login_session holding the
SHA-256 of the key its cookie carries. The per-user session_token it replaces goes.

Frozen: plain sqlalchemy types only, no application code (created_at was
core.timeutil.UTCDateTime, whose DDL is that of sa.DateTime()).

Revision ID: c3d4e5f6a7b8
Revises: b7c1d2e3f4a5
Create Date: 2026-11-28 22:20:00
"""

import secrets

import sqlalchemy as sa
from alembic import op

revision = "c3d4e5f6a7b8"
down_revision = "b7c1d2e3f4a5"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "login_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key_hash"),
    )
    with op.batch_alter_table("login_session") as batch_op:
        batch_op.create_index(batch_op.f("ix_login_session_user_id"), ["user_id"], unique=False)
    # Every existing cookie names a session_token, so everyone logs in again once.
    with op.batch_alter_table("user") as batch_op:
        batch_op.drop_column("session_token")


def downgrade():
    with op.batch_alter_table("user") as batch_op:
        batch_op.add_column(
            sa.Column(
                "session_token", sa.String(length=64), nullable=False, server_default=secrets.token_hex(16)
            )
        )
    with op.batch_alter_table("login_session") as batch_op:
        batch_op.drop_index(batch_op.f("ix_login_session_user_id"))
    op.drop_table("login_session")
