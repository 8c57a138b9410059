"""narrow index for the public list of consultations

The list filters and sorts on the status as of now (status, opens_at, closes_at) and the
locality; with this index it reads those from the index instead of the wide rows.

Revision ID: f6a7b8c9d0e1
Revises: e5f6a7b8c9d0
Create Date: 2026-11-28 23:20:00
"""

from alembic import op

revision = "f6a7b8c9d0e1"
down_revision = "e5f6a7b8c9d0"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("consultation") as batch_op:
        batch_op.create_index(
            "ix_consultation_listing", ["status", "opens_at", "closes_at", "locality_id"], unique=False
        )


def downgrade():
    with op.batch_alter_table("consultation") as batch_op:
        batch_op.drop_index("ix_consultation_listing")
