"""Alike opinions: the signatures are datasketch's MinHash now (alike/similarity.py). Those
stored before, and their bands, compare with nothing: they are cleared, and
`flask --app app opinions group <id>` computes them again (the groups are kept meanwhile).

Frozen: plain SQL, no application code.

Revision ID: 6f7a8b9c0d1e
Revises: 5e6f7a8b9c0d
Create Date: 2026-12-02 19:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "6f7a8b9c0d1e"
down_revision = "5e6f7a8b9c0d"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("DELETE FROM alike_band")
    op.execute(sa.text("UPDATE opinion_alike SET signature = :empty").bindparams(empty=b""))


def downgrade() -> None:
    pass  # the old signatures cannot be restored; a recomputation writes new ones
