"""``consultation.page_version``: a number that changes whenever anything a consultation page
shows of its opinions or its draft changes, kept by the database.

The logged-in consultation page keeps its shared part (consultations/fragments.py) under the
key (``page_version``, ``opinion_count``, …): ``opinion_count`` already grows on every new
opinion (consultations/tally.py), so these triggers need not touch a post, the busiest write;
they bump the version when an opinion is edited, withdrawn, hidden, answered or deleted, an
answer is reworded or its summary changes, an article or attachment changes, an author renames
themselves or a locality is renamed; and, for the moderator's page of a consultation (kept the
same way, moderation/views.py), when an opinion is reported or its reports dismissed, or its
groups of alike opinions change. Triggers rather than code: every path (services, CLI, console) is covered,
in the same transaction as the change.

``create_all`` builds them through the listener below; migrations/versions/7a8b9c0d1e2f and
8b9c0d1e2f3a hold their own frozen copies of this DDL.
"""

# ruff: noqa: S608 - trigger bodies built from constants: nothing a visitor sends reaches them
from __future__ import annotations

from sqlalchemy import DDL, event

from core.extensions import db

#: The opinion columns a page shows (flag_count, search columns and the like are not among them).
SHOWN = (
    "consultation_id, section_id, author_id, contributor_name, contributor_name_public, "
    "locality_id, channel, stance, body, status, tracking_number, created_at, received_at, "
    "edited_at, hidden_reason, response_id"
)
_BUMP = "UPDATE consultation SET page_version = page_version + 1 WHERE"
_OWN_TABLES = ("section", "attachment")
_OF_FLAG = "id = (SELECT consultation_id FROM opinion WHERE id = {}.opinion_id)"

SQLITE_CREATE: tuple[str, ...] = (
    f"CREATE TRIGGER IF NOT EXISTS page_version_opinion_au AFTER UPDATE OF {SHOWN} ON opinion "
    f"BEGIN {_BUMP} id IN (old.consultation_id, new.consultation_id); END",
    "CREATE TRIGGER IF NOT EXISTS page_version_opinion_ad AFTER DELETE ON opinion "
    f"BEGIN {_BUMP} id = old.consultation_id; END",
    "CREATE TRIGGER IF NOT EXISTS page_version_response_au AFTER UPDATE OF outcome, explanation, "
    f"summary ON response BEGIN {_BUMP} id = new.consultation_id; END",
    *(
        statement
        for table in _OWN_TABLES
        for statement in (
            f"CREATE TRIGGER IF NOT EXISTS page_version_{table}_ai AFTER INSERT ON {table} "
            f"BEGIN {_BUMP} id = new.consultation_id; END",
            f"CREATE TRIGGER IF NOT EXISTS page_version_{table}_au AFTER UPDATE ON {table} "
            f"BEGIN {_BUMP} id IN (old.consultation_id, new.consultation_id); END",
            f"CREATE TRIGGER IF NOT EXISTS page_version_{table}_ad AFTER DELETE ON {table} "
            f"BEGIN {_BUMP} id = old.consultation_id; END",
        )
    ),
    'CREATE TRIGGER IF NOT EXISTS page_version_user_au AFTER UPDATE OF display_name ON "user" '
    f"WHEN old.display_name IS NOT new.display_name BEGIN {_BUMP} id IN "
    "(SELECT consultation_id FROM opinion WHERE author_id = new.id); END",
    # Reports: rare, and shown on the moderator's page only.
    f"CREATE TRIGGER IF NOT EXISTS page_version_flag_ai AFTER INSERT ON flag "
    f"BEGIN {_BUMP} {_OF_FLAG.format('new')}; END",
    f"CREATE TRIGGER IF NOT EXISTS page_version_flag_au AFTER UPDATE ON flag "
    f"BEGIN {_BUMP} {_OF_FLAG.format('old')}; {_BUMP} {_OF_FLAG.format('new')}; END",
    f"CREATE TRIGGER IF NOT EXISTS page_version_flag_ad AFTER DELETE ON flag "
    f"BEGIN {_BUMP} {_OF_FLAG.format('old')}; END",
    # Groups of alike opinions: a member joining or leaving changes its group's size.
    f"CREATE TRIGGER IF NOT EXISTS page_version_opinion_group_ai AFTER INSERT ON opinion_group "
    f"BEGIN {_BUMP} id = new.consultation_id; END",
    f"CREATE TRIGGER IF NOT EXISTS page_version_opinion_group_au AFTER UPDATE ON opinion_group "
    f"BEGIN {_BUMP} id IN (old.consultation_id, new.consultation_id); END",
    f"CREATE TRIGGER IF NOT EXISTS page_version_opinion_group_ad AFTER DELETE ON opinion_group "
    f"BEGIN {_BUMP} id = old.consultation_id; END",
    # A village or commune renamed: rare, and its name is on many pages (the authors of offline
    # opinions, the consultation's own locality and its parents): every page is drawn again.
    "CREATE TRIGGER IF NOT EXISTS page_version_locality_au AFTER UPDATE OF name, parent_id "
    "ON locality BEGIN UPDATE consultation SET page_version = page_version + 1; END",
)

