"""``flask --app app backup --output FILE`` makes a consistent, restorable copy while writes go on."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import threading

import pytest
import sqlalchemy as sa
from peers import fresh_database, postgresql_url

from app import create_app
from core.extensions import db


def _count(conn, table: str) -> int:
    return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # noqa: S608 - fixed table names


def test_sqlite_backup_while_writing(app, runner, make, tmp_path):
    cid = make.consultation("open")
    for i in range(20):
        make.opinion(cid, body=f"Ý kiến trước sao lưu {i}")
    database = db_file(app)

    # Another process-like connection keeps writing while the backup runs.
    stop = threading.Event()
    written = []

    def writer():
        conn = sqlite3.connect(database, timeout=30)
        try:
            n = 0
            while not stop.is_set():
                with conn:
                    conn.execute(
                        "INSERT INTO audit_event (at, action, object_type, data) VALUES "
                        "('2026-01-01 00:00:00', 'test.write', 'test', '{}')"
                    )
                n += 1
            written.append(n)
        finally:
            conn.close()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        output = tmp_path / "backups" / "gopy-backup.sqlite"
        result = runner.invoke(args=["backup", "--output", str(output)])
    finally:
        stop.set()
        thread.join()
    assert result.exit_code == 0, result.output
    assert "Backup written" in result.output
    print(
        f"\n[backup, sqlite] {output.stat().st_size} bytes; {written[0]} rows written during the backup"
    )

    copy = sqlite3.connect(output)
    try:
        assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert copy.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
        assert _count(copy, "opinion") == 20
        triggers = {
            r[0] for r in copy.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        }
        assert {"audit_event_no_update", "audit_event_no_delete"} <= triggers
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            copy.execute("DELETE FROM audit_event")
    finally:
        copy.close()
    assert not list(output.parent.glob("*.partial"))


def test_sqlite_backup_restores_into_a_working_site(app, runner, make, tmp_path):
    cid = make.consultation("open")
    make.opinion(cid, body="Ý kiến sẽ được khôi phục")
    output = tmp_path / "b.sqlite"
    assert runner.invoke(args=["backup", "--output", str(output)]).exit_code == 0
    restored_path = tmp_path / "restored.sqlite"
    shutil.copy(output, restored_path)
    restored = create_app(
        {
            "TESTING": True,
            "QUEUE_IMMEDIATE": True,  # jobs run where enqueued; no queue file in instance/
            "SECRET_KEY": "t",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{restored_path}",
            "RATELIMIT_ENABLED": False,
        }
    )
    page = restored.test_client().get(f"/consultations/{cid}")
    assert page.status_code == 200
    assert "Ý kiến sẽ được khôi phục" in page.get_data(as_text=True)


def test_backup_refuses_an_unknown_database(tmp_path):
    app = create_app(
        {
            "TESTING": True,
            "QUEUE_IMMEDIATE": True,  # jobs run where enqueued; no queue file in instance/
            "SECRET_KEY": "t",
            "RATELIMIT_ENABLED": False,
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'missing' / 'none.sqlite'}",
        }
    )
    result = app.test_cli_runner().invoke(args=["backup", "--output", str(tmp_path / "x.sqlite")])
    assert result.exit_code != 0
    assert "No SQLite database" in result.output
    assert not (tmp_path / "x.sqlite").exists()


def db_file(app) -> str:
    with app.app_context():
        return db.engine.url.database


# --- PostgreSQL -----------------------------------------------------------------------------


@pytest.fixture
def pg_databases():
    """Two fresh databases (source and restore target), dropped afterwards."""
    url = postgresql_url()
    with fresh_database(url, "gopy_bk_") as source, fresh_database(url, "gopy_rs_") as target:
        yield [source, target]


def test_postgresql_backup_with_pg_dump_and_restore(pg_databases, tmp_path):
    from support import Maker

    source_url, target_url = pg_databases
    app = create_app(
        {
            "TESTING": True,
            "QUEUE_IMMEDIATE": True,  # jobs run where enqueued; no queue file in instance/
            "SECRET_KEY": "t",
            "SQLALCHEMY_DATABASE_URI": source_url,
            "RATELIMIT_ENABLED": False,
            "OUTBOX_DIR": str(tmp_path / "outbox"),
        }
    )
    with app.app_context():
        db.create_all()
    world = _world(app)
    maker = Maker(app, world)
    cid = maker.consultation("open")
    for i in range(5):
        maker.opinion(cid, body=f"Ý kiến {i}")

    output = tmp_path / "gopy.dump"
    result = app.test_cli_runner().invoke(args=["backup", "--output", str(output)])
    assert result.exit_code == 0, result.output
    assert output.read_bytes()[:5] == b"PGDMP"  # pg_dump's custom format
    with app.app_context():
        db.engine.dispose()

    # The restore command given in the README.
    restore = subprocess.run(
        [
            "pg_restore",
            "--no-owner",
            "--exit-on-error",
            "--dbname",
            sa.engine.make_url(target_url)
            .set(drivername="postgresql")
            .render_as_string(hide_password=False),
            str(output),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert restore.returncode == 0, restore.stderr
    engine = sa.create_engine(target_url)
    try:
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM opinion")).scalar() == 5
            assert conn.execute(sa.text("SELECT count(*) FROM audit_event")).scalar() > 0
        with pytest.raises(sa.exc.DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(sa.text("DELETE FROM audit_event"))
    finally:
        engine.dispose()
    print(
        f"\n[backup, postgresql] pg_dump custom format: {output.stat().st_size} bytes, restored with pg_restore"
    )


def _world(app):
    """The shared ``world`` fixture needs the ``app`` fixture; build the same users here."""
    from support import World

    from auth.models import Role, RoleAssignment, User
    from core.timeutil import utcnow
    from localities.models import Locality, LocalityKind

    w = World()
    with app.app_context():
        province = Locality(code="01", name="Thành phố Hà Nội", kind=LocalityKind.province)
        commune = Locality(
            code="00004", name="Phường Ba Đình", kind=LocalityKind.commune, parent=province
        )
        db.session.add_all([province, commune])
        ids = {}
        for who in ("official", "resident"):
            user = User(
                email=f"{who}@example.vn",
                full_name=who,
                display_name=who,
                locality=commune,
                email_verified_at=utcnow(),
            )
            user.set_password("x-long-password")
            if who == "official":
                user.assignments.append(RoleAssignment(role=Role.official, locality=commune))
            db.session.add(user)
            db.session.flush()
            ids[who] = user.id
        db.session.commit()
        w.ids = ids
        w.commune_id = commune.id
    return w
