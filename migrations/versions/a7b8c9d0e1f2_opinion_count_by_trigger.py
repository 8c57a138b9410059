"""opinion_count kept by the opinion insert trigger

Posting an opinion updated consultation.opinion_count in a statement of its own; the insert
trigger that keeps opinion_tally now does it in the same step (consultations/tally.py). The
counts themselves are already right: only the triggers change.

Frozen: every trigger is dropped and built again from the DDL written out here, as it stood at
this revision (with the counter on the way up, without it on the way down, as d4e5f6a7b8c9 built
them); no application code is imported.

Revision ID: a7b8c9d0e1f2
Revises: f6a7b8c9d0e1
Create Date: 2026-11-29 02:00:00
"""

from alembic import op

revision = "a7b8c9d0e1f2"
down_revision = "f6a7b8c9d0e1"
branch_labels = None
depends_on = None


# --- SQLite: the counter is one more statement in the insert trigger ------------------------

_SQLITE_INSERT_TALLY = (
    "INSERT INTO opinion_tally (consultation_id, section_key, status, stance, answered, n) "
    "VALUES (new.consultation_id, COALESCE(new.section_id, 0), new.status, new.stance, "
    "(new.response_id IS NOT NULL), 1) "
    "ON CONFLICT (consultation_id, section_key, status, stance, answered) "
    "DO UPDATE SET n = opinion_tally.n + 1"
)
_SQLITE_INSERT_COUNT = (
    "UPDATE consultation SET opinion_count = opinion_count + 1 WHERE id = new.consultation_id"
)
_SQLITE_OTHERS = (
    "CREATE TRIGGER IF NOT EXISTS opinion_tally_ad AFTER DELETE ON opinion BEGIN "
    "UPDATE opinion_tally SET n = n - 1 WHERE consultation_id = old.consultation_id "
    "AND section_key = COALESCE(old.section_id, 0) AND status = old.status "
    "AND stance = old.stance AND answered = (old.response_id IS NOT NULL); END",
    "CREATE TRIGGER IF NOT EXISTS opinion_tally_au AFTER UPDATE OF "
    "consultation_id, section_id, status, stance, response_id ON opinion "
    "WHEN old.consultation_id != new.consultation_id "
    "OR COALESCE(old.section_id, 0) != COALESCE(new.section_id, 0) "
    "OR old.status != new.status OR old.stance != new.stance "
    "OR (old.response_id IS NULL) != (new.response_id IS NULL) BEGIN "
    "UPDATE opinion_tally SET n = n - 1 WHERE consultation_id = old.consultation_id "
    "AND section_key = COALESCE(old.section_id, 0) AND status = old.status "
    "AND stance = old.stance AND answered = (old.response_id IS NOT NULL); "
    "INSERT INTO opinion_tally (consultation_id, section_key, status, stance, answered, n) "
    "VALUES (new.consultation_id, COALESCE(new.section_id, 0), new.status, new.stance, "
    "(new.response_id IS NOT NULL), 1) "
    "ON CONFLICT (consultation_id, section_key, status, stance, answered) "
    "DO UPDATE SET n = opinion_tally.n + 1; END",
)
SQLITE_WITH_COUNT = (
    "CREATE TRIGGER IF NOT EXISTS opinion_tally_ai AFTER INSERT ON opinion BEGIN "
    f"{_SQLITE_INSERT_TALLY}; {_SQLITE_INSERT_COUNT}; END",
    *_SQLITE_OTHERS,
)
SQLITE_WITHOUT_COUNT = (
    f"CREATE TRIGGER IF NOT EXISTS opinion_tally_ai AFTER INSERT ON opinion BEGIN {_SQLITE_INSERT_TALLY}; END",
    *_SQLITE_OTHERS,
)
SQLITE_DROP = (
    "DROP TRIGGER IF EXISTS opinion_tally_au",
    "DROP TRIGGER IF EXISTS opinion_tally_ad",
    "DROP TRIGGER IF EXISTS opinion_tally_ai",
)

# --- PostgreSQL: the counter is a statement trigger of its own ------------------------------

_POSTGRESQL_TALLY = (
    """CREATE OR REPLACE FUNCTION opinion_tally_keep() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NOT (OLD.consultation_id != NEW.consultation_id OR COALESCE(OLD.section_id, 0) != COALESCE(NEW.section_id, 0) OR OLD.status != NEW.status OR OLD.stance != NEW.stance OR (OLD.response_id IS NULL) != (NEW.response_id IS NULL)) THEN
        RETURN NULL;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE opinion_tally SET n = n - 1 WHERE consultation_id = OLD.consultation_id AND section_key = COALESCE(OLD.section_id, 0) AND status = OLD.status AND stance = OLD.stance AND answered = (OLD.response_id IS NOT NULL);
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        INSERT INTO opinion_tally (consultation_id, section_key, status, stance, answered, n) VALUES (NEW.consultation_id, COALESCE(NEW.section_id, 0), NEW.status, NEW.stance, (NEW.response_id IS NOT NULL), 1) ON CONFLICT (consultation_id, section_key, status, stance, answered) DO UPDATE SET n = opinion_tally.n + 1;
    END IF;
    RETURN NULL;
END
$$""",
    """CREATE TRIGGER opinion_tally_keep AFTER INSERT OR DELETE OR UPDATE OF consultation_id, section_id, status, stance, response_id
ON opinion FOR EACH ROW EXECUTE FUNCTION opinion_tally_keep()""",
)
_POSTGRESQL_COUNT = (
    """CREATE OR REPLACE FUNCTION opinion_count_keep() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE consultation SET opinion_count = consultation.opinion_count + added.n
    FROM (SELECT consultation_id, count(*) AS n FROM new_opinions GROUP BY consultation_id) AS added
    WHERE consultation.id = added.consultation_id;
    RETURN NULL;
END
$$""",
    """CREATE TRIGGER opinion_count_keep AFTER INSERT ON opinion
REFERENCING NEW TABLE AS new_opinions FOR EACH STATEMENT EXECUTE FUNCTION opinion_count_keep()""",
)
POSTGRESQL_WITH_COUNT = _POSTGRESQL_TALLY + _POSTGRESQL_COUNT
POSTGRESQL_WITHOUT_COUNT = _POSTGRESQL_TALLY
POSTGRESQL_DROP = (
    "DROP TRIGGER IF EXISTS opinion_count_keep ON opinion",
    "DROP FUNCTION IF EXISTS opinion_count_keep()",
    "DROP TRIGGER IF EXISTS opinion_tally_keep ON opinion",
    "DROP FUNCTION IF EXISTS opinion_tally_keep()",
)

UPGRADE = {
    "sqlite": SQLITE_DROP + SQLITE_WITH_COUNT,
    "postgresql": POSTGRESQL_DROP + POSTGRESQL_WITH_COUNT,
}
DOWNGRADE = {
    "sqlite": SQLITE_DROP + SQLITE_WITHOUT_COUNT,
    "postgresql": POSTGRESQL_DROP + POSTGRESQL_WITHOUT_COUNT,
}


def upgrade():
    for statement in UPGRADE.get(op.get_bind().dialect.name, ()):
        op.execute(statement)


def downgrade():
    for statement in DOWNGRADE.get(op.get_bind().dialect.name, ()):
        op.execute(statement)
