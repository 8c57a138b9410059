"""opinion_count kept by the opinion insert trigger

Posting an opinion updated consultation.opinion_count in a statement of its own; the insert
trigger that keeps opinion_tally now does it in the same step (consultations/tally.py). The
counts themselves are already right: only the triggers change.

Revision ID: a7b8c9d0e1f2
Revises: f6a7b8c9d0e1
Create Date: 2026-11-29 02:00:00
"""

from alembic import op

from consultations import tally

revision = "a7b8c9d0e1f2"
down_revision = "f6a7b8c9d0e1"
branch_labels = None
depends_on = None


def upgrade():
    bind = op.get_bind()
    tally.drop_triggers(bind)
    tally.create_triggers(bind, count=True)


def downgrade():
    bind = op.get_bind()
    tally.drop_triggers(bind)
    tally.create_triggers(bind, count=False)
