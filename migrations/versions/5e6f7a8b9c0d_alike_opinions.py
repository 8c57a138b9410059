"""Alike opinions (issue 16): groups of opinions saying the same thing (opinion_group), what
the grouping keeps of each opinion (opinion_alike), the bands of its signature for the
incremental search (alike_band) and the moderator's merges (alike_link).

Frozen: plain sqlalchemy types only, no application code (the datetimes are
core.timeutil.UTCDateTime, whose DDL is that of sa.DateTime()).

Revision ID: 5e6f7a8b9c0d
Revises: 4d5e6f7a8b9c
Create Date: 2026-12-02 13:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "5e6f7a8b9c0d"
down_revision = "4d5e6f7a8b9c"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "opinion_group",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("consultation_id", sa.Integer(), nullable=False),
        sa.Column("section_id", sa.Integer(), nullable=True),
        sa.Column("representative_id", sa.Integer(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("campaign", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("answering_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["consultation_id"],
            ["consultation.id"],
            name=op.f("fk_opinion_group_consultation_id_consultation"),
        ),
        sa.ForeignKeyConstraint(
            ["section_id"], ["section.id"], name=op.f("fk_opinion_group_section_id_section")
        ),
        sa.ForeignKeyConstraint(
            ["representative_id"],
            ["opinion.id"],
            name=op.f("fk_opinion_group_representative_id_opinion"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_opinion_group")),
    )
    op.create_index(
        "ix_opinion_group_consultation", "opinion_group", ["consultation_id", "section_id"]
    )
    op.create_table(
        "opinion_alike",
        sa.Column("opinion_id", sa.Integer(), nullable=False),
        sa.Column("consultation_id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=True),
        sa.Column("text_key", sa.String(length=32), nullable=False),
        sa.Column("signature", sa.LargeBinary(), nullable=False),
        sa.Column("apart", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.ForeignKeyConstraint(
            ["opinion_id"], ["opinion.id"], name=op.f("fk_opinion_alike_opinion_id_opinion")
        ),
        sa.ForeignKeyConstraint(
            ["consultation_id"],
            ["consultation.id"],
            name=op.f("fk_opinion_alike_consultation_id_consultation"),
        ),
        sa.ForeignKeyConstraint(
            ["group_id"], ["opinion_group.id"], name=op.f("fk_opinion_alike_group_id_opinion_group")
        ),
        sa.PrimaryKeyConstraint("opinion_id", name=op.f("pk_opinion_alike")),
    )
    op.create_index("ix_opinion_alike_key", "opinion_alike", ["consultation_id", "text_key"])
    op.create_index("ix_opinion_alike_group", "opinion_alike", ["group_id", "opinion_id"])
    op.create_table(
        "alike_band",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("consultation_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.BigInteger(), nullable=False),
        sa.Column("opinion_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["consultation_id"],
            ["consultation.id"],
            name=op.f("fk_alike_band_consultation_id_consultation"),
        ),
        sa.ForeignKeyConstraint(
            ["opinion_id"], ["opinion.id"], name=op.f("fk_alike_band_opinion_id_opinion")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alike_band")),
    )
    op.create_index("ix_alike_band_key", "alike_band", ["consultation_id", "key"])
    op.create_index("ix_alike_band_opinion_id", "alike_band", ["opinion_id"])
    op.create_table(
        "alike_link",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("consultation_id", sa.Integer(), nullable=False),
        sa.Column("opinion_id", sa.Integer(), nullable=False),
        sa.Column("other_opinion_id", sa.Integer(), nullable=False),
        sa.Column("by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["consultation_id"],
            ["consultation.id"],
            name=op.f("fk_alike_link_consultation_id_consultation"),
        ),
        sa.ForeignKeyConstraint(
            ["opinion_id"], ["opinion.id"], name=op.f("fk_alike_link_opinion_id_opinion")
        ),
        sa.ForeignKeyConstraint(
            ["other_opinion_id"],
            ["opinion.id"],
            name=op.f("fk_alike_link_other_opinion_id_opinion"),
        ),
        sa.ForeignKeyConstraint(["by_id"], ["user.id"], name=op.f("fk_alike_link_by_id_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alike_link")),
    )
    op.create_index("ix_alike_link_consultation_id", "alike_link", ["consultation_id"])


def downgrade() -> None:
    op.drop_table("alike_link")
    op.drop_table("alike_band")
    op.drop_table("opinion_alike")
    op.drop_table("opinion_group")
