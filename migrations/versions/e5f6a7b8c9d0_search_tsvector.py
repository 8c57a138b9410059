"""PostgreSQL search through a full-text index over the folded words

The trigram index served ILIKE '%term%', but short syllables ("dat", "dai") matched most
trigrams and the rows were rechecked one by one. A GIN index on to_tsvector('simple',
search_folded) answers the same word-prefix query from the index (consultations/search.py).
SQLite keeps its FTS5 table.

Frozen: the statements are written out here; no application code is imported.

Revision ID: e5f6a7b8c9d0
Revises: d4e5f6a7b8c9
Create Date: 2026-11-28 23:00:00
"""

from alembic import op

revision = "e5f6a7b8c9d0"
down_revision = "d4e5f6a7b8c9"
branch_labels = None
depends_on = None


TRGM_INDEX = (
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX IF NOT EXISTS ix_consultation_search_trgm "
    "ON consultation USING gin (search_folded gin_trgm_ops)",
)
TRGM_INDEX_DROP = ("DROP INDEX IF EXISTS ix_consultation_search_trgm",)

TSV_INDEX = (
    "CREATE INDEX IF NOT EXISTS ix_consultation_search_tsv "
    "ON consultation USING gin (to_tsvector('simple'::regconfig, search_folded))",
)
TSV_INDEX_DROP = ("DROP INDEX IF EXISTS ix_consultation_search_tsv",)


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        for statement in TRGM_INDEX_DROP + TSV_INDEX:
            op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for statement in TSV_INDEX_DROP + TRGM_INDEX:
            op.execute(statement)
