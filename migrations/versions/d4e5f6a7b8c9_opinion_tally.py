"""opinion counts kept by triggers

A consultation page read its stance counts and totals with a GROUP BY over every opinion;
opinion_tally keeps them, exact, through triggers on opinion (consultations/tally.py).

Revision ID: d4e5f6a7b8c9
Revises: c3d4e5f6a7b8
Create Date: 2026-11-28 22:40:00
"""

import sqlalchemy as sa
from alembic import op

from consultations import tally

revision = "d4e5f6a7b8c9"
down_revision = "c3d4e5f6a7b8"
branch_labels = None
depends_on = None

_STATUS = sa.Enum("published", "hidden", "withdrawn", name="opinionstatus", native_enum=False, length=16)
_STANCE = sa.Enum("agree", "disagree", "suggest", name="stance", native_enum=False, length=16)


def upgrade():
    op.create_table(
        "opinion_tally",
        sa.Column("consultation_id", sa.Integer(), nullable=False),
        sa.Column("section_key", sa.Integer(), nullable=False),
        sa.Column("status", _STATUS, nullable=False),
        sa.Column("stance", _STANCE, nullable=False),
        sa.Column("answered", sa.Boolean(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["consultation_id"], ["consultation.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("consultation_id", "section_key", "status", "stance", "answered"),
    )
    bind = op.get_bind()
    tally.create_triggers(bind, count=False)  # the counter moved into them later (a7b8c9d0e1f2)
    tally.rebuild(bind)


def downgrade():
    tally.drop_triggers(op.get_bind())
    op.drop_table("opinion_tally")
