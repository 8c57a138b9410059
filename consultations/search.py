"""Diacritic-free search over ``Consultation.search_folded``.

Both sides are folded with ``textutil.fold`` ("Quy hoạch đất đai" is stored as "quy hoach dat dai",
the query "đất đai" or "dat dai" becomes "dat dai"), so the index only ever sees plain ASCII-ish
words. SQLite uses an FTS5 table kept in sync by triggers; PostgreSQL a GIN index over
``to_tsvector('simple', search_folded)``. Both match every word of the query as a word prefix.
(PostgreSQL first had a trigram index for ``ILIKE '%term%'``: short syllables such as "dat" made it
recheck most rows, 984 ms p95 over 5,000 consultations in bench/.) The DDL lives here as constants so the Alembic migration can import
the very same statements; the listeners below make ``db.create_all()`` (the tests) build them too.
"""

from __future__ import annotations

from sqlalchemy import DDL, event, text
from sqlalchemy.sql import ColumnElement

from extensions import db
from textutil import search_terms

# --- SQLite: FTS5, external content over consultation.search_folded ---------------------------

SQLITE_FTS_TABLE = (
    "CREATE VIRTUAL TABLE IF NOT EXISTS consultation_fts USING fts5("
    "search_folded, content='consultation', content_rowid='id')"
)
SQLITE_FTS_INSERT_TRIGGER = (
    "CREATE TRIGGER IF NOT EXISTS consultation_fts_ai AFTER INSERT ON consultation BEGIN "
    "INSERT INTO consultation_fts(rowid, search_folded) VALUES (new.id, new.search_folded); END"
)
SQLITE_FTS_DELETE_TRIGGER = (
    "CREATE TRIGGER IF NOT EXISTS consultation_fts_ad AFTER DELETE ON consultation BEGIN "
    "INSERT INTO consultation_fts(consultation_fts, rowid, search_folded) "
    "VALUES ('delete', old.id, old.search_folded); END"
)
SQLITE_FTS_UPDATE_TRIGGER = (
    "CREATE TRIGGER IF NOT EXISTS consultation_fts_au AFTER UPDATE OF search_folded ON consultation BEGIN "
    "INSERT INTO consultation_fts(consultation_fts, rowid, search_folded) "
    "VALUES ('delete', old.id, old.search_folded); "
    "INSERT INTO consultation_fts(rowid, search_folded) VALUES (new.id, new.search_folded); END"
)
#: Fills the index from existing rows (for a migration run on a database that has data).
SQLITE_FTS_REBUILD = "INSERT INTO consultation_fts(consultation_fts) VALUES ('rebuild')"

#: In order; each is one statement (SQLite executes one at a time).
SQLITE_DDL = (
    SQLITE_FTS_TABLE,
    SQLITE_FTS_INSERT_TRIGGER,
    SQLITE_FTS_DELETE_TRIGGER,
    SQLITE_FTS_UPDATE_TRIGGER,
)
#: Dropping the table drops its triggers; the FTS table must go by itself.
SQLITE_DROP_DDL = (
    "DROP TRIGGER IF EXISTS consultation_fts_au",
    "DROP TRIGGER IF EXISTS consultation_fts_ad",
    "DROP TRIGGER IF EXISTS consultation_fts_ai",
    "DROP TABLE IF EXISTS consultation_fts",
)

# --- PostgreSQL: full-text GIN index over the folded words -----------------------------------

