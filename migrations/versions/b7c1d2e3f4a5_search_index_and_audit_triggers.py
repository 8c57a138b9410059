"""search index and append-only audit trail

What the ORM metadata cannot express: the FTS5 table (SQLite) or trigram index (PostgreSQL)
behind diacritic-free search, and the triggers that make audit_event append-only. The
statements are the same constants the create_all listeners use.

Revision ID: b7c1d2e3f4a5
Revises: 4299010e984e
Create Date: 2026-11-28 20:00:00
"""

from alembic import op

from audit import triggers
from consultations import search

revision = "b7c1d2e3f4a5"
down_revision = "4299010e984e"
branch_labels = None
depends_on = None


def upgrade():
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for statement in search.SQLITE_DDL:
            op.execute(statement)
        op.execute(search.SQLITE_FTS_REBUILD)
    elif bind.dialect.name == "postgresql":
        for statement in search.POSTGRES_TRGM_DDL:
            op.execute(statement)
    triggers.create_triggers(bind)


def downgrade():
    bind = op.get_bind()
    triggers.drop_triggers(bind)
    if bind.dialect.name == "sqlite":
        for statement in search.SQLITE_DROP_DDL:
            op.execute(statement)
    elif bind.dialect.name == "postgresql":
        for statement in search.POSTGRES_TRGM_DROP_DDL:
            op.execute(statement)
