"""search index and append-only audit trail

What the ORM metadata cannot express: the FTS5 table (SQLite) or trigram index (PostgreSQL)
behind diacritic-free search, and the triggers that make audit_event append-only.

Frozen: the statements are written out here as they stood at this revision (they were the
constants of consultations/search.py and audit/triggers.py); no application code is imported.

Revision ID: b7c1d2e3f4a5
Revises: 4299010e984e
Create Date: 2026-11-28 20:00:00
"""

from alembic import op

revision = "b7c1d2e3f4a5"
down_revision = "4299010e984e"
branch_labels = None
depends_on = None


# --- search ---------------------------------------------------------------------------------

#: In order; each is one statement (SQLite executes one at a time).
SQLITE_SEARCH = (
    "CREATE VIRTUAL TABLE IF NOT EXISTS consultation_fts USING fts5("
    "search_folded, content='consultation', content_rowid='id')",
    "CREATE TRIGGER IF NOT EXISTS consultation_fts_ai AFTER INSERT ON consultation BEGIN "
    "INSERT INTO consultation_fts(rowid, search_folded) VALUES (new.id, new.search_folded); END",
    "CREATE TRIGGER IF NOT EXISTS consultation_fts_ad AFTER DELETE ON consultation BEGIN "
    "INSERT INTO consultation_fts(consultation_fts, rowid, search_folded) "
    "VALUES ('delete', old.id, old.search_folded); END",
    "CREATE TRIGGER IF NOT EXISTS consultation_fts_au AFTER UPDATE OF search_folded ON consultation BEGIN "
    "INSERT INTO consultation_fts(consultation_fts, rowid, search_folded) "
    "VALUES ('delete', old.id, old.search_folded); "
    "INSERT INTO consultation_fts(rowid, search_folded) VALUES (new.id, new.search_folded); END",
    # Fills the index from the rows already there.
    "INSERT INTO consultation_fts(consultation_fts) VALUES ('rebuild')",
)
SQLITE_SEARCH_DROP = (
    "DROP TRIGGER IF EXISTS consultation_fts_au",
    "DROP TRIGGER IF EXISTS consultation_fts_ad",
    "DROP TRIGGER IF EXISTS consultation_fts_ai",
    "DROP TABLE IF EXISTS consultation_fts",
)

POSTGRESQL_SEARCH = (
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX IF NOT EXISTS ix_consultation_search_trgm "
    "ON consultation USING gin (search_folded gin_trgm_ops)",
)
POSTGRESQL_SEARCH_DROP = ("DROP INDEX IF EXISTS ix_consultation_search_trgm",)

# --- audit_event is append-only -------------------------------------------------------------

SQLITE_AUDIT = (
    """CREATE TRIGGER IF NOT EXISTS audit_event_no_update BEFORE UPDATE ON audit_event
BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END""",
    """CREATE TRIGGER IF NOT EXISTS audit_event_no_delete BEFORE DELETE ON audit_event
BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END""",
)
SQLITE_AUDIT_DROP = (
    "DROP TRIGGER IF EXISTS audit_event_no_update",
    "DROP TRIGGER IF EXISTS audit_event_no_delete",
)

POSTGRESQL_AUDIT = (
    """CREATE OR REPLACE FUNCTION audit_event_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_event is append-only' USING ERRCODE = 'insufficient_privilege';
END
$$""",
    """CREATE TRIGGER audit_event_no_change BEFORE UPDATE OR DELETE ON audit_event
FOR EACH ROW EXECUTE FUNCTION audit_event_append_only()""",
    """CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit_event
FOR EACH STATEMENT EXECUTE FUNCTION audit_event_append_only()""",
)
POSTGRESQL_AUDIT_DROP = (
    "DROP TRIGGER IF EXISTS audit_event_no_truncate ON audit_event",
    "DROP TRIGGER IF EXISTS audit_event_no_change ON audit_event",
    "DROP FUNCTION IF EXISTS audit_event_append_only()",
)

UPGRADE = {
    "sqlite": SQLITE_SEARCH + SQLITE_AUDIT,
    "postgresql": POSTGRESQL_SEARCH + POSTGRESQL_AUDIT,
}
DOWNGRADE = {
    "sqlite": SQLITE_AUDIT_DROP + SQLITE_SEARCH_DROP,
    "postgresql": POSTGRESQL_AUDIT_DROP + POSTGRESQL_SEARCH_DROP,
}


def upgrade():
    for statement in UPGRADE.get(op.get_bind().dialect.name, ()):
        op.execute(statement)


def downgrade():
    for statement in DOWNGRADE.get(op.get_bind().dialect.name, ()):
        op.execute(statement)