#: to_tsvector wrapped in a function the planner knows to be costly. Once ANALYZE had run, it
#: priced to_tsvector over a whole folded draft as cheap and read the table through it instead
#: of the index: 1.3 s a search over 5,000 consultations (bench/). PL/pgSQL, so it is never
#: inlined (an inlined SQL function would lose its COST).
POSTGRES_TSV_FUNCTION = """CREATE OR REPLACE FUNCTION gopy_search_vector(folded text) RETURNS tsvector
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE COST 5000 AS $$
BEGIN
    RETURN to_tsvector('simple'::regconfig, folded);
END
$$"""
#: Must be the very expression of the WHERE clause for the planner to use the index.
POSTGRES_TSV_EXPRESSION = "gopy_search_vector(search_folded)"
POSTGRES_DDL = (
    POSTGRES_TSV_FUNCTION,
    "CREATE INDEX IF NOT EXISTS ix_consultation_search_vector "
    f"ON consultation USING gin ({POSTGRES_TSV_EXPRESSION})",
)
POSTGRES_DROP_DDL = (
    "DROP INDEX IF EXISTS ix_consultation_search_vector",
    "DROP FUNCTION IF EXISTS gopy_search_vector(text)",
)

#: The index of migration e5f6a7b8c9d0, on the bare expression (replaced by b8c9d0e1f2a3).
POSTGRES_TSV_V1_DDL = (
    "CREATE INDEX IF NOT EXISTS ix_consultation_search_tsv "
    "ON consultation USING gin (to_tsvector('simple'::regconfig, search_folded))",
)
POSTGRES_TSV_V1_DROP_DDL = ("DROP INDEX IF EXISTS ix_consultation_search_tsv",)

#: The first PostgreSQL index (migration b7c1d2e3f4a5), replaced by the one above (e5f6a7b8c9d0).
POSTGRES_TRGM_EXTENSION = "CREATE EXTENSION IF NOT EXISTS pg_trgm"
POSTGRES_TRGM_INDEX = (
    "CREATE INDEX IF NOT EXISTS ix_consultation_search_trgm "
    "ON consultation USING gin (search_folded gin_trgm_ops)"
)
POSTGRES_TRGM_DDL = (POSTGRES_TRGM_EXTENSION, POSTGRES_TRGM_INDEX)
POSTGRES_TRGM_DROP_DDL = ("DROP INDEX IF EXISTS ix_consultation_search_trgm",)


for _statement in SQLITE_DDL:
    event.listen(db.metadata, "after_create", DDL(_statement).execute_if(dialect="sqlite"))
for _statement in SQLITE_DROP_DDL:
    event.listen(db.metadata, "before_drop", DDL(_statement).execute_if(dialect="sqlite"))
for _statement in POSTGRES_DDL:
    event.listen(db.metadata, "after_create", DDL(_statement).execute_if(dialect="postgresql"))
for _statement in POSTGRES_DROP_DDL:
    event.listen(db.metadata, "before_drop", DDL(_statement).execute_if(dialect="postgresql"))


# --- the query --------------------------------------------------------------------------------

def _fts_query(terms: list[str]) -> str:
    # Each folded word as a quoted prefix: every word must match ("dat" "dai"*), and nothing
    # the visitor typed can be read as FTS5 syntax.
    return " ".join('"' + t.replace('"', "") + '"*' for t in terms)


def search_condition(query: str | None) -> ColumnElement[bool] | None:
    """A WHERE condition on Consultation for the words of ``query``, or None when it has none."""
    terms = search_terms(query)
    if not terms:
        return None
    dialect = db.session.get_bind().dialect.name
    if dialect == "sqlite":
        # The unary + keeps SQLite from fetching each match's wide row by id: it scans the narrow
        # ix_consultation_listing instead, which holds every column the list filters on.
        return text(
            "+consultation.id IN (SELECT rowid FROM consultation_fts WHERE consultation_fts MATCH :fts_query)"
        ).bindparams(fts_query=_fts_query(terms))
    # Each word a quoted prefix ('dat':* & 'dai':*); \w+ words hold no quote or backslash.
    tsquery = " & ".join(f"'{t}':*" for t in terms)
    return text(f"{POSTGRES_TSV_EXPRESSION} @@ to_tsquery('simple'::regconfig, :tsquery)").bindparams(
        tsquery=tsquery
    )
