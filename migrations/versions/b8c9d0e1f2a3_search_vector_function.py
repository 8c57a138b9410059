"""PostgreSQL search index over a function the planner prices right

Once ANALYZE had run, the planner took to_tsvector over each folded draft for cheap and read
the whole table through it rather than the GIN index: 1.3 s a search over 5,000 consultations.
The index is now on gopy_search_vector(search_folded), a PL/pgSQL wrapper declared costly
(consultations/search.py). SQLite keeps its FTS5 table.

Revision ID: b8c9d0e1f2a3
Revises: a7b8c9d0e1f2
Create Date: 2026-11-29 03:00:00
"""

from alembic import op

from consultations import search

revision = "b8c9d0e1f2a3"
down_revision = "a7b8c9d0e1f2"
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        for statement in search.POSTGRES_TSV_V1_DROP_DDL + search.POSTGRES_DDL:
            op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for statement in search.POSTGRES_DROP_DDL + search.POSTGRES_TSV_V1_DDL:
            op.execute(statement)
