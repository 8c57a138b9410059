"""Household votes on the matters residents decide (issue 15).

The register of households (household), the vote of a decide consultation and its counting
(decision), its numbered paper ballots (ballot), one vote per household per matter (vote,
unique on section and household) and the later entries refused for a household that had
already voted (vote_conflict).

Frozen: plain sqlalchemy types only, no application code (the datetimes are
core.timeutil.UTCDateTime, whose DDL is that of sa.DateTime()).

Revision ID: 4d5e6f7a8b9c
Revises: 3c4d5e6f7a8b
Create Date: 2026-12-02 04:13:42
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "4d5e6f7a8b9c"
down_revision = "3c4d5e6f7a8b"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "household",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("locality_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("representative_name", sa.String(length=200), nullable=False),
        sa.Column("address", sa.String(length=300), nullable=False),
        sa.Column("representative_id", sa.Integer(), nullable=True),
        sa.Column("linked_at", sa.DateTime(), nullable=True),
        sa.Column("key_hash", sa.String(length=64), nullable=True),
        sa.Column("key_issued_at", sa.DateTime(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["locality_id"], ["locality.id"], name=op.f("fk_household_locality_id_locality")
        ),
        sa.ForeignKeyConstraint(
            ["representative_id"],
            ["user.id"],
            name=op.f("fk_household_representative_id_user"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_household")),
        sa.UniqueConstraint("locality_id", "code", name="uq_household_locality_code"),
        sa.UniqueConstraint("representative_id", name="uq_household_representative_id"),
    )
    with op.batch_alter_table("household", schema=None) as batch_op:
        batch_op.create_index("ix_household_code", ["code"], unique=False)

    op.create_table(
        "ballot",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("consultation_id", sa.Integer(), nullable=False),
        sa.Column("household_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("printed_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["consultation_id"],
            ["consultation.id"],
            name=op.f("fk_ballot_consultation_id_consultation"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["household_id"], ["household.id"], name=op.f("fk_ballot_household_id_household")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ballot")),
        sa.UniqueConstraint("consultation_id", "household_id", name="uq_ballot_household"),
        sa.UniqueConstraint("consultation_id", "number", name="uq_ballot_number"),
    )
    op.create_table(
        "decision",
        sa.Column("consultation_id", sa.Integer(), nullable=False),
        sa.Column("secret", sa.Boolean(), nullable=False),
        sa.Column("committee", sa.JSON(), nullable=False),
        sa.Column("counted_at", sa.DateTime(), nullable=True),
        sa.Column("counted_by_id", sa.Integer(), nullable=True),
        sa.Column("counted", sa.JSON(), nullable=True),
        sa.Column("signed_at", sa.DateTime(), nullable=True),
        sa.Column("signed_by_id", sa.Integer(), nullable=True),
        sa.Column("sign_note", sa.Text(), nullable=True),
        sa.Column("published_at", sa.DateTime(), nullable=True),
        sa.Column("published_by_id", sa.Integer(), nullable=True),
        sa.Column("content_hash", sa.String(length=64), nullable=True),
        sa.Column("content", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["consultation_id"],
            ["consultation.id"],
            name=op.f("fk_decision_consultation_id_consultation"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["counted_by_id"], ["user.id"], name=op.f("fk_decision_counted_by_id_user")
        ),
        sa.ForeignKeyConstraint(
            ["published_by_id"], ["user.id"], name=op.f("fk_decision_published_by_id_user")
        ),
        sa.ForeignKeyConstraint(
            ["signed_by_id"], ["user.id"], name=op.f("fk_decision_signed_by_id_user")
        ),
        sa.PrimaryKeyConstraint("consultation_id", name=op.f("pk_decision")),
    )
    op.create_table(
        "vote",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("consultation_id", sa.Integer(), nullable=False),
        sa.Column("section_id", sa.Integer(), nullable=False),
        sa.Column("household_id", sa.Integer(), nullable=False),
        sa.Column(
            "choice",
            sa.Enum(
                "agree", "disagree", "blank", "spoilt", name="choice", native_enum=False, length=16
            ),
            nullable=False,
        ),
        sa.Column(
            "channel",
            sa.Enum("online", "paper", "meeting", name="votechannel", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("cast_by_id", sa.Integer(), nullable=True),
        sa.Column("entered_by_id", sa.Integer(), nullable=True),
        sa.Column("ballot_number", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column(
            "original_choice",
            sa.Enum(
                "agree", "disagree", "blank", "spoilt", name="choice", native_enum=False, length=16
            ),
            nullable=True,
        ),
        sa.Column("corrected_at", sa.DateTime(), nullable=True),
        sa.Column("corrected_by_id", sa.Integer(), nullable=True),
        sa.Column("correction_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["cast_by_id"], ["user.id"], name=op.f("fk_vote_cast_by_id_user"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["consultation_id"],
            ["consultation.id"],
            name=op.f("fk_vote_consultation_id_consultation"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["corrected_by_id"], ["user.id"], name=op.f("fk_vote_corrected_by_id_user")
        ),
        sa.ForeignKeyConstraint(
            ["entered_by_id"], ["user.id"], name=op.f("fk_vote_entered_by_id_user")
        ),
        sa.ForeignKeyConstraint(
            ["household_id"], ["household.id"], name=op.f("fk_vote_household_id_household")
        ),
        sa.ForeignKeyConstraint(
            ["section_id"], ["section.id"], name=op.f("fk_vote_section_id_section")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vote")),
        sa.UniqueConstraint("section_id", "household_id", name="uq_vote_section_household"),
    )
    with op.batch_alter_table("vote", schema=None) as batch_op:
        batch_op.create_index(
            "ix_vote_consultation", ["consultation_id", "section_id"], unique=False
        )
        batch_op.create_index("ix_vote_household", ["household_id"], unique=False)

    op.create_table(
        "vote_conflict",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("consultation_id", sa.Integer(), nullable=False),
        sa.Column("section_id", sa.Integer(), nullable=False),
        sa.Column("household_id", sa.Integer(), nullable=False),
        sa.Column("vote_id", sa.Integer(), nullable=False),
        sa.Column(
            "choice",
            sa.Enum(
                "agree", "disagree", "blank", "spoilt", name="choice", native_enum=False, length=16
            ),
            nullable=False,
        ),
        sa.Column(
            "channel",
            sa.Enum("online", "paper", "meeting", name="votechannel", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("cast_by_id", sa.Integer(), nullable=True),
        sa.Column("entered_by_id", sa.Integer(), nullable=True),
        sa.Column("ballot_number", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["cast_by_id"],
            ["user.id"],
            name=op.f("fk_vote_conflict_cast_by_id_user"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["consultation_id"],
            ["consultation.id"],
            name=op.f("fk_vote_conflict_consultation_id_consultation"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["entered_by_id"], ["user.id"], name=op.f("fk_vote_conflict_entered_by_id_user")
        ),
        sa.ForeignKeyConstraint(
            ["household_id"], ["household.id"], name=op.f("fk_vote_conflict_household_id_household")
        ),
        sa.ForeignKeyConstraint(
            ["section_id"], ["section.id"], name=op.f("fk_vote_conflict_section_id_section")
        ),
        sa.ForeignKeyConstraint(
            ["vote_id"], ["vote.id"], name=op.f("fk_vote_conflict_vote_id_vote")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vote_conflict")),
    )
    with op.batch_alter_table("vote_conflict", schema=None) as batch_op:
        batch_op.create_index("ix_vote_conflict_consultation", ["consultation_id"], unique=False)


def downgrade() -> None:
    for table in ("vote_conflict", "vote", "decision", "ballot", "household"):
        op.drop_table(table)
