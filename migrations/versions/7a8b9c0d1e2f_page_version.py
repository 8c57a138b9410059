"""consultation.page_version, bumped by triggers when what a consultation page shows changes

The logged-in consultation page keeps its shared part under (page_version, opinion_count, …)
(consultations/fragments.py): opinion_count grows with every new opinion already, and these
triggers bump page_version when an opinion is edited, withdrawn, hidden, answered or deleted, an
answer is reworded, an article or an attachment changes, an author changes their display name or
a locality is renamed.

Frozen: the DDL as it stood at this revision, written out; no application code is imported.

Revision ID: 7a8b9c0d1e2f
Revises: 6f7a8b9c0d1e
Create Date: 2026-12-03 08:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "7a8b9c0d1e2f"
down_revision = "6f7a8b9c0d1e"
branch_labels = None
depends_on = None

# fmt: off
SQLITE_CREATE = (
    'CREATE TRIGGER IF NOT EXISTS page_version_opinion_au AFTER UPDATE OF consultation_id, section_id, author_id, contributor_name, contributor_name_public, locality_id, channel, stance, body, status, tracking_number, created_at, received_at, edited_at, hidden_reason, response_id ON opinion BEGIN UPDATE consultation SET page_version = page_version + 1 WHERE id IN (old.consultation_id, new.consultation_id); END',
    'CREATE TRIGGER IF NOT EXISTS page_version_opinion_ad AFTER DELETE ON opinion BEGIN UPDATE consultation SET page_version = page_version + 1 WHERE id = old.consultation_id; END',
    'CREATE TRIGGER IF NOT EXISTS page_version_response_au AFTER UPDATE OF outcome, explanation ON response BEGIN UPDATE consultation SET page_version = page_version + 1 WHERE id = new.consultation_id; END',
    'CREATE TRIGGER IF NOT EXISTS page_version_section_ai AFTER INSERT ON section BEGIN UPDATE consultation SET page_version = page_version + 1 WHERE id = new.consultation_id; END',
    'CREATE TRIGGER IF NOT EXISTS page_version_section_au AFTER UPDATE ON section BEGIN UPDATE consultation SET page_version = page_version + 1 WHERE id IN (old.consultation_id, new.consultation_id); END',
    'CREATE TRIGGER IF NOT EXISTS page_version_section_ad AFTER DELETE ON section BEGIN UPDATE consultation SET page_version = page_version + 1 WHERE id = old.consultation_id; END',
    'CREATE TRIGGER IF NOT EXISTS page_version_attachment_ai AFTER INSERT ON attachment BEGIN UPDATE consultation SET page_version = page_version + 1 WHERE id = new.consultation_id; END',
    'CREATE TRIGGER IF NOT EXISTS page_version_attachment_au AFTER UPDATE ON attachment BEGIN UPDATE consultation SET page_version = page_version + 1 WHERE id IN (old.consultation_id, new.consultation_id); END',
    'CREATE TRIGGER IF NOT EXISTS page_version_attachment_ad AFTER DELETE ON attachment BEGIN UPDATE consultation SET page_version = page_version + 1 WHERE id = old.consultation_id; END',
    'CREATE TRIGGER IF NOT EXISTS page_version_user_au AFTER UPDATE OF display_name ON "user" WHEN old.display_name IS NOT new.display_name BEGIN UPDATE consultation SET page_version = page_version + 1 WHERE id IN (SELECT consultation_id FROM opinion WHERE author_id = new.id); END',
    'CREATE TRIGGER IF NOT EXISTS page_version_locality_au AFTER UPDATE OF name, parent_id ON locality BEGIN UPDATE consultation SET page_version = page_version + 1; END',
)
SQLITE_DROP = (
    'DROP TRIGGER IF EXISTS page_version_opinion_au',
    'DROP TRIGGER IF EXISTS page_version_opinion_ad',
    'DROP TRIGGER IF EXISTS page_version_response_au',
    'DROP TRIGGER IF EXISTS page_version_section_ai',
    'DROP TRIGGER IF EXISTS page_version_section_au',
    'DROP TRIGGER IF EXISTS page_version_section_ad',
    'DROP TRIGGER IF EXISTS page_version_attachment_ai',
    'DROP TRIGGER IF EXISTS page_version_attachment_au',
    'DROP TRIGGER IF EXISTS page_version_attachment_ad',
    'DROP TRIGGER IF EXISTS page_version_user_au',
    'DROP TRIGGER IF EXISTS page_version_locality_au',
)
POSTGRESQL_CREATE = (
    """CREATE OR REPLACE FUNCTION page_version_opinion() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        UPDATE consultation SET page_version = page_version + 1 WHERE id IN (SELECT consultation_id FROM old_rows);
    ELSE
        UPDATE consultation SET page_version = page_version + 1 WHERE id IN (
            SELECT n.consultation_id FROM new_rows n JOIN old_rows o ON o.id = n.id
            WHERE (n.consultation_id, n.section_id, n.author_id, n.contributor_name, n.contributor_name_public, n.locality_id, n.channel, n.stance, n.body, n.status, n.tracking_number, n.created_at, n.received_at, n.edited_at, n.hidden_reason, n.response_id) IS DISTINCT FROM (o.consultation_id, o.section_id, o.author_id, o.contributor_name, o.contributor_name_public, o.locality_id, o.channel, o.stance, o.body, o.status, o.tracking_number, o.created_at, o.received_at, o.edited_at, o.hidden_reason, o.response_id)
            UNION SELECT o.consultation_id FROM new_rows n JOIN old_rows o ON o.id = n.id
            WHERE n.consultation_id != o.consultation_id);
    END IF;
    RETURN NULL;
