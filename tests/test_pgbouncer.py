"""PostgreSQL through PgBouncer in transaction mode (Debian's pgbouncer, three server
connections for many clients): with DATABASE_PGBOUNCER psycopg prepares no statement, so a
transaction may run on any server connection. Residents post and read at the same time."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa
from peers import PgBouncer, fresh_database, postgresql_url
from support import AuthActions, Maker, dispose, new_app, seed_world

from consultations.models import Opinion
from core.extensions import db

CLIENTS = 8
ROUNDS = 8


@pytest.fixture
def pg_url():
    with fresh_database(postgresql_url()) as new:
        yield new


@pytest.fixture
def bouncer(pg_url):
    behind = sa.engine.make_url(pg_url)
    peer = PgBouncer(host=behind.host, port=behind.port or 5432)
    yield peer
    peer.close()


def _work(app, cid: int, errors: list, start: threading.Barrier) -> None:
    client = app.test_client()
    AuthActions(client).login("resident@example.vn")
    start.wait()
    for i in range(ROUNDS):
        try:
            posted = client.post(
                f"/consultations/{cid}/opinions",
                data={
                    "body": f"Đề nghị số {threading.get_ident()}-{i} về đường liên thôn.",
                    "stance": "agree",
                },
            )
            page = client.get(f"/consultations/{cid}")
            api = client.get(f"/api/v1/consultations/{cid}/opinions")
            if (posted.status_code, page.status_code, api.status_code) != (302, 200, 200):
                errors.append((posted.status_code, page.status_code, api.status_code))
        except Exception as exc:  # a prepared statement missing on the server raises here
            errors.append(repr(exc))


def test_residents_post_and_read_through_pgbouncer(bouncer, pg_url, tmp_path):
    url = bouncer.url(pg_url)
    app = new_app((url, {}), tmp_path, DATABASE_PGBOUNCER=True, QUEUE_URL="memory://")
    try:
        assert app.config["SQLALCHEMY_ENGINE_OPTIONS"]["connect_args"]["prepare_threshold"] is None
        world = seed_world(app)
        cid = Maker(app, world).consultation("open")
        errors: list = []
        start = threading.Barrier(CLIENTS)
        threads = [
            threading.Thread(target=_work, args=(app, cid, errors, start)) for _ in range(CLIENTS)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        assert errors == []
        with app.app_context():
            count = db.session.scalar(
                sa.select(sa.func.count())
                .select_from(Opinion)
                .where(Opinion.consultation_id == cid)
            )
        assert count == CLIENTS * ROUNDS
        database = sa.engine.make_url(pg_url).database
        # Every transaction went through PgBouncer's three server connections.
        assert bouncer.stats(database)["total_xact_count"] > CLIENTS * ROUNDS * 3
    finally:
        dispose(app)


@pytest.mark.parametrize("through_pgbouncer", [True, False])
def test_interleaved_connections_need_the_setting(bouncer, pg_url, tmp_path, through_pgbouncer):
    """Six pooled connections take turns on PgBouncer's three server connections: without
    DATABASE_PGBOUNCER psycopg's prepared statements meet the wrong server connection."""
    url = bouncer.url(pg_url)
    app = new_app((url, {}), tmp_path, DATABASE_PGBOUNCER=through_pgbouncer, QUEUE_URL="memory://")
    failures = 0
    try:
        with app.app_context():
            connections = [db.engine.connect() for _ in range(6)]
            for i in range(20):
                for conn in connections:
                    try:
                        conn.execute(sa.text("SELECT CAST(:i AS integer) + 1"), {"i": i})
                        conn.commit()
                    except sa.exc.DBAPIError:
                        failures += 1
                        conn.rollback()
            for conn in connections:
                conn.close()
    finally:
        dispose(app)
    assert (failures == 0) is through_pgbouncer
