"""page_version also bumped by reports, groups of alike opinions and answer summaries

The moderator's page of a consultation keeps its list of opinions under page_version (as the
public page does, moderation/views.py): it shows the open reports of each opinion, the group of
alike opinions it is in and the summary of its answer, so these now bump the version too.

Frozen: the DDL as it stood at this revision, written out; no application code is imported.

Revision ID: 8b9c0d1e2f3a
Revises: 7a8b9c0d1e2f
Create Date: 2026-12-03 13:40:00
"""

from __future__ import annotations

from alembic import op

revision = "8b9c0d1e2f3a"
down_revision = "7a8b9c0d1e2f"
branch_labels = None
depends_on = None

# fmt: off
SQLITE_CREATE = (
    'CREATE TRIGGER IF NOT EXISTS page_version_response_au AFTER UPDATE OF outcome, explanation, summary ON response BEGIN UPDATE consultation SET page_version = page_version + 1 WHERE id = new.consultation_id; END',
    'CREATE TRIGGER IF NOT EXISTS page_version_flag_ai AFTER INSERT ON flag BEGIN UPDATE consultation SET page_version = page_version + 1 WHERE id = (SELECT consultation_id FROM opinion WHERE id = new.opinion_id); END',
    'CREATE TRIGGER IF NOT EXISTS page_version_flag_au AFTER UPDATE ON flag BEGIN UPDATE consultation SET page_version = page_version + 1 WHERE id = (SELECT consultation_id FROM opinion WHERE id = old.opinion_id); UPDATE consultation SET page_version = page_version + 1 WHERE id = (SELECT consultation_id FROM opinion WHERE id = new.opinion_id); END',
    'CREATE TRIGGER IF NOT EXISTS page_version_flag_ad AFTER DELETE ON flag BEGIN UPDATE consultation SET page_version = page_version + 1 WHERE id = (SELECT consultation_id FROM opinion WHERE id = old.opinion_id); END',
    'CREATE TRIGGER IF NOT EXISTS page_version_opinion_group_ai AFTER INSERT ON opinion_group BEGIN UPDATE consultation SET page_version = page_version + 1 WHERE id = new.consultation_id; END',
    'CREATE TRIGGER IF NOT EXISTS page_version_opinion_group_au AFTER UPDATE ON opinion_group BEGIN UPDATE consultation SET page_version = page_version + 1 WHERE id IN (old.consultation_id, new.consultation_id); END',
    'CREATE TRIGGER IF NOT EXISTS page_version_opinion_group_ad AFTER DELETE ON opinion_group BEGIN UPDATE consultation SET page_version = page_version + 1 WHERE id = old.consultation_id; END',
)
SQLITE_DROP = (
    'DROP TRIGGER IF EXISTS page_version_response_au',
    'DROP TRIGGER IF EXISTS page_version_flag_ai',
    'DROP TRIGGER IF EXISTS page_version_flag_au',
    'DROP TRIGGER IF EXISTS page_version_flag_ad',
    'DROP TRIGGER IF EXISTS page_version_opinion_group_ai',
    'DROP TRIGGER IF EXISTS page_version_opinion_group_au',
    'DROP TRIGGER IF EXISTS page_version_opinion_group_ad',
)
SQLITE_BEFORE = (
    'CREATE TRIGGER IF NOT EXISTS page_version_response_au AFTER UPDATE OF outcome, explanation ON response BEGIN UPDATE consultation SET page_version = page_version + 1 WHERE id = new.consultation_id; END',
)
POSTGRESQL_CREATE = (
    """CREATE TRIGGER page_version_response_au AFTER UPDATE OF outcome, explanation, summary
ON response FOR EACH ROW EXECUTE FUNCTION page_version_row()""",
    """CREATE OR REPLACE FUNCTION page_version_flag() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE consultation SET page_version = page_version + 1 WHERE id = (SELECT consultation_id FROM opinion WHERE id = OLD.opinion_id);
    END IF;
    IF TG_OP = 'INSERT' OR (TG_OP = 'UPDATE' AND NEW.opinion_id != OLD.opinion_id) THEN
        UPDATE consultation SET page_version = page_version + 1 WHERE id = (SELECT consultation_id FROM opinion WHERE id = NEW.opinion_id);
    END IF;
    RETURN NULL;
END
$$""",
    """CREATE TRIGGER page_version_flag AFTER INSERT OR UPDATE OR DELETE ON flag
FOR EACH ROW EXECUTE FUNCTION page_version_flag()""",
    """CREATE OR REPLACE FUNCTION page_version_rows() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE consultation SET page_version = page_version + 1 WHERE id IN (SELECT consultation_id FROM new_rows);
    ELSIF TG_OP = 'DELETE' THEN
        UPDATE consultation SET page_version = page_version + 1 WHERE id IN (SELECT consultation_id FROM old_rows);
    ELSE
        UPDATE consultation SET page_version = page_version + 1 WHERE id IN (SELECT consultation_id FROM new_rows
                       UNION SELECT consultation_id FROM old_rows);
    END IF;
    RETURN NULL;
END
$$""",
    """CREATE TRIGGER page_version_opinion_group_ai AFTER INSERT ON opinion_group
REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION page_version_rows()""",
    """CREATE TRIGGER page_version_opinion_group_au AFTER UPDATE ON opinion_group
REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION page_version_rows()""",
    """CREATE TRIGGER page_version_opinion_group_ad AFTER DELETE ON opinion_group
REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION page_version_rows()""",
)
POSTGRESQL_DROP = (
    'DROP TRIGGER IF EXISTS page_version_response_au ON response',
    'DROP TRIGGER IF EXISTS page_version_flag ON flag',
    'DROP TRIGGER IF EXISTS page_version_opinion_group_ai ON opinion_group',
    'DROP TRIGGER IF EXISTS page_version_opinion_group_au ON opinion_group',
    'DROP TRIGGER IF EXISTS page_version_opinion_group_ad ON opinion_group',
    'DROP FUNCTION IF EXISTS page_version_flag()',
    'DROP FUNCTION IF EXISTS page_version_rows()',
)
POSTGRESQL_BEFORE = (
    """CREATE TRIGGER page_version_response_au AFTER UPDATE OF outcome, explanation ON response
FOR EACH ROW EXECUTE FUNCTION page_version_row()""",
)
# fmt: on

CREATE = {"sqlite": SQLITE_CREATE, "postgresql": POSTGRESQL_CREATE}
DROP = {"sqlite": SQLITE_DROP, "postgresql": POSTGRESQL_DROP}
BEFORE = {"sqlite": SQLITE_BEFORE, "postgresql": POSTGRESQL_BEFORE}


def upgrade():
    dialect = op.get_bind().dialect.name
    # The answer's trigger is replaced: dropped first, it is created again with summary.
    for statement in (*DROP.get(dialect, ()), *CREATE.get(dialect, ())):
        op.execute(statement)


def downgrade():
    dialect = op.get_bind().dialect.name
    for statement in (*DROP.get(dialect, ()), *BEFORE.get(dialect, ())):
        op.execute(statement)
