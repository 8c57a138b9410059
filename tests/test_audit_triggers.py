"""The audit trail refuses changes in the database itself, whatever the application does."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from audit import triggers
from audit.models import AuditEvent, record
from core.extensions import db


def _add_event(app, action: str = "test.event") -> int:
    with app.app_context():
        event = AuditEvent(action=action, object_type="test", object_id=1, data={"k": "v"})
        db.session.add(event)
        db.session.commit()
        return event.id


def _count(app) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent))


@pytest.mark.postgres
def test_insert_works(app):
    before = _count(app)
    _add_event(app)
    with app.test_request_context():
        record("test.other", object(), note="x")
        db.session.commit()
    assert _count(app) == before + 2


@pytest.mark.postgres
@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_event SET action = 'forged' WHERE id = :id",
        "UPDATE audit_event SET data = '{}' WHERE id = :id",
        "DELETE FROM audit_event WHERE id = :id",
        "DELETE FROM audit_event",
    ],
)
def test_raw_update_and_delete_are_refused(app, statement):
    event_id = _add_event(app)
    with app.app_context():
        with pytest.raises(DBAPIError, match="append-only"):
            db.session.execute(sa.text(statement), {"id": event_id})
        db.session.rollback()
        row = db.session.get(AuditEvent, event_id)
        assert row is not None
        assert row.action == "test.event"


@pytest.mark.postgres
def test_orm_change_is_refused_and_nothing_else_of_the_transaction_is_kept(app):
    event_id = _add_event(app)
    with app.app_context():
        before = _count(app)
        db.session.add(AuditEvent(action="test.same_transaction", object_type="test"))
        event = db.session.get(AuditEvent, event_id)
        event.action = "forged"
        with pytest.raises(DBAPIError, match="append-only"):
            db.session.commit()
        db.session.rollback()
        assert db.session.get(AuditEvent, event_id).action == "test.event"
        assert _count(app) == before


@pytest.mark.postgres
def test_orm_delete_is_refused(app):
    event_id = _add_event(app)
    with app.app_context():
        db.session.delete(db.session.get(AuditEvent, event_id))
        with pytest.raises(DBAPIError, match="append-only"):
            db.session.commit()
        db.session.rollback()
        assert db.session.get(AuditEvent, event_id) is not None


@pytest.mark.postgres
def test_truncate_is_refused_on_postgresql(app, db_backend):
    _add_event(app)
    if db_backend != "postgresql":
        return  # SQLite has no TRUNCATE; its DELETE without WHERE is covered above
    with app.app_context():
        with pytest.raises(DBAPIError, match="append-only"):
            db.session.execute(sa.text("TRUNCATE audit_event"))
        db.session.rollback()
    assert _count(app) == 1


@pytest.mark.postgres
def test_trigger_helpers_drop_and_recreate(app):
    """drop_triggers and create_triggers undo and redo what create_all installs."""
    event_id = _add_event(app)
    with app.app_context():
        with db.engine.begin() as conn:
            triggers.drop_triggers(conn)
        with db.engine.begin() as conn:
            conn.execute(
                sa.text("UPDATE audit_event SET action = 'allowed' WHERE id = :id"),
                {"id": event_id},
            )
        with db.engine.begin() as conn:
            triggers.create_triggers(conn)
        with pytest.raises(DBAPIError, match="append-only"), db.engine.begin() as conn:
            conn.execute(sa.text("DELETE FROM audit_event WHERE id = :id"), {"id": event_id})
    assert _count(app) == 1


@pytest.mark.postgres
def test_migrations_install_the_triggers(database_url, tmp_path):
    """``flask db upgrade`` (production) builds the same triggers as create_all (tests)."""
    from app import create_app

    url, engine_options = database_url
    app = create_app(
        {
            "TESTING": True,
            "QUEUE_IMMEDIATE": True,  # jobs run where enqueued; no queue file in instance/
            "SECRET_KEY": "t",
            "SQLALCHEMY_DATABASE_URI": url,
            "SQLALCHEMY_ENGINE_OPTIONS": engine_options,
            "RATELIMIT_ENABLED": False,
        }
    )
    runner = app.test_cli_runner()
    result = runner.invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output
    event_id = _add_event(app)
    with app.app_context():
        with pytest.raises(DBAPIError, match="append-only"):
            db.session.execute(sa.text("DELETE FROM audit_event WHERE id = :id"), {"id": event_id})
        db.session.rollback()
        db.session.remove()
        db.engine.dispose()
    assert _count(app) == 1
