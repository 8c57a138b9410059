"""opinions counted once per INSERT statement on PostgreSQL: the tally rows too

The tally rows were kept by a row trigger on INSERT: a bulk insert of a million opinions in one
transaction updated each of a consultation's few dozen tally rows tens of thousands of times,
and every update walked the chain of the row's earlier versions (seeding slowed from 1.3 s to
6 s a batch of 5,000 as it went). The statement trigger that already counted the consultation's
opinions now adds each statement's opinions to the tally rows, grouped; updates and deletes stay
row by row. SQLite is unchanged (its rows are updated in place).

Frozen: the DDL as it stood at this revision, written out; no application code is imported.

Revision ID: 9c0d1e2f3a4b
Revises: 8b9c0d1e2f3a
Create Date: 2026-12-04 18:35:00
"""

from __future__ import annotations

from alembic import op

revision = "9c0d1e2f3a4b"
down_revision = "8b9c0d1e2f3a"
branch_labels = None
depends_on = None

# fmt: off
POSTGRESQL_DROP = (
    'DROP TRIGGER IF EXISTS opinion_count_keep ON opinion',
    'DROP FUNCTION IF EXISTS opinion_count_keep()',
    'DROP TRIGGER IF EXISTS opinion_tally_keep ON opinion',
    'DROP FUNCTION IF EXISTS opinion_tally_keep()',
)
POSTGRESQL_CREATE = (
    """CREATE OR REPLACE FUNCTION opinion_tally_keep() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NOT (OLD.consultation_id != NEW.consultation_id OR COALESCE(OLD.section_id, 0) != COALESCE(NEW.section_id, 0) OR OLD.status != NEW.status OR OLD.stance != NEW.stance OR (OLD.response_id IS NULL) != (NEW.response_id IS NULL)) THEN
        RETURN NULL;
    END IF;
    UPDATE opinion_tally SET n = n - 1 WHERE consultation_id = OLD.consultation_id AND section_key = COALESCE(OLD.section_id, 0) AND status = OLD.status AND stance = OLD.stance AND answered = (OLD.response_id IS NOT NULL);
    IF TG_OP = 'UPDATE' THEN
        INSERT INTO opinion_tally (consultation_id, section_key, status, stance, answered, n) VALUES (NEW.consultation_id, COALESCE(NEW.section_id, 0), NEW.status, NEW.stance, (NEW.response_id IS NOT NULL), 1) ON CONFLICT (consultation_id, section_key, status, stance, answered) DO UPDATE SET n = opinion_tally.n + 1;
    END IF;
    RETURN NULL;
END
$$""",
    """CREATE TRIGGER opinion_tally_keep AFTER DELETE OR UPDATE OF consultation_id, section_id, status, stance, response_id
ON opinion FOR EACH ROW EXECUTE FUNCTION opinion_tally_keep()""",
    """CREATE OR REPLACE FUNCTION opinion_count_keep() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO opinion_tally (consultation_id, section_key, status, stance, answered, n)
    SELECT consultation_id, COALESCE(section_id, 0), status, stance, response_id IS NOT NULL, count(*)
    FROM new_opinions
    GROUP BY consultation_id, COALESCE(section_id, 0), status, stance, response_id IS NOT NULL
    ON CONFLICT (consultation_id, section_key, status, stance, answered) DO UPDATE SET n = opinion_tally.n + EXCLUDED.n;
    UPDATE consultation SET opinion_count = consultation.opinion_count + added.n
    FROM (SELECT consultation_id, count(*) AS n FROM new_opinions GROUP BY consultation_id) AS added
    WHERE consultation.id = added.consultation_id;
    RETURN NULL;
END
$$""",
    """CREATE TRIGGER opinion_count_keep AFTER INSERT ON opinion
REFERENCING NEW TABLE AS new_opinions FOR EACH STATEMENT EXECUTE FUNCTION opinion_count_keep()""",
)
POSTGRESQL_BEFORE = (
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
# fmt: on


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        for statement in (*POSTGRESQL_DROP, *POSTGRESQL_CREATE):
            op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for statement in (*POSTGRESQL_DROP, *POSTGRESQL_BEFORE):
            op.execute(statement)
