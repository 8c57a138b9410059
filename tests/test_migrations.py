"""Alembic migrations build exactly the schema the models describe, and go down again."""

import ast
import secrets
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from app import create_app
from core.extensions import db

ROOT = Path(__file__).resolve().parent.parent
VERSIONS = ROOT / "migrations" / "versions"


def _project_modules() -> set[str]:
    """The top-level names of the application: every package at the root, and app.py."""
    return {p.parent.name for p in ROOT.glob("*/__init__.py")} | {"app"}


def _imported(tree: ast.AST) -> list[str]:
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            # A relative import would reach into the project too.
            names.append("." * node.level + (node.module or ""))
    return names


def test_revisions_import_no_application_code():
    """A revision is frozen: its DDL is written out in it, so a change to the application's
    code cannot change what an old revision does (alembic, sqlalchemy and the stdlib only)."""
    project = _project_modules()
    assert {"app", "consultations", "audit", "core"} <= project
    revisions = sorted(VERSIONS.glob("*.py"))
    assert revisions
    offending = {
        path.name: bad
        for path in revisions
        if (
            bad := [
                name
                for name in _imported(ast.parse(path.read_text(encoding="utf-8")))
                if name.startswith(".") or name.split(".")[0] in project
            ]
        )
    }
    assert offending == {}


@pytest.fixture
def bare_app(database_url, tmp_path):
    url, engine_options = database_url
    app = create_app(
        {
            "TESTING": True,
            "QUEUE_IMMEDIATE": True,  # jobs run where enqueued; no queue file in instance/
            "SECRET_KEY": secrets.token_hex(8),
            "SQLALCHEMY_DATABASE_URI": url,
            "SQLALCHEMY_ENGINE_OPTIONS": engine_options,
        }
    )
    yield app
    with app.app_context():
        db.engine.dispose()


def _schema_differences(connection):
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    diffs = compare_metadata(context, db.metadata)
    # The search index (FTS5 tables, tsvector index) is created by the migration on purpose.
    return [
        d
        for d in diffs
        if not (d[0] == "remove_table" and d[1].name.startswith("consultation_fts"))
        and not (d[0] == "remove_index" and d[1].name == "ix_consultation_search_vector")
    ]


def _opinion_through_sql() -> None:
    now = "2026-01-01 00:00:00"
    with db.engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO locality (id, code, name, kind, created_at) VALUES (1, '1', 'X', 'commune', :t)"
            ),
            {"t": now},
        )
        conn.execute(
            sa.text(
                "INSERT INTO consultation (id, locality_id, title, summary, kind, category, status, opens_at, closes_at, "
                "created_at, updated_at, search_folded, opinion_count) "
                "VALUES (1, 1, 'T', '', 'comment', 'other', 'open', :t, :t, :t, :t, 't', 0)"
            ),
            {"t": now},
        )
        conn.execute(
            sa.text(
                "INSERT INTO opinion (consultation_id, channel, stance, body, status, tracking_number, created_at, flag_count) "
                "VALUES (1, 'online', 'agree', 'x', 'published', 'YK-2026-000001', :t, 0)"
            ),
            {"t": now},
        )


@pytest.mark.postgres
def test_upgrade_matches_the_models_and_downgrade_removes_everything(bare_app):
    with bare_app.app_context():
        upgrade(directory="migrations")
        with db.engine.connect() as conn:
            assert _schema_differences(conn) == []
            tables = set(sa.inspect(conn).get_table_names())
        assert {"consultation", "opinion", "audit_event", "user", "locality"} <= tables

        # The append-only trigger came with the migration.
        with db.engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO audit_event (at, action, object_type, data) VALUES (CURRENT_TIMESTAMP, 'x', 'y', '{}')"
                )
            )
        with pytest.raises(sa.exc.DatabaseError), db.engine.begin() as conn:
            conn.execute(sa.text("DELETE FROM audit_event"))

        # So did the triggers that keep opinion_tally (consultations/tally.py).
        _opinion_through_sql()
        with db.engine.connect() as conn:
            assert conn.execute(sa.text("SELECT n FROM opinion_tally")).scalars().all() == [1]

        downgrade(directory="migrations", revision="base")
        with db.engine.connect() as conn:
            left = set(sa.inspect(conn).get_table_names()) - {"alembic_version"}
        assert left == set()

        upgrade(directory="migrations")  # and up again on the emptied database
        with db.engine.connect() as conn:
            assert _schema_differences(conn) == []
