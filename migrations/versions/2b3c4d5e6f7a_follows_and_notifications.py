"""Follows, notifications and their settings (issue 14).

A person follows a consultation or a locality (``follow``); each event leaves a row of
``notification`` per follower; ``notification_setting`` holds the choices that differ from the
defaults; ``digest_mark`` is each person's last daily and weekly digest.

Frozen: plain sqlalchemy types only, no application code (the timestamps are
core.timeutil.UTCDateTime, whose DDL is that of sa.DateTime()).

Revision ID: 2b3c4d5e6f7a
Revises: 1a2b3c4d5e6f
Create Date: 2026-12-01 23:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "2b3c4d5e6f7a"
down_revision = "1a2b3c4d5e6f"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "follow",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("consultation_id", sa.Integer(), nullable=True),
        sa.Column("locality_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "(consultation_id IS NULL) <> (locality_id IS NULL)", name="ck_follow_one_target"
        ),
        sa.ForeignKeyConstraint(
            ["consultation_id"], ["consultation.id"], name="fk_follow_consultation_id_consultation"
        ),
        sa.ForeignKeyConstraint(
            ["locality_id"], ["locality.id"], name="fk_follow_locality_id_locality"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user.id"], name="fk_follow_user_id_user", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_follow"),
        sa.UniqueConstraint("user_id", "consultation_id", name="uq_follow_user_consultation"),
        sa.UniqueConstraint("user_id", "locality_id", name="uq_follow_user_locality"),
    )
    op.create_index("ix_follow_consultation", "follow", ["consultation_id"])
    op.create_index("ix_follow_locality", "follow", ["locality_id"])

    op.create_table(
        "notification",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("detail", sa.String(length=16), nullable=True),
        sa.Column("consultation_id", sa.Integer(), nullable=True),
        sa.Column("opinion_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("read_at", sa.DateTime(), nullable=True),
        sa.Column("delivery", sa.String(length=8), nullable=False),
        sa.Column("mailed", sa.String(length=8), nullable=True),
        sa.Column("emailed_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["consultation_id"],
            ["consultation.id"],
            name="fk_notification_consultation_id_consultation",
        ),
        sa.ForeignKeyConstraint(
            ["opinion_id"], ["opinion.id"], name="fk_notification_opinion_id_opinion"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user.id"], name="fk_notification_user_id_user", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_notification"),
    )
    op.create_index("ix_notification_user", "notification", ["user_id", "id"])
    op.create_index("ix_notification_unread", "notification", ["user_id", "read_at"])
    op.create_index("ix_notification_consultation", "notification", ["consultation_id", "type"])
    op.create_index("ix_notification_pending", "notification", ["delivery", "mailed"])

    op.create_table(
        "notification_setting",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("frequency", sa.String(length=8), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user.id"],
            name="fk_notification_setting_user_id_user",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_notification_setting"),
        sa.UniqueConstraint("user_id", "type", name="uq_notification_setting_user_type"),
    )

    op.create_table(
        "digest_mark",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("frequency", sa.String(length=8), nullable=False),
        sa.Column("last_sent_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user.id"], name="fk_digest_mark_user_id_user", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_digest_mark"),
        sa.UniqueConstraint("user_id", "frequency", name="uq_digest_mark_user_frequency"),
    )


def downgrade() -> None:
    op.drop_table("digest_mark")
    op.drop_table("notification_setting")
    op.drop_index("ix_notification_pending", table_name="notification")
    op.drop_index("ix_notification_consultation", table_name="notification")
    op.drop_index("ix_notification_unread", table_name="notification")
    op.drop_index("ix_notification_user", table_name="notification")
    op.drop_table("notification")
    op.drop_index("ix_follow_locality", table_name="follow")
    op.drop_index("ix_follow_consultation", table_name="follow")
    op.drop_table("follow")
