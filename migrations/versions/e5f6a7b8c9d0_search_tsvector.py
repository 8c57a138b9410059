"""PostgreSQL search through a full-text index over the folded words

The trigram index served ILIKE '%term%', but short syllables ("dat", "dai") matched most
trigrams and the rows were rechecked one by one. A GIN index on to_tsvector('simple',
search_folded) answers the same word-prefix query from the index (consultations/search.py).
SQLite keeps its FTS5 table.

Revision ID: e5f6a7b8c9d0
Revises: d4e5f6a7b8c9
Create Date: 2026-11-28 23:00:00
"""

from alembic import op

from consultations import search

revision = "e5f6a7b8c9d0"
down_revision = "d4e5f6a7b8c9"
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        for statement in search.POSTGRES_TRGM_DROP_DDL:
            op.execute(statement)
        for statement in search.POSTGRES_TSV_V1_DDL:
            op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for statement in search.POSTGRES_TSV_V1_DROP_DDL:
            op.execute(statement)
        for statement in search.POSTGRES_TRGM_DDL:
            op.execute(statement)
