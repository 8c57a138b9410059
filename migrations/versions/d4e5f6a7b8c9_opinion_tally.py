"""opinion counts kept by triggers

A consultation page read its stance counts and totals with a GROUP BY over every opinion;
opinion_tally keeps them, exact, through triggers on opinion (consultations/tally.py).

Frozen: the trigger DDL is written out here as it stood at this revision, before the insert
trigger also kept consultation.opinion_count (a7b8c9d0e1f2); no application code is imported.

Revision ID: d4e5f6a7b8c9
Revises: c3d4e5f6a7b8
Create Date: 2026-11-28 22:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = "d4e5f6a7b8c9"
down_revision = "c3d4e5f6a7b8"
branch_labels = None
depends_on = None

_STATUS = sa.Enum("published", "hidden", "withdrawn", name="opinionstatus", native_enum=False, length=16)
_STANCE = sa.Enum("agree", "disagree", "suggest", name="stance", native_enum=False, length=16)

SQLITE_TRIGGERS = (
    "CREATE TRIGGER IF NOT EXISTS opinion_tally_ai AFTER INSERT ON opinion BEGIN "
    "INSERT INTO opinion_tally (consultation_id, section_key, status, stance, answered, n) "
    "VALUES (new.consultation_id, COALESCE(new.section_id, 0), new.status, new.stance, "
    "(new.response_id IS NOT NULL), 1) "
    "ON CONFLICT (consultation_id, section_key, status, stance, answered) "
    "DO UPDATE SET n = opinion_tally.n + 1; END",
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
SQLITE_DROP = (
    "DROP TRIGGER IF EXISTS opinion_tally_au",
    "DROP TRIGGER IF EXISTS opinion_tally_ad",
    "DROP TRIGGER IF EXISTS opinion_tally_ai",
)

POSTGRESQL_TRIGGERS = (
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
#: As the code of the time dropped them: opinion_count_keep (a7b8c9d0e1f2) did not exist yet.
POSTGRESQL_DROP = (
    "DROP TRIGGER IF EXISTS opinion_count_keep ON opinion",
    "DROP FUNCTION IF EXISTS opinion_count_keep()",
    "DROP TRIGGER IF EXISTS opinion_tally_keep ON opinion",
    "DROP FUNCTION IF EXISTS opinion_tally_keep()",
)

#: Counts the opinions already there.
REBUILD = (
    "DELETE FROM opinion_tally",
    "INSERT INTO opinion_tally (consultation_id, section_key, status, stance, answered, n) "
    "SELECT consultation_id, COALESCE(section_id, 0), status, stance, response_id IS NOT NULL, "
    "count(*) FROM opinion "
    "GROUP BY consultation_id, COALESCE(section_id, 0), status, stance, response_id IS NOT NULL",
)

TRIGGERS = {"sqlite": SQLITE_TRIGGERS, "postgresql": POSTGRESQL_TRIGGERS}
DROP = {"sqlite": SQLITE_DROP, "postgresql": POSTGRESQL_DROP}


def upgrade():
    op.create_table(
        "opinion_tally",
        sa.Column("consultation_id", sa.Integer(), nullable=False),
        sa.Column("section_key", sa.Integer(), nullable=False),
        sa.Column("status", _STATUS, nullable=False),
        sa.Column("stance", _STANCE, nullable=False),
        sa.Column("answered", sa.Boolean(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["consultation_id"], ["consultation.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("consultation_id", "section_key", "status", "stance", "answered"),
    )
    for statement in TRIGGERS.get(op.get_bind().dialect.name, ()) + REBUILD:
        op.execute(statement)


def downgrade():
    for statement in DROP.get(op.get_bind().dialect.name, ()):
        op.execute(statement)
    op.drop_table("opinion_tally")