_NEW = ", ".join(f"n.{c.strip()}" for c in SHOWN.split(","))
_OLD = ", ".join(f"o.{c.strip()}" for c in SHOWN.split(","))

#: On PostgreSQL the opinion triggers run once per statement over its transition tables: one
#: moderator answering 500 alike opinions at once bumps the consultation once, not 500 times.
POSTGRESQL_CREATE: tuple[str, ...] = (
    f"""CREATE OR REPLACE FUNCTION page_version_opinion() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        {_BUMP} id IN (SELECT consultation_id FROM old_rows);
    ELSE
        {_BUMP} id IN (
            SELECT n.consultation_id FROM new_rows n JOIN old_rows o ON o.id = n.id
            WHERE ({_NEW}) IS DISTINCT FROM ({_OLD})
            UNION SELECT o.consultation_id FROM new_rows n JOIN old_rows o ON o.id = n.id
            WHERE n.consultation_id != o.consultation_id);
    END IF;
    RETURN NULL;
END
$$""",
    """CREATE OR REPLACE TRIGGER page_version_opinion_au AFTER UPDATE ON opinion
REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION page_version_opinion()""",
    """CREATE OR REPLACE TRIGGER page_version_opinion_ad AFTER DELETE ON opinion
REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION page_version_opinion()""",
    f"""CREATE OR REPLACE FUNCTION page_version_row() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        {_BUMP} id = OLD.consultation_id;
    END IF;
    IF TG_OP = 'INSERT' OR (TG_OP = 'UPDATE' AND NEW.consultation_id != OLD.consultation_id) THEN
        {_BUMP} id = NEW.consultation_id;
    END IF;
    RETURN NULL;
END
$$""",
    """CREATE OR REPLACE TRIGGER page_version_response_au AFTER UPDATE OF outcome, explanation, summary
ON response FOR EACH ROW EXECUTE FUNCTION page_version_row()""",
    *(
        f"""CREATE OR REPLACE TRIGGER page_version_{table} AFTER INSERT OR UPDATE OR DELETE ON {table}
FOR EACH ROW EXECUTE FUNCTION page_version_row()"""
        for table in _OWN_TABLES
    ),
    f"""CREATE OR REPLACE FUNCTION page_version_author() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.display_name IS DISTINCT FROM OLD.display_name THEN
        {_BUMP} id IN (SELECT consultation_id FROM opinion WHERE author_id = NEW.id);
    END IF;
    RETURN NULL;
END
$$""",
    """CREATE OR REPLACE TRIGGER page_version_user_au AFTER UPDATE OF display_name ON "user"
FOR EACH ROW EXECUTE FUNCTION page_version_author()""",
    f"""CREATE OR REPLACE FUNCTION page_version_flag() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        {_BUMP} {_OF_FLAG.format("OLD")};
    END IF;
    IF TG_OP = 'INSERT' OR (TG_OP = 'UPDATE' AND NEW.opinion_id != OLD.opinion_id) THEN
        {_BUMP} {_OF_FLAG.format("NEW")};
    END IF;
    RETURN NULL;
END
$$""",
    """CREATE OR REPLACE TRIGGER page_version_flag AFTER INSERT OR UPDATE OR DELETE ON flag
FOR EACH ROW EXECUTE FUNCTION page_version_flag()""",
    # Regrouping a consultation rewrites thousands of groups in a few statements: once each.
    f"""CREATE OR REPLACE FUNCTION page_version_rows() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        {_BUMP} id IN (SELECT consultation_id FROM new_rows);
    ELSIF TG_OP = 'DELETE' THEN
        {_BUMP} id IN (SELECT consultation_id FROM old_rows);
    ELSE
        {_BUMP} id IN (SELECT consultation_id FROM new_rows
                       UNION SELECT consultation_id FROM old_rows);
    END IF;
    RETURN NULL;
END
$$""",
    """CREATE OR REPLACE TRIGGER page_version_opinion_group_ai AFTER INSERT ON opinion_group
REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION page_version_rows()""",
    """CREATE OR REPLACE TRIGGER page_version_opinion_group_au AFTER UPDATE ON opinion_group
REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION page_version_rows()""",
    """CREATE OR REPLACE TRIGGER page_version_opinion_group_ad AFTER DELETE ON opinion_group
REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION page_version_rows()""",
    """CREATE OR REPLACE FUNCTION page_version_locality() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.name IS DISTINCT FROM OLD.name OR NEW.parent_id IS DISTINCT FROM OLD.parent_id THEN
        UPDATE consultation SET page_version = page_version + 1;
    END IF;
    RETURN NULL;
END
$$""",
    """CREATE OR REPLACE TRIGGER page_version_locality_au AFTER UPDATE OF name, parent_id ON locality
FOR EACH ROW EXECUTE FUNCTION page_version_locality()""",
)

# After every table exists: the triggers sit on five tables and all point at consultation.
# create_all runs these each time it is called, on a database that may have them already:
# IF NOT EXISTS on SQLite, OR REPLACE on PostgreSQL (14 and later).
for _dialect, _statements in {"sqlite": SQLITE_CREATE, "postgresql": POSTGRESQL_CREATE}.items():
    for _statement in _statements:
        event.listen(db.metadata, "after_create", DDL(_statement).execute_if(dialect=_dialect))
