"""The audit trail is append-only in the database itself, not only in the code.

Triggers refuse every UPDATE and DELETE on ``audit_event`` (and TRUNCATE on PostgreSQL), so
neither a bug, a console session nor a compromised application account can rewrite history
without first dropping them, which needs the table owner and is itself visible.

``create_all`` builds them through the ``after_create`` listeners below. The migration that
first installed them (b7c1d2e3f4a5) holds its own copy of the statements.
"""

from __future__ import annotations

from sqlalchemy import DDL, event
from sqlalchemy.engine import Connection

from audit.models import AuditEvent

MESSAGE = "audit_event is append-only"

SQLITE_CREATE: tuple[str, ...] = (
    f"""CREATE TRIGGER IF NOT EXISTS audit_event_no_update BEFORE UPDATE ON audit_event
BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END""",
    f"""CREATE TRIGGER IF NOT EXISTS audit_event_no_delete BEFORE DELETE ON audit_event
BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END""",
)

SQLITE_DROP: tuple[str, ...] = (
    "DROP TRIGGER IF EXISTS audit_event_no_update",
    "DROP TRIGGER IF EXISTS audit_event_no_delete",
)

# The function lives in the table's schema (the first of search_path), so a schema per test
# or per tenant carries its own copy.
POSTGRESQL_CREATE: tuple[str, ...] = (
    f"""CREATE OR REPLACE FUNCTION audit_event_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'insufficient_privilege';
END
$$""",
    """CREATE TRIGGER audit_event_no_change BEFORE UPDATE OR DELETE ON audit_event
FOR EACH ROW EXECUTE FUNCTION audit_event_append_only()""",
    """CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit_event
FOR EACH STATEMENT EXECUTE FUNCTION audit_event_append_only()""",
)

POSTGRESQL_DROP: tuple[str, ...] = (
    "DROP TRIGGER IF EXISTS audit_event_no_truncate ON audit_event",
    "DROP TRIGGER IF EXISTS audit_event_no_change ON audit_event",
    "DROP FUNCTION IF EXISTS audit_event_append_only()",
)

_CREATE = {"sqlite": SQLITE_CREATE, "postgresql": POSTGRESQL_CREATE}
_DROP = {"sqlite": SQLITE_DROP, "postgresql": POSTGRESQL_DROP}


def create_triggers(connection: Connection) -> None:
    """Install the triggers on an existing ``audit_event`` table."""
    for statement in _CREATE.get(connection.dialect.name, ()):
        connection.exec_driver_sql(statement)


def drop_triggers(connection: Connection) -> None:
    """Remove the triggers, e.g. before a maintenance step that must rewrite the table."""
    for statement in _DROP.get(connection.dialect.name, ()):
        connection.exec_driver_sql(statement)


for _dialect, _statements in _CREATE.items():
    for _statement in _statements:
        event.listen(
            AuditEvent.__table__, "after_create", DDL(_statement).execute_if(dialect=_dialect)
        )