END
$$""",
    """CREATE TRIGGER page_version_opinion_au AFTER UPDATE ON opinion
REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION page_version_opinion()""",
    """CREATE TRIGGER page_version_opinion_ad AFTER DELETE ON opinion
REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION page_version_opinion()""",
    """CREATE OR REPLACE FUNCTION page_version_row() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE consultation SET page_version = page_version + 1 WHERE id = OLD.consultation_id;
    END IF;
    IF TG_OP = 'INSERT' OR (TG_OP = 'UPDATE' AND NEW.consultation_id != OLD.consultation_id) THEN
        UPDATE consultation SET page_version = page_version + 1 WHERE id = NEW.consultation_id;
    END IF;
    RETURN NULL;
END
$$""",
    """CREATE TRIGGER page_version_response_au AFTER UPDATE OF outcome, explanation ON response
FOR EACH ROW EXECUTE FUNCTION page_version_row()""",
    """CREATE TRIGGER page_version_section AFTER INSERT OR UPDATE OR DELETE ON section
FOR EACH ROW EXECUTE FUNCTION page_version_row()""",
    """CREATE TRIGGER page_version_attachment AFTER INSERT OR UPDATE OR DELETE ON attachment
FOR EACH ROW EXECUTE FUNCTION page_version_row()""",
    """CREATE OR REPLACE FUNCTION page_version_author() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.display_name IS DISTINCT FROM OLD.display_name THEN
        UPDATE consultation SET page_version = page_version + 1 WHERE id IN (SELECT consultation_id FROM opinion WHERE author_id = NEW.id);
    END IF;
    RETURN NULL;
END
$$""",
    """CREATE TRIGGER page_version_user_au AFTER UPDATE OF display_name ON "user"
FOR EACH ROW EXECUTE FUNCTION page_version_author()""",
    """CREATE OR REPLACE FUNCTION page_version_locality() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.name IS DISTINCT FROM OLD.name OR NEW.parent_id IS DISTINCT FROM OLD.parent_id THEN
        UPDATE consultation SET page_version = page_version + 1;
    END IF;
    RETURN NULL;
END
$$""",
    """CREATE TRIGGER page_version_locality_au AFTER UPDATE OF name, parent_id ON locality
FOR EACH ROW EXECUTE FUNCTION page_version_locality()""",
)
POSTGRESQL_DROP = (
    'DROP TRIGGER IF EXISTS page_version_opinion_au ON opinion',
    'DROP TRIGGER IF EXISTS page_version_opinion_ad ON opinion',
    'DROP TRIGGER IF EXISTS page_version_response_au ON response',
    'DROP TRIGGER IF EXISTS page_version_section ON section',
    'DROP TRIGGER IF EXISTS page_version_attachment ON attachment',
    'DROP TRIGGER IF EXISTS page_version_user_au ON "user"',
    'DROP TRIGGER IF EXISTS page_version_locality_au ON locality',
    'DROP FUNCTION IF EXISTS page_version_opinion()',
    'DROP FUNCTION IF EXISTS page_version_row()',
    'DROP FUNCTION IF EXISTS page_version_author()',
    'DROP FUNCTION IF EXISTS page_version_locality()',
)
# fmt: on

CREATE = {"sqlite": SQLITE_CREATE, "postgresql": POSTGRESQL_CREATE}
DROP = {"sqlite": SQLITE_DROP, "postgresql": POSTGRESQL_DROP}


def upgrade():
    op.add_column(
        "consultation",
        sa.Column("page_version", sa.Integer(), nullable=False, server_default="0"),
    )
    for statement in CREATE.get(op.get_bind().dialect.name, ()):
        op.execute(statement)


def downgrade():
    for statement in DROP.get(op.get_bind().dialect.name, ()):
        op.execute(statement)
    op.drop_column("consultation", "page_version")
