"""Search ranks exact matches first: the indexed text gains exact and pair tokens

``consultation.search_folded`` now holds, after the folded text, each word with its diacritics
as a token ("0d9a61t" for "đất") and each pair of neighbouring words ("1dat0dai"), once each
(consultations/search.py ``index_text``). Rebuilt here for every consultation; the FTS5 triggers
and the GIN index follow the update. Downgrading writes the folded text back.

Revision ID: e1f2a3b4c5d6
Revises: d1a7a91c0f35
Create Date: 2026-12-01 21:00:00
"""

import sqlalchemy as sa
from alembic import op

from consultations.search import index_text
from core.textutil import fold

revision = "e1f2a3b4c5d6"
down_revision = "d1a7a91c0f35"
branch_labels = None
depends_on = None


def _rebuild(make) -> None:
    bind = op.get_bind()
    rows = bind.execute(sa.text("SELECT id, title, summary FROM consultation ORDER BY id")).all()
    for cid, title, summary in rows:
        sections = bind.execute(
            sa.text("SELECT heading, text FROM section WHERE consultation_id = :c ORDER BY position"),
            {"c": cid},
        ).all()
        parts = [title, summary or ""] + [f"{h or ''}\n{t or ''}" for h, t in sections]
        bind.execute(
            sa.text("UPDATE consultation SET search_folded = :s WHERE id = :c"),
            {"s": make("\n".join(parts)), "c": cid},
        )


def upgrade():
    _rebuild(index_text)


def downgrade():
    _rebuild(fold)
