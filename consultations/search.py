"""Diacritic-free search over ``Consultation.search_folded``.

Both sides are folded with ``textutil.fold`` ("Quy hoạch đất đai" is stored as "quy hoach dat dai",
the query "đất đai" or "dat dai" becomes "dat dai"), so the index only ever sees plain ASCII-ish
words. SQLite uses an FTS5 table kept in sync by triggers; PostgreSQL a trigram GIN index that
serves ``ILIKE '%term%'``. The DDL lives here as constants so the Alembic migration can import
the very same statements; the listeners below make ``db.create_all()`` (the tests) build them too.
"""

from __future__ import annotations

from sqlalchemy import DDL, and_, event, select, text
from sqlalchemy.sql import ColumnElement

from consultations.models import Consultation
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

# --- PostgreSQL: trigram GIN index for ILIKE '%term%' ---------------------------------------

POSTGRES_TRGM_EXTENSION = "CREATE EXTENSION IF NOT EXISTS pg_trgm"
POSTGRES_TRGM_INDEX = (
    "CREATE INDEX IF NOT EXISTS ix_consultation_search_trgm "
    "ON consultation USING gin (search_folded gin_trgm_ops)"
)
POSTGRES_DDL = (POSTGRES_TRGM_EXTENSION, POSTGRES_TRGM_INDEX)
POSTGRES_DROP_DDL = ("DROP INDEX IF EXISTS ix_consultation_search_trgm",)


for _statement in SQLITE_DDL:
    event.listen(db.metadata, "after_create", DDL(_statement).execute_if(dialect="sqlite"))
for _statement in SQLITE_DROP_DDL:
    event.listen(db.metadata, "before_drop", DDL(_statement).execute_if(dialect="sqlite"))
for _statement in POSTGRES_DDL:
    event.listen(db.metadata, "after_create", DDL(_statement).execute_if(dialect="postgresql"))
for _statement in POSTGRES_DROP_DDL:
    event.listen(db.metadata, "before_drop", DDL(_statement).execute_if(dialect="postgresql"))


# --- the query --------------------------------------------------------------------------------

def _like_escape(term: str) -> str:
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


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
        matches = (
            select(text("rowid"))
            .select_from(text("consultation_fts"))
            .where(text("consultation_fts MATCH :fts_query").bindparams(fts_query=_fts_query(terms)))
        )
        return Consultation.id.in_(matches)
    return and_(*(Consultation.search_folded.ilike(f"%{_like_escape(t)}%", escape="\\") for t in terms))
