"""PostgreSQL search index over a function the planner prices right

Once ANALYZE had run, the planner took to_tsvector over each folded draft for cheap and read
the whole table through it rather than the GIN index: 1.3 s a search over 5,000 consultations.
The index is now on gopy_search_vector(search_folded), a PL/pgSQL wrapper declared costly
(consultations/search.py). SQLite keeps its FTS5 table.

Frozen: the statements are written out here; no application code is imported.

Revision ID: b8c9d0e1f2a3
Revises: a7b8c9d0e1f2
Create Date: 2026-11-29 03:00:00
"""

from alembic import op

revision = "b8c9d0e1f2a3"
down_revision = "a7b8c9d0e1f2"
branch_labels = None
depends_on = None


#: The index of e5f6a7b8c9d0, on the bare expression.
TSV_INDEX = (
    "CREATE INDEX IF NOT EXISTS ix_consultation_search_tsv "
    "ON consultation USING gin (to_tsvector('simple'::regconfig, search_folded))",
)
TSV_INDEX_DROP = ("DROP INDEX IF EXISTS ix_consultation_search_tsv",)

#: PL/pgSQL, so it is never inlined (an inlined SQL function would lose its COST).
VECTOR_INDEX = (
    """CREATE OR REPLACE FUNCTION gopy_search_vector(folded text) RETURNS tsvector
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE COST 5000 AS $$
BEGIN
    RETURN to_tsvector('simple'::regconfig, folded);
END
$$""",
    "CREATE INDEX IF NOT EXISTS ix_consultation_search_vector "
    "ON consultation USING gin (gopy_search_vector(search_folded))",
)
VECTOR_INDEX_DROP = (
    "DROP INDEX IF EXISTS ix_consultation_search_vector",
    "DROP FUNCTION IF EXISTS gopy_search_vector(text)",
)


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        for statement in TSV_INDEX_DROP + VECTOR_INDEX:
            op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for statement in VECTOR_INDEX_DROP + TSV_INDEX:
            op.execute(statement)
